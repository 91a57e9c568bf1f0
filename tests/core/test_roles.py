from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from core.roles import ADMIN, CAPABILITIES, MARKETING_OPS, SUPPORT, ensure_roles, perm, role_of
from tests.base import BaseTestCase


class RolesTestCase(BaseTestCase):
    def test_three_groups_exist_after_migrate(self):
        names = set(Group.objects.values_list("name", flat=True))
        assert {MARKETING_OPS, ADMIN, SUPPORT} <= names

    def test_marketing_ops_can_run_the_wizard_but_not_operate(self):
        assert self.mina.has_perm(perm("run_wizard"))
        assert self.mina.has_perm(perm("view_monitoring"))
        assert not self.mina.has_perm(perm("operate_dataflows"))
        assert not self.mina.has_perm(perm("manage_sandboxes"))

    def test_support_operates_but_cannot_create(self):
        assert self.sam.has_perm(perm("operate_dataflows"))
        assert self.sam.has_perm(perm("view_audit"))
        assert not self.sam.has_perm(perm("run_wizard"))

    def test_admin_has_every_capability(self):
        for capability in CAPABILITIES:
            assert self.alex.has_perm(perm(capability)), capability

    def test_user_without_role_has_nothing(self):
        assert not any(self.nora.has_perm(perm(c)) for c in CAPABILITIES)
        assert role_of(self.nora) == ""

    def test_role_of_names_the_role(self):
        assert role_of(self.mina) == MARKETING_OPS
        assert role_of(self.sam) == SUPPORT
        assert role_of(self.alex) == ADMIN

    def test_ensure_roles_repairs_a_tampered_group(self):
        support = Group.objects.get(name=SUPPORT)
        support.permissions.clear()
        ensure_roles()
        assert support.permissions.count() == 3

    def test_unknown_capability_is_an_error(self):
        with pytest.raises(KeyError):
            perm("launch_rockets")
