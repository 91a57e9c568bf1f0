"""Shared test scaffolding: one user per role, plus one with no role at all."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.test import TestCase

from core.roles import ADMIN, MARKETING_OPS, SUPPORT, ensure_roles
from monitoring.models import Sandbox

PASSWORD = "password"


def make_user(username: str, role: str | None = None) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_sandbox(**overrides) -> Sandbox:
    fields = {
        "display_name": "Demo",
        "org_id": "DEMO0000000000000000001@AdobeOrg",
        "client_id": "stripe-sources-demo",
        "client_secret": "demo-client-secret-0001",
        "sandbox_name": "prod",
        "platform_url": "http://aep.invalid",
        "ims_url": "http://aep.invalid",
        **overrides,
    }
    return Sandbox.objects.create(**fields)


class BaseTestCase(TestCase):
    """mina (Marketing Ops), alex (Admin), sam (Support) and nora (no role)."""

    def setUp(self) -> None:
        super().setUp()
        ensure_roles()
        self.mina = make_user("mina", MARKETING_OPS)
        self.alex = make_user("alex", ADMIN)
        self.sam = make_user("sam", SUPPORT)
        self.nora = make_user("nora")

    def login(self, user: User) -> None:
        self.client.login(username=user.username, password=PASSWORD)
