"""Shared test scaffolding: one user per role, plus one with no role at all; `wait_for`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import OperationalError
from django.test import TestCase

from core.roles import ADMIN, MARKETING_OPS, SUPPORT, ensure_roles
from monitoring.models import Sandbox

PASSWORD = "password"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Ask `condition` again until it answers something true, and return that answer.

    For work done elsewhere: a worker, the AEP emulator, a server. A table locked by the
    worker's threads (SQLite's shared in-memory database) counts as "not yet".
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OperationalError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


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
