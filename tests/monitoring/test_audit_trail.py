"""Sandbox changes, and people and roles changed in the admin, are audit events (#12)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from monitoring.models import AuditEvent, Sandbox
from tests.base import BaseTestCase, make_sandbox, make_user

FORM = {
    "display_name": "Acme production",
    "org_id": "ACME0000000000000000001@AdobeOrg",
    "sandbox_name": "prod",
    "client_id": "acme-client",
    "client_secret": "p8e-acme-secret-9876",
    "scope": "openid,AdobeID",
    "platform_url": "https://platform.adobe.io",
    "ims_url": "https://ims-na1.adobelogin.com",
}


class SandboxAuditTestCase(BaseTestCase):
    def test_creating_a_sandbox_is_recorded_without_its_secret(self):
        self.login(self.alex)
        self.client.post("/sandboxes/new/", FORM)
        sandbox = Sandbox.objects.get()
        event = AuditEvent.objects.get(action="sandbox.create")
        assert event.actor == self.alex
        assert event.target_id == str(sandbox.pk)
        assert event.after["platform_url"] == "https://platform.adobe.io"
        assert "p8e-acme" not in str(event.after)

    def test_a_secret_rotation_and_a_url_change_are_recorded_with_before_and_after(self):
        sandbox = make_sandbox(platform_url=FORM["platform_url"], ims_url=FORM["ims_url"])
        self.login(self.alex)
        data = {**FORM, "platform_url": "https://platform-eu.adobe.io"}
        assert self.client.post(f"/sandboxes/{sandbox.pk}/", data).status_code == 302
        event = AuditEvent.objects.get(action="sandbox.update")
        assert event.before["platform_url"] == "https://platform.adobe.io"
        assert event.after["platform_url"] == "https://platform-eu.adobe.io"
        assert event.after["credential"] == "replaced"
        assert "p8e-acme" not in str(event.after)


class AdminAuditTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.root = User.objects.create_superuser("root", "root@example.org", "pw-root-0000")
        self.client.force_login(self.root)

    def test_a_person_deleted_in_the_admin_is_recorded(self):
        gone = make_user("gone")
        r = self.client.post(f"/admin/auth/user/{gone.pk}/delete/", {"post": "yes"})
        assert r.status_code == 302
        event = AuditEvent.objects.get(action="user.delete")
        assert event.actor == self.root
        assert event.target_label == "gone"

    def test_a_role_renamed_in_the_admin_is_recorded(self):
        group = Group.objects.create(name="Auditors")
        r = self.client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Auditors 2"})
        assert r.status_code == 302
        event = AuditEvent.objects.get(action="role.update")
        assert event.actor == self.root
        assert event.target_label == "Auditors 2"
        assert "Name" in event.after["change"]
