"""A new dataflow (/wizard/new/): who may start one, the sandbox and account form, a new key
that creates the draft and starts the probe, or an existing account that skips the key."""

from __future__ import annotations

from core.models import Job
from monitoring.models import Account
from onboarding import tasks
from onboarding.models import Draft
from tests.base import make_sandbox
from tests.onboarding.factories import READABLE_ALL
from tests.onboarding.pages import TYPED_KEY, AccountStepTestCase


class StartTestCase(AccountStepTestCase):
    def test_it_requires_login(self):
        assert self.client.get(self.url)["Location"].startswith("/login/")

    def test_support_and_users_without_a_role_get_403(self):
        for user in (self.sam, self.nora):
            self.client.logout()
            self.login(user)
            assert self.client.get(self.url).status_code == 403
            assert self.client.get("/wizard/").status_code == 403

    def test_it_shows_the_form(self):
        self.login(self.mina)
        r = self.client.get(self.url)
        self.assertContains(r, "Stripe API key")
        self.assertContains(r, "Developers → API keys")

    def test_a_lone_sandbox_is_chosen_already(self):
        self.login(self.mina)
        r = self.client.get(self.url)
        self.assertContains(r, f'<option value="{self.sandbox.pk}" selected>')

    def test_with_two_sandboxes_the_person_chooses(self):
        make_sandbox(display_name="Second", sandbox_name="dev")
        self.login(self.mina)
        r = self.client.get(self.url)
        self.assertContains(r, '<option value="" selected>Choose a sandbox</option>')
        self.assertContains(r, f'<option value="{self.sandbox.pk}">Demo (prod)</option>')

    def test_a_new_key_creates_the_draft_encrypted_and_starts_the_probe(self):
        self.login(self.mina)
        r, delay = self.post_new()
        draft = Draft.objects.get()
        assert r["Location"] == f"/wizard/{draft.pk}/account/"
        assert draft.access_token.reveal() == TYPED_KEY
        assert draft.token_last4 == "0001"
        assert (draft.key_kind, draft.livemode) == ("restricted", False)
        job = Job.objects.get(kind=tasks.PROBE)
        delay.assert_called_once_with(str(job.pk))
        assert job.target == f"draft:{draft.pk}"

    def test_bad_input_is_explained_next_to_each_field(self):
        self.login(self.mina)
        r, delay = self.post_new(sandbox="", account_name="", access_token="pk_test_123")
        assert r.status_code == 200
        self.assertContains(r, "Choose the AEP sandbox")
        self.assertContains(r, "Give the account a name")
        self.assertContains(r, "publishable key")
        r, _ = self.post_new(access_token="hello")
        self.assertContains(r, "start with sk_test_, sk_live_, rk_test_ or rk_live_")
        assert not Draft.objects.exists()
        delay.assert_not_called()

    def test_an_existing_account_skips_the_key(self):
        account = Account.objects.create(
            sandbox=self.sandbox, name="Acme US", connection_id="conn-9", probe_result=READABLE_ALL
        )
        self.login(self.mina)
        r = self.client.post(
            self.url,
            {"sandbox": self.sandbox.pk, "account_mode": "existing", "account": account.pk},
        )
        draft = Draft.objects.get()
        assert r["Location"] == f"/wizard/{draft.pk}/resources/"
        assert draft.base_connection_id == "conn-9"
        assert draft.probe == READABLE_ALL

    def test_the_existing_account_list_shows_dataflow_counts_and_probe_results(self):
        Account.objects.create(
            sandbox=self.sandbox, name="Acme US", connection_id="conn-9", probe_result=READABLE_ALL
        )
        self.login(self.mina)
        r = self.client.get(self.url)
        self.assertContains(r, "Acme US")
        self.assertContains(r, '<span class="chip ok">charges</span>', html=True)

    def test_an_account_of_another_sandbox_is_refused(self):
        other = make_sandbox(display_name="Other", sandbox_name="dev")
        account = Account.objects.create(sandbox=other, name="Elsewhere", connection_id="c-1")
        self.login(self.mina)
        r = self.client.post(
            self.url,
            {"sandbox": self.sandbox.pk, "account_mode": "existing", "account": account.pk},
        )
        self.assertContains(r, "belongs to another sandbox")
