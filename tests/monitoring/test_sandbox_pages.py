from __future__ import annotations

from unittest.mock import patch

from cryptography.fernet import Fernet
from django.test import override_settings

from core.models import Job
from monitoring.models import Sandbox
from tests.base import BaseTestCase, make_sandbox

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


class SandboxPagesTestCase(BaseTestCase):
    def test_only_admin_may_open_sandboxes(self):
        for user in (self.mina, self.sam, self.nora):
            self.client.logout()
            self.login(user)
            assert self.client.get("/sandboxes/").status_code == 403, user
            assert self.client.get("/sandboxes/new/").status_code == 403, user

    def test_anonymous_is_sent_to_login(self):
        r = self.client.get("/sandboxes/")
        assert r.status_code == 302
        assert "/login/" in r["Location"]

    def test_admin_creates_a_sandbox(self):
        self.login(self.alex)
        r = self.client.post("/sandboxes/new/", FORM)
        sandbox = Sandbox.objects.get(display_name="Acme production")
        assert r["Location"] == f"/sandboxes/{sandbox.pk}/"
        assert sandbox.client_secret.reveal() == "p8e-acme-secret-9876"

    def test_secret_is_never_rendered_back(self):
        sandbox = make_sandbox(client_secret="p8e-acme-secret-9876")
        self.login(self.alex)
        r = self.client.get(f"/sandboxes/{sandbox.pk}/")
        self.assertNotContains(r, "p8e-acme-secret")
        self.assertContains(r, "…9876")

    def test_empty_secret_on_edit_keeps_the_stored_one(self):
        sandbox = make_sandbox(
            client_secret="p8e-acme-secret-9876",
            platform_url=FORM["platform_url"],
            ims_url=FORM["ims_url"],
        )
        self.login(self.alex)
        data = {**FORM, "client_secret": "", "display_name": "Renamed"}
        self.client.post(f"/sandboxes/{sandbox.pk}/", data)
        sandbox.refresh_from_db()
        assert sandbox.display_name == "Renamed"
        assert sandbox.client_secret.reveal() == "p8e-acme-secret-9876"

    def test_changing_a_url_needs_the_client_secret_again(self):
        sandbox = make_sandbox(
            client_secret="p8e-acme-secret-9876",
            platform_url=FORM["platform_url"],
            ims_url=FORM["ims_url"],
        )
        self.login(self.alex)
        for field in ("platform_url", "ims_url"):
            data = {**FORM, "client_secret": "", field: "https://aep.attacker.example"}
            r = self.client.post(f"/sandboxes/{sandbox.pk}/", data)
            assert r.status_code == 200
            self.assertContains(r, "Enter the client secret again to change the platform or IMS")
            sandbox.refresh_from_db()
            assert sandbox.platform_url == FORM["platform_url"]
            assert sandbox.ims_url == FORM["ims_url"]
        data = {**FORM, "platform_url": "https://platform-eu.adobe.io"}
        r = self.client.post(f"/sandboxes/{sandbox.pk}/", data)
        assert r.status_code == 302
        sandbox.refresh_from_db()
        assert sandbox.platform_url == "https://platform-eu.adobe.io"

    @override_settings(AEP_ALLOW_HTTP=False)
    def test_urls_must_be_https(self):
        self.login(self.alex)
        data = {**FORM, "platform_url": "http://platform.example", "ims_url": "http://ims.example"}
        r = self.client.post("/sandboxes/new/", data)
        assert r.status_code == 200
        assert r.content.decode().count("Use an address starting with https://.") == 2
        assert not Sandbox.objects.exists()

    @override_settings(AEP_ALLOW_HTTP=True)
    def test_http_is_allowed_where_the_setting_says_so(self):
        self.login(self.alex)
        data = {**FORM, "platform_url": "http://127.0.0.1:8100", "ims_url": "http://127.0.0.1:8100"}
        assert self.client.post("/sandboxes/new/", data).status_code == 302

    def test_an_unreadable_secret_must_be_entered_again(self):
        sandbox = make_sandbox(
            client_secret="p8e-acme-secret-9876",
            platform_url=FORM["platform_url"],
            ims_url=FORM["ims_url"],
        )
        self.login(self.alex)
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            r = self.client.get(f"/sandboxes/{sandbox.pk}/")
            self.assertContains(r, "cannot be read with the current FIELD_ENCRYPTION_KEY")
            r = self.client.post(f"/sandboxes/{sandbox.pk}/", {**FORM, "client_secret": ""})
            self.assertContains(r, "enter it again")
            r = self.client.post(f"/sandboxes/{sandbox.pk}/", FORM)
            assert r.status_code == 302
            sandbox.refresh_from_db()
            assert sandbox.client_secret.reveal() == FORM["client_secret"]

    def test_bad_input_is_explained_next_to_the_field(self):
        self.login(self.alex)
        data = {**FORM, "org_id": "acme", "sandbox_name": "My Sandbox", "client_secret": ""}
        r = self.client.post("/sandboxes/new/", data)
        assert r.status_code == 200
        self.assertContains(r, "ends with @AdobeOrg")
        self.assertContains(r, "lower-case without spaces")
        self.assertContains(r, "Enter the client secret")
        assert not Sandbox.objects.exists()

    def test_test_connection_enqueues_a_job_on_commit(self):
        sandbox = make_sandbox()
        self.login(self.alex)
        with (
            patch("monitoring.tasks.check_sandbox_connection.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            r = self.client.post(f"/sandboxes/{sandbox.pk}/test/", headers={"HX-Request": "true"})
        job = Job.objects.get()
        assert job.target == f"sandbox:{sandbox.pk}"
        assert job.created_by == self.alex
        delay.assert_called_once_with(str(job.pk))
        self.assertContains(r, f'hx-get="/jobs/{job.pk}/"')
        self.assertNotContains(r, "<html")

    def test_test_connection_requires_post(self):
        sandbox = make_sandbox()
        self.login(self.alex)
        assert self.client.get(f"/sandboxes/{sandbox.pk}/test/").status_code == 405
