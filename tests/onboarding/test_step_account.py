"""Step 1 of a saved draft: the key never shown back, the probe matrix, connecting; and the
demo keys a sandbox on the local emulator offers."""

from __future__ import annotations

from unittest.mock import patch

from core.models import Job
from monitoring.models import Sandbox
from onboarding import tasks
from onboarding.models import Draft
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import READABLE_ALL, connected_draft
from tests.onboarding.pages import TYPED_KEY, AccountStepTestCase


class StepAccountTestCase(AccountStepTestCase):
    def test_the_key_is_never_rendered_back(self):
        self.login(self.mina)
        self.post_new()
        draft = Draft.objects.get()
        r = self.client.get(f"/wizard/{draft.pk}/account/")
        self.assertNotContains(r, TYPED_KEY)
        self.assertContains(r, "…0001")

    def test_the_matrix_shows_readable_forbidden_and_the_key_kind(self):
        draft = connected_draft(self.mina, self.sandbox, connection_id="", key_kind="restricted")
        draft.probe = {
            **READABLE_ALL,
            "prices": {"status": "forbidden", "message": "needs rak_price_read"},
        }
        draft.save()
        self.login(self.mina)
        r = self.client.get(f"/wizard/{draft.pk}/account/status/", headers={"HX-Request": "true"})
        assert r.status_code == 286  # nothing running: polling stops
        body = r.content.decode()
        assert "<html" not in body
        assert "Not permitted" in body
        assert "needs rak_price_read" in body
        assert "Restricted key" in body
        assert "Connect account to AEP" in body

    def test_a_refused_key_is_explained_and_cannot_be_connected(self):
        draft = connected_draft(self.mina, self.sandbox, connection_id="")
        Job.objects.create(
            kind=tasks.PROBE,
            target=tasks.target(draft),
            created_by=self.mina,
            status="succeeded",
            result={"readable": [], "key_error": "Invalid API Key provided: sk_test_****0001"},
        )
        self.login(self.mina)
        r = self.client.get(f"/wizard/{draft.pk}/account/")
        self.assertContains(r, "Stripe did not accept this key")
        self.assertNotContains(r, "Connect account to AEP")

    def test_a_live_key_on_a_non_production_sandbox_warns(self):
        sandbox = make_sandbox(display_name="Dev", sandbox_name="dev")
        draft = connected_draft(self.mina, sandbox, connection_id="", livemode=True)
        self.login(self.mina)
        r = self.client.get(f"/wizard/{draft.pk}/account/")
        self.assertContains(r, "This is a live key")
        self.assertContains(r, "Connect account to AEP")  # a warning, not a stop

    def test_a_running_probe_keeps_polling(self):
        draft = connected_draft(self.mina, self.sandbox, connection_id="", probe={})
        Job.objects.create(kind=tasks.PROBE, target=tasks.target(draft), created_by=self.mina)
        self.login(self.mina)
        r = self.client.get(f"/wizard/{draft.pk}/account/status/", headers={"HX-Request": "true"})
        assert r.status_code == 200
        self.assertContains(r, 'hx-trigger="every 1s"')

    def test_connect_enqueues_the_base_connection_task(self):
        draft = connected_draft(self.mina, self.sandbox, connection_id="")
        self.login(self.mina)
        with (
            patch("onboarding.tasks.connect_account.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            r = self.client.post(
                f"/wizard/{draft.pk}/account/connect/", headers={"HX-Request": "true"}
            )
        job = Job.objects.get(kind=tasks.CONNECT)
        delay.assert_called_once_with(str(job.pk))
        self.assertContains(r, "Creating the account connection")


class DemoKeysTestCase(BaseTestCase):
    """A sandbox on the local AEP emulator offers the Stripe stand-in's demo keys."""

    SECRET, RESTRICTED = "sk_test_demo_stripe_sources_0001", "rk_test_demo_readonly_0001"

    def setUp(self) -> None:
        super().setUp()
        self.login(self.mina)

    def test_a_local_emulator_sandbox_offers_both_keys_with_what_they_read(self):
        local = make_sandbox(display_name="Local", platform_url="http://127.0.0.1:8100")
        make_sandbox(display_name="Adobe", sandbox_name="dev")
        r = self.client.get("/wizard/new/")
        body = r.content.decode()
        for key in (self.SECRET, self.RESTRICTED):
            self.assertContains(r, f'data-fill-key="{key}" data-fill-target="id_access_token"')
        self.assertContains(r, "Use this key", count=2)
        self.assertContains(r, "reads all six kinds of Stripe data")
        self.assertContains(r, "reads charges, customers, refunds only")
        self.assertContains(r, f'<option value="{local.pk}" data-local-emulator>Local (prod)')
        assert "data-local-emulator>Adobe" not in body  # CSS hides the keys for that one
        self.assertContains(r, 'src="/static/js/demo_keys.js"')

    def test_a_draft_on_a_local_sandbox_offers_them_too(self):
        local = make_sandbox(platform_url="http://localhost:8100")
        draft = Draft.objects.create(sandbox=local, created_by=self.mina, account_name="Acme")
        r = self.client.get(f"/wizard/{draft.pk}/account/")
        self.assertContains(r, f'data-fill-key="{self.SECRET}"')
        self.assertContains(r, f'<option value="{local.pk}" selected data-local-emulator>')

    def test_real_sandboxes_show_no_demo_keys(self):
        make_sandbox(platform_url="https://platform.adobe.io")
        r = self.client.get("/wizard/new/")
        self.assertNotContains(r, self.SECRET)
        self.assertNotContains(r, "Use this key")
        self.assertNotContains(r, "demo_keys.js")

    def test_once_the_key_is_in_aep_no_demo_keys_are_offered(self):
        local = make_sandbox(platform_url="http://127.0.0.1:8100")
        draft = connected_draft(self.mina, local)
        r = self.client.get(f"/wizard/{draft.pk}/account/")
        self.assertNotContains(r, "Use this key")

    def test_which_platform_urls_are_the_local_emulator(self):
        for url, local in [
            ("http://127.0.0.1:8100", True),
            ("http://localhost:8100", True),
            ("http://LOCALHOST", True),
            ("http://127.0.0.2:8100", True),
            ("http://[::1]:8100", True),
            ("https://platform.adobe.io", False),
            ("http://aep-emulator:8100", False),
            ("http://10.0.0.5:8100", False),
            ("http://localhost.example.com", False),
        ]:
            sandbox = Sandbox(platform_url=url)
            assert sandbox.is_local_emulator is local, url
