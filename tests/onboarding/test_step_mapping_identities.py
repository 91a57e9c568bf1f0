"""Step 5's Identities card: each Identity row becomes an identity descriptor of the new schema,
in a namespace chosen from the sandbox's (an email field starts on Email), one of them primary;
a custom namespace only when asked for; no Identity column for an existing dataset."""

from __future__ import annotations

from unittest.mock import patch

from core.models import Job
from onboarding import identities, tasks
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import mark_identity, ready_draft


class IdentitiesCardTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox())
        self.email = mark_identity(self.draft, "charges")
        rows = self.draft.mappings["charges"]
        self.charge_id = next(r for r in rows if r["source"] == "data.id")
        self.charge_id["identity"] = True
        self.draft.save()
        self.url = f"/wizard/{self.draft.pk}/mapping/charges/"
        self.login(self.mina)

    def post(self, email="Email", charge_id="", **fields):
        """The card's form: rows are in mapping order (data.id before the billing email)."""
        order = [i.destination for i in identities.identities(self.draft, "charges")]
        namespaces = {self.email["destination"]: email, self.charge_id["destination"]: charge_id}
        named = {f"namespace_{n}": namespaces[d] for n, d in enumerate(order)}
        return self.client.post(self.url, {"action": "identities", **named, **fields})

    def chosen(self) -> dict[str, tuple[str, bool]]:
        self.draft.refresh_from_db()
        return {
            i.destination: (i.namespace, i.primary)
            for i in identities.identities(self.draft, "charges")
        }

    def test_the_card_explains_and_offers_the_sandbox_namespaces_with_email_by_default(self):
        r = self.client.get(self.url)
        self.assertContains(r, "AEP reads identities from the schema, not from the mapping")
        self.assertContains(r, '<option value="Email" selected>Email (Email)</option>', html=True)
        self.assertContains(r, '<option value="Phone">Phone (Phone)</option>', html=True)
        self.assertContains(
            r, f'value="{self.email["destination"]}" aria-label="Primary identity" checked'
        )
        assert self.chosen()[self.charge_id["destination"]] == ("", False)

    def test_namespaces_and_the_primary_are_saved(self):
        r = self.post(charge_id="Phone", primary=self.charge_id["destination"])
        assert r.status_code == 302
        assert self.chosen() == {
            self.email["destination"]: ("Email", False),
            self.charge_id["destination"]: ("Phone", True),
        }
        assert self.draft.custom_namespace == {}

    def test_a_new_namespace_is_asked_for_with_a_code_and_a_name(self):
        r = self.post(charge_id="__new__", primary=self.email["destination"])
        assert r.status_code == 200
        self.assertContains(r, "Enter a code of 2 to 40 letters")
        self.assertContains(r, "Name the new namespace")
        r = self.post(
            charge_id="__new__", primary=self.email["destination"],
            new_name="Stripe charge", new_code="Email",
        )  # fmt: skip
        self.assertContains(r, "The sandbox already has the namespace Email")
        r = self.post(
            charge_id="__new__", primary=self.email["destination"],
            new_name="Stripe charge", new_code="StripeCharge", new_type="NON_PEOPLE",
        )  # fmt: skip
        assert r.status_code == 302
        assert self.chosen()[self.charge_id["destination"]] == ("StripeCharge", False)
        assert self.draft.custom_namespace == {
            "name": "Stripe charge",
            "code": "StripeCharge",
            "id_type": "NON_PEOPLE",
        }
        assert identities.creates_namespace(self.draft)
        r = self.client.get(self.url)
        self.assertContains(r, "StripeCharge (new, created with the dataflows)")

    def test_an_identity_without_a_namespace_stops_create(self):
        r = self.client.get(f"/wizard/{self.draft.pk}/review/")
        self.assertContains(
            r, f"charges: Choose the identity namespace of {self.charge_id['destination']}"
        )

    def test_an_existing_dataset_has_no_identity_column_and_says_why(self):
        self.draft.datasets["charges"] = {
            "mode": "existing", "dataset_id": "ds-1", "name": "Old",
            "schema_id": "https://ns/s", "schema_title": "Old",
        }  # fmt: skip
        self.draft.save()
        r = self.client.get(self.url)
        self.assertNotContains(r, 'name="rows-0-identity"')
        self.assertContains(r, "its identities are the identity fields its schema already has")
        assert identities.identities(self.draft, "charges") == []

    def test_reading_the_namespaces_again_starts_a_worker_job(self):
        with (
            patch("onboarding.tasks.list_namespaces.delay_on_commit"),
            self.captureOnCommitCallbacks(execute=True),
        ):
            r = self.client.post(self.url, {"action": "namespaces"})
        assert r.status_code == 302
        assert Job.objects.filter(kind=tasks.NAMESPACES, target=tasks.target(self.draft)).exists()
