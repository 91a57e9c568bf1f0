"""The wizard's short tasks (probe, connect, explore, datasets, checks, import, estimate)."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.test import override_settings

from aep import BadRequestError, payloads
from core.models import Job
from monitoring.models import AuditEvent, Dataflow
from onboarding import tasks
from onboarding.models import Draft, ProvisioningStep
from onboarding.provisioning import create_steps
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import connected_draft, explored_draft, ready_draft
from tests.onboarding.fakes import FakeAEP


class WizardTasksTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox(tenant_id="")
        self.fake = FakeAEP()
        patcher = patch("onboarding.tasks.client_for", return_value=self.fake)
        patcher.start()
        self.addCleanup(patcher.stop)

    def job(self, kind: str, draft: Draft, suffix: str = "", user=None) -> Job:
        return Job.objects.create(
            kind=kind, target=tasks.target(draft) + suffix, created_by=user or self.mina
        )

    def test_connect_creates_the_base_connection_once_and_audits_without_the_key(self):
        draft = connected_draft(self.mina, self.sandbox, connection_id="", reached=-1)
        tasks.connect_account(str(self.job(tasks.CONNECT, draft).pk))
        draft.refresh_from_db()
        assert draft.connection_id == "connection-1"
        assert draft.reached == 0  # step 1 is done
        stored = self.fake.objects["connection"]["connection-1"]
        assert stored["auth"]["params"]["accessToken"] == "sk_test_demo_stripe_sources_0001"
        event = AuditEvent.objects.get(target_type="account")
        assert "sk_test" not in str(event.after)
        tasks.connect_account(str(self.job(tasks.CONNECT, draft).pk))
        assert self.fake.count("connection") == 1

    def test_a_connect_that_loses_the_race_removes_its_duplicate_connection(self):
        draft = connected_draft(self.mina, self.sandbox, connection_id="", reached=-1)
        create = self.fake.create_connection

        def another_connect_stores_first(body):
            Draft.objects.filter(pk=draft.pk).update(connection_id="conn-first")
            return create(body)

        with patch.object(self.fake, "create_connection", another_connect_stores_first):
            tasks.connect_account(str(self.job(tasks.CONNECT, draft).pk))
        draft.refresh_from_db()
        assert draft.connection_id == "conn-first"
        assert self.fake.count("connection") == 0  # the duplicate was deleted again

    def test_explore_stores_fields_samples_and_default_mappings(self):
        draft = connected_draft(self.mina, self.sandbox)
        self.sandbox.tenant_id = ""
        self.sandbox.save()
        draft.resource_paths = ["charges"]
        draft.save()
        job = self.job(tasks.EXPLORE, draft)
        tasks.explore_resources(str(job.pk))
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
        draft.refresh_from_db()
        self.sandbox.refresh_from_db()
        assert self.sandbox.tenant_id == "acme"
        fields = {f["path"]: f for f in draft.explore["charges"]["fields"]}
        assert fields["billing_details.email"]["pii"] == "email"
        assert fields["description"]["fill"] == 0.5
        assert draft.explore["charges"]["sample_size"] == 2
        rows = {r["source"]: r["destination"] for r in draft.mappings["charges"]}
        assert rows["data.amount"] == "_acme.charges_data.amount"
        assert self.fake.calls.count("explore_connection") == 2  # schema, then preview

    def test_explore_keeps_a_mapping_the_user_already_edited(self):
        draft = explored_draft(self.mina, self.sandbox, paths=("charges",))
        draft.mappings["charges"] = [{"source": "data.id", "destination": "_acme.x.id"}]
        draft.save()
        tasks.explore_resources(str(self.job(tasks.EXPLORE, draft).pk))
        draft.refresh_from_db()
        assert draft.mappings["charges"] == [{"source": "data.id", "destination": "_acme.x.id"}]

    def test_list_datasets_stores_names_and_schema_titles(self):
        draft = explored_draft(self.mina, self.sandbox)
        schema = self.fake.create_schema({"title": "Orders schema"})
        self.fake.create_dataset(payloads.dataset(name="Orders", schema_id=schema.id))
        tasks.list_datasets(str(self.job(tasks.DATASETS, draft).pk))
        draft.refresh_from_db()
        assert draft.dataset_choices == [
            {
                "id": "dataset-2",
                "name": "Orders",
                "schema_id": schema.id,
                "schema_title": "Orders schema",
            }
        ]

    def test_validate_reports_each_row_and_sends_no_schema_for_a_new_dataset(self):
        draft = ready_draft(self.mina, self.sandbox, paths=("charges",))
        draft.mappings["charges"][0]["destination"] = "_acme.charges_data.bad"
        draft.save()
        job = self.job(tasks.CHECK_MAPPING, draft, ":charges")
        with patch.object(
            self.fake, "validate_mapping_set", wraps=self.fake.validate_mapping_set
        ) as spy:
            tasks.check_mapping(str(job.pk), "charges", "validate")
        assert "outputSchema" not in spy.call_args.args[0]
        assert spy.call_args.kwargs == {"require_schema": False}
        draft.refresh_from_db()
        outcome = draft.mapping_checks["charges"]
        assert outcome["action"] == "validate"
        assert outcome["rows"][0]["ok"] is False
        assert outcome["rows"][0]["errors"] == ["bad destination"]
        assert all(r["ok"] for r in outcome["rows"][1:])

    def test_checks_name_the_new_schema_once_an_earlier_attempt_created_it(self):
        draft = ready_draft(self.mina, self.sandbox, paths=("charges",))
        create_steps(draft)
        draft.steps.filter(resource_path="charges", kind=ProvisioningStep.Kind.SCHEMA).update(
            aep_id="https://ns.adobe.com/acme/schemas/s1"
        )
        job = self.job(tasks.CHECK_MAPPING, draft, ":charges")
        with (
            patch.object(
                self.fake, "validate_mapping_set", wraps=self.fake.validate_mapping_set
            ) as validate,
            patch.object(
                self.fake, "preview_mapping_set", wraps=self.fake.preview_mapping_set
            ) as preview,
        ):
            tasks.check_mapping(str(job.pk), "charges", "validate")
            tasks.check_mapping(str(self.job(tasks.CHECK_MAPPING, draft, ":charges").pk),
                                "charges", "preview")  # fmt: skip
        for spy in (validate, preview):
            schema_ref = spy.call_args.args[0]["outputSchema"]["schemaRef"]
            assert schema_ref["id"] == "https://ns.adobe.com/acme/schemas/s1"

    def test_checks_name_the_schema_of_an_existing_dataset(self):
        draft = ready_draft(self.mina, self.sandbox, paths=("charges",))
        draft.datasets["charges"] = {"mode": "existing", "id": "ds-1", "schema_id": "sch-1"}
        draft.save()
        with patch.object(
            self.fake, "preview_mapping_set", wraps=self.fake.preview_mapping_set
        ) as spy:
            tasks.check_mapping(str(self.job(tasks.CHECK_MAPPING, draft, ":charges").pk),
                                "charges", "preview")  # fmt: skip
        assert spy.call_args.args[0]["outputSchema"]["schemaRef"]["id"] == "sch-1"

    def test_a_data_prep_400_before_the_schema_exists_is_explained(self):
        draft = ready_draft(self.mina, self.sandbox, paths=("charges",))
        self.fake.fail(
            "validate_mapping_set",
            BadRequestError("Invalid mapping: unknown type", 400, "req-9", "MAPPER-1001-400"),
        )
        job = self.job(tasks.CHECK_MAPPING, draft, ":charges")
        tasks.check_mapping(str(job.pk), "charges", "validate")
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED
        assert "does not exist yet" in job.error
        assert "when it creates the schema" in job.error
        assert "Invalid mapping: unknown type" in job.error
        assert (job.error_code, job.request_id) == ("MAPPER-1001-400", "req-9")
        draft.refresh_from_db()
        assert "charges" not in draft.mapping_checks

    def test_preview_runs_the_sample_records(self):
        draft = ready_draft(self.mina, self.sandbox, paths=("charges",))
        tasks.check_mapping(str(self.job(tasks.CHECK_MAPPING, draft, ":charges").pk), "charges",
                            "preview")  # fmt: skip
        draft.refresh_from_db()
        outcome = draft.mapping_checks["charges"]
        assert len(outcome["records"]) == 2
        assert outcome["records"][0]["mapped"]["data"]["id"] == "ch_1"

    def test_import_copies_another_dataflows_mapping(self):
        draft = ready_draft(self.mina, self.sandbox, paths=("charges",))
        created = self.fake.create_mapping_set(
            {
                "mappings": [
                    {"source": "data.id", "destination": "_acme.old.id",
                     "sourceType": "text/x.schema-path"},
                    {"source": "upper(data.currency)", "destination": "_acme.old.cur",
                     "sourceType": "text/x.aep-xl"},
                ]
            }
        )  # fmt: skip
        flow = Dataflow.objects.create(
            sandbox=self.sandbox, flow_id="f-old", name="Old", mapping_set_id=created.id
        )
        job = self.job(tasks.IMPORT_MAPPING, draft, ":charges")
        tasks.import_flow_mapping(str(job.pk), "charges", flow.pk)
        draft.refresh_from_db()
        assert draft.mappings["charges"] == [
            {"source": "data.id", "destination": "_acme.old.id", "identity": False,
             "kind": "ATTRIBUTE", "type": ""},
            {"source": "upper(data.currency)", "destination": "_acme.old.cur",
             "identity": False, "kind": "EXPRESSION", "type": "string"},
        ]  # fmt: skip

    def test_a_user_without_the_wizard_role_cannot_run_a_task(self):
        draft = connected_draft(self.mina, self.sandbox, connection_id="")
        job = self.job(tasks.CONNECT, draft, user=self.sam)
        tasks.connect_account(str(job.pk))
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED
        assert "Marketing Ops" in job.error
        assert self.fake.calls == []


@pytest.mark.integration
class StripeTasksTestCase(BaseTestCase):
    """Probe and estimate talk to the Stripe stand-in, as in production they talk to Stripe."""

    @pytest.fixture(autouse=True)
    def _stand_in(self, stripe_stand_in):
        self.stand_in = stripe_stand_in

    def test_probe_stores_the_matrix_kind_and_mode(self):
        draft = connected_draft(
            self.mina, make_sandbox(), access_token=self.stand_in.restricted_key, probe={}
        )
        job = Job.objects.create(kind=tasks.PROBE, target=tasks.target(draft), created_by=self.mina)
        with override_settings(STRIPE_API_BASE=self.stand_in.url):
            tasks.probe_stripe_key(str(job.pk))
        draft.refresh_from_db()
        assert draft.key_kind == "restricted"
        assert draft.probe["charges"]["status"] == "readable"
        assert draft.probe["prices"]["status"] == "forbidden"
        assert draft.probed_at is not None

    def test_estimate_counts_objects_created_before_the_start(self):
        draft = ready_draft(self.mina, make_sandbox(), paths=("charges", "prices"))
        job = Job.objects.create(
            kind=tasks.ESTIMATE, target=tasks.target(draft), created_by=self.mina
        )
        with override_settings(STRIPE_API_BASE=self.stand_in.url):
            tasks.estimate_backfill(str(job.pk))
        draft.refresh_from_db()
        assert draft.estimate["charges"] == {"count": self.stand_in.count("charges"), "more": False}
        assert draft.estimate["prices"]["count"] == self.stand_in.count("prices")
