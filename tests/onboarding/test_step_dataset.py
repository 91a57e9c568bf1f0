"""Step 4: new dataset or an existing one, listed from Catalog."""

from __future__ import annotations

from unittest.mock import patch

from core.models import Job
from onboarding import tasks
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import explored_draft

EXISTING = {"id": "ds-1", "name": "Orders", "schema_id": "https://ns/s1", "schema_title": "Order"}


class StepDatasetTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = explored_draft(self.mina, make_sandbox())
        self.draft.dataset_choices = [
            EXISTING,
            {**EXISTING, "id": "ds-2", "name": "Refunds", "schema_title": "Refund"},
        ]
        self.draft.save()
        self.url = f"/wizard/{self.draft.pk}/dataset/"
        self.login(self.mina)

    def test_new_and_existing_are_saved_per_resource(self):
        r = self.client.post(
            self.url,
            {
                "mode_charges": "new",
                "name_charges": "Stripe charges",
                "mode_customers": "existing",
                "dataset_customers": "ds-1",
            },
        )
        assert r["Location"] == f"/wizard/{self.draft.pk}/mapping/"
        self.draft.refresh_from_db()
        assert self.draft.datasets["charges"] == {"mode": "new", "name": "Stripe charges"}
        assert self.draft.datasets["customers"]["schema_id"] == "https://ns/s1"

    def test_missing_and_taken_names_are_explained(self):
        r = self.client.post(
            self.url,
            {"mode_charges": "new", "name_charges": "Orders", "mode_customers": "existing"},
        )
        self.assertContains(r, "already exists; pick it as existing or rename")
        self.assertContains(r, "Choose a dataset from the list")

    def test_search_filters_the_list_and_shows_schemas(self):
        r = self.client.get(self.url, {"q": "refu"})
        body = r.content.decode()
        assert "Schema: Refund" in body
        assert "Schema: Order " not in body

    def test_loading_the_list_is_a_task(self):
        with (
            patch("onboarding.tasks.list_datasets.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"{self.url}refresh/")
        job = Job.objects.get(kind=tasks.DATASETS)
        delay.assert_called_once_with(str(job.pk))
        Job.objects.filter(pk=job.pk).update(status="running")
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        self.assertContains(r, "Listing datasets in AEP")
        Job.objects.filter(pk=job.pk).update(status="succeeded")
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r.status_code == 286
        assert r["HX-Refresh"] == "true"
