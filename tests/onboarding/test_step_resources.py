"""Step 2: which resource paths, one dataflow name each."""

from __future__ import annotations

from unittest.mock import patch

from core.models import Job
from monitoring.models import Dataflow
from onboarding import tasks
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import READABLE_ALL, connected_draft


class StepResourcesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        probe = {**READABLE_ALL, "prices": {"status": "forbidden", "message": "rak_price_read"}}
        self.draft = connected_draft(self.mina, self.sandbox, probe=probe)
        self.url = f"/wizard/{self.draft.pk}/resources/"
        self.login(self.mina)

    def post(self, data):
        with (
            patch("onboarding.tasks.explore_resources.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            return self.client.post(self.url, data), delay

    def test_unreadable_paths_are_disabled_with_the_reason(self):
        r = self.client.get(self.url)
        self.assertContains(r, 'value="prices" id="res-prices" disabled', html=False)
        self.assertContains(r, "Not available: rak_price_read")
        self.draft.probe["prices"]["message"] = "Having the 'rak_price_read' permission would…"
        self.draft.save()
        r = self.client.get(self.url)
        self.assertContains(r, "no Read access (Stripe permission rak_price_read)")

    def test_each_name_input_is_labelled_with_its_resource(self):
        r = self.client.get(self.url)
        for path in ("charges", "refunds", "customers"):
            self.assertContains(
                r,
                f'<label for="id_name_{path}" class="name-label">Dataflow name for {path}</label>',
            )
        self.assertNotContains(r, ">Dataflow name</label>")

    def test_choosing_saves_names_and_starts_exploring(self):
        r, delay = self.post(
            {
                "resource_paths": ["customers", "charges"],
                "name_charges": "Charges EU",
                "name_customers": "Customers EU",
            }
        )
        self.draft.refresh_from_db()
        assert r["Location"] == f"/wizard/{self.draft.pk}/explore/"
        assert self.draft.resource_paths == ["charges", "customers"]  # Stripe's order
        assert self.draft.flow_names == {"charges": "Charges EU", "customers": "Customers EU"}
        job = Job.objects.get(kind=tasks.EXPLORE)
        delay.assert_called_once_with(str(job.pk))

    def test_no_resource_chosen_is_explained(self):
        r, delay = self.post({})
        self.assertContains(r, "Choose at least one kind of Stripe data")
        delay.assert_not_called()

    def test_a_forbidden_path_posted_anyway_is_refused(self):
        r, _ = self.post({"resource_paths": ["prices"], "name_prices": "P"})
        self.assertContains(r, "cannot read prices")

    def test_duplicate_and_existing_dataflow_names_are_refused(self):
        Dataflow.objects.create(sandbox=self.sandbox, flow_id="f1", name="Taken")
        r, _ = self.post(
            {"resource_paths": ["charges", "refunds"], "name_charges": "Taken", "name_refunds": ""}
        )
        self.assertContains(r, "already exists in this sandbox")
        self.assertContains(r, "Give this dataflow a name")
        r, _ = self.post(
            {"resource_paths": ["charges", "refunds"], "name_charges": "A", "name_refunds": "A"}
        )
        self.assertContains(r, "cannot have the same name")

    def test_it_needs_a_connected_account_first(self):
        self.draft.connection_id = ""
        self.draft.save()
        r = self.client.get(self.url)
        assert r["Location"] == f"/wizard/{self.draft.pk}/account/"

    def test_a_colleague_without_access_gets_a_readable_403(self):
        other = self.alex.__class__.objects.create_user("kim", "kim@example.org", "password")
        other.groups.add(*self.mina.groups.all())
        self.client.logout()
        self.client.login(username="kim", password="password")
        r = self.client.get(self.url)
        assert r.status_code == 403
        self.assertContains(r, "This draft is not yours", status_code=403)
        self.draft.shared_with.add(other)
        assert self.client.get(self.url).status_code == 200

    def test_admins_may_continue_any_draft(self):
        self.client.logout()
        self.login(self.alex)
        assert self.client.get(self.url).status_code == 200
