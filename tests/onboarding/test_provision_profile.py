"""Profile and identities in provisioning, with the fake AEP: identity descriptors on the new
schema, then its union tag, then the dataset tagged enabled:true (the fake, as AEP, refuses a
Profile dataset on a schema that is not enabled); retries adopt what exists; Discard removes
the descriptors with the schema and keeps a custom namespace (Identity Service cannot delete
one)."""

from __future__ import annotations

from unittest.mock import patch

from django.test import override_settings

from aep.errors import AEPTimeout, BadRequestError
from onboarding import provisioning, tasks
from onboarding.models import Draft, ProvisioningStep
from onboarding.provisioning import create_steps
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.driver import run_with_retries
from tests.onboarding.factories import PROFILE_TAGS, mark_identity, ready_draft
from tests.onboarding.fakes import FakeAEP

Kind = ProvisioningStep.Kind


class ProfileProvisioningTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox(), paths=("charges", "customers"))
        self.email = mark_identity(self.draft, "charges")
        self.draft.profile_datasets = ["charges"]
        self.draft.save()
        self.fake = FakeAEP()
        patcher = patch("onboarding.tasks.client_for", return_value=self.fake)
        patcher.start()
        self.addCleanup(patcher.stop)

    def provision(self) -> None:
        self.draft.refresh_from_db()
        if not self.draft.steps.exists():
            create_steps(self.draft)
        self.draft.status = Draft.Status.PROVISIONING
        self.draft.attempt += 1
        self.draft.heartbeat = None
        self.draft.save()
        with patch("time.sleep"):
            run_with_retries(str(self.draft.pk), self.draft.attempt)
        self.draft.refresh_from_db()

    def descriptors(self) -> list[dict]:
        return list(self.fake.objects.get("descriptor", {}).values())

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_descriptor_then_union_tag_then_the_enabled_dataset(self):
        self.provision()
        assert self.draft.status == Draft.Status.DONE, self.draft.error
        calls = [c for c in self.fake.calls if c.startswith(("create_", "patch_"))]
        charges = calls[calls.index("create_schema") :][:4]
        assert charges == ["create_schema", "create_descriptor", "patch_schema", "create_dataset"]
        schema_id = self.draft.steps.get(resource_path="charges", kind=Kind.SCHEMA).aep_id
        (descriptor,) = self.descriptors()
        assert descriptor["@type"] == "xdm:descriptorIdentity"
        assert descriptor["xdm:sourceSchema"] == schema_id
        assert descriptor["xdm:sourceProperty"] == "/_acme/charges_data/billing_details/email"
        assert (descriptor["xdm:namespace"], descriptor["xdm:isPrimary"]) == ("Email", True)
        assert self.fake.objects["schema"][schema_id]["meta:immutableTags"] == ["union"]
        datasets = {d["name"]: d for d in self.fake.objects["dataset"].values()}
        assert datasets["Stripe charges data"]["tags"] == PROFILE_TAGS

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_every_identity_row_becomes_a_descriptor_and_one_is_primary(self):
        rows = self.draft.mappings["charges"]
        charge_id = next(r for r in rows if r["source"] == "data.id")
        charge_id["identity"] = True
        self.draft.identities = {"charges": {"namespaces": {charge_id["destination"]: "Phone"}}}
        self.draft.profile_datasets = []
        self.draft.save()
        self.provision()
        assert self.draft.status == Draft.Status.DONE, self.draft.error
        shown = {
            d["xdm:sourceProperty"]: (d["xdm:namespace"], d["xdm:isPrimary"])
            for d in self.descriptors()
        }
        assert shown == {
            "/_acme/charges_data/billing_details/email": ("Email", True),
            "/_acme/charges_data/id": ("Phone", False),
        }
        # Without Profile the schema is not tagged and the dataset not enabled.
        assert "patch_schema" not in self.fake.calls
        assert all("tags" not in d for d in self.fake.objects["dataset"].values())

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_an_existing_dataset_gets_no_descriptor(self):
        self.draft.datasets["charges"] = {
            "mode": "existing",
            "dataset_id": "ds-old",
            "name": "Old",
            "schema_id": "https://ns/schema-old",
        }
        self.draft.save()
        self.provision()
        assert self.draft.status == Draft.Status.DONE
        assert not self.descriptors()
        assert "patch_schema" not in self.fake.calls

    @override_settings(ONBOARDING_STEP_RETRIES=2)
    def test_a_descriptor_created_by_a_call_that_timed_out_is_adopted_on_retry(self):
        self.fake.fail("create_descriptor", AEPTimeout("timed out"), after=True)
        self.provision()
        assert self.draft.status == Draft.Status.DONE, self.draft.error
        assert len(self.descriptors()) == 1
        step = self.draft.steps.get(resource_path="charges", kind=Kind.IDENTITY)
        assert step.aep_id == self.descriptors()[0]["@id"]
        assert step.attempts == 2

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_the_old_order_is_refused_by_catalog(self):
        # The dataset tagged before the schema is enabled: what provisioning used to send.
        with patch.object(
            provisioning, "_planned", lambda d, p, k: k not in (Kind.IDENTITY, Kind.PROFILE_SCHEMA)
        ):
            self.provision()
        assert self.draft.status == Draft.Status.FAILED
        assert self.draft.steps.get(resource_path="charges", kind=Kind.DATASET).status == "failed"

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_a_custom_namespace_is_created_only_when_asked_for_and_kept_on_discard(self):
        rows = self.draft.mappings["charges"]
        charge_id = next(r for r in rows if r["source"] == "data.id")
        charge_id["identity"] = True
        self.draft.identities = {
            "charges": {"namespaces": {charge_id["destination"]: "StripeCharge"}}
        }
        self.draft.custom_namespace = {"name": "Stripe charge", "code": "StripeCharge"}
        self.draft.save()
        self.fake.fail("create_flow", BadRequestError("Schema mismatch", 400))
        self.provision()
        assert self.draft.status == Draft.Status.FAILED
        assert self.fake.count("namespace") == 1
        assert len(self.descriptors()) == 2
        Draft.objects.filter(pk=self.draft.pk).update(status=Draft.Status.DISCARDING)
        tasks.discard_draft(str(self.draft.pk))
        self.draft.refresh_from_db()
        assert self.draft.status == Draft.Status.DISCARDED
        assert self.descriptors() == []
        assert self.fake.count("schema") == 0
        assert self.fake.count("namespace") == 1  # Identity Service cannot delete it
        deletes = [c for c in self.fake.calls if c.startswith("delete_")]
        assert deletes.index("delete_descriptor") < deletes.index("delete_schema")

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_without_a_request_no_namespace_is_created(self):
        self.provision()
        assert "create_namespace" not in self.fake.calls
        assert not self.draft.steps.filter(kind=Kind.IDENTITY_NAMESPACE).exists()

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_a_namespace_another_draft_created_is_adopted(self):
        rows = self.draft.mappings["charges"]
        charge_id = next(r for r in rows if r["source"] == "data.id")
        charge_id["identity"] = True
        self.draft.identities = {
            "charges": {"namespaces": {charge_id["destination"]: "StripeCharge"}}
        }
        self.draft.custom_namespace = {"name": "Stripe charge", "code": "StripeCharge"}
        self.draft.save()
        self.fake.objects["namespace"] = {
            "ns-1": {"code": "StripeCharge", "name": "x", "custom": True}
        }
        self.provision()
        assert self.draft.status == Draft.Status.DONE, self.draft.error
        assert "create_namespace" not in self.fake.calls
        step = self.draft.steps.get(kind=Kind.IDENTITY_NAMESPACE)
        assert (step.aep_id, step.created_here) == ("StripeCharge", False)
