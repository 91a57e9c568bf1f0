"""Provisioning with AEP faked: order, stored ids, retries without duplicates, discard."""

from __future__ import annotations

from unittest.mock import patch

from django.test import override_settings

from aep.errors import AEPTimeout, BadRequestError, RateLimitError, ServerError
from monitoring.models import Account, AuditEvent, Dataflow
from onboarding import tasks
from onboarding.models import Draft, ProvisioningStep
from onboarding.provisioning import create_steps
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.onboarding_builders import ready_draft
from tests.onboarding.onboarding_fakes import FakeAEP

KINDS_PER_PATH = {"source", "fieldgroup", "schema", "dataset", "target", "mapping", "flow"}


@override_settings(ONBOARDING_STEP_RETRIES=0)
class ProvisionTaskTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.draft = ready_draft(self.mina, self.sandbox)
        self.fake = FakeAEP()
        patcher = patch("onboarding.tasks.client_for", return_value=self.fake)
        patcher.start()
        self.addCleanup(patcher.stop)

    def start(self) -> None:
        self.draft.refresh_from_db()
        if not self.draft.steps.exists():
            create_steps(self.draft)
        self.draft.status = Draft.Status.PROVISIONING
        self.draft.attempt += 1
        self.draft.heartbeat = None
        self.draft.save()
        tasks.provision(str(self.draft.pk), self.draft.attempt)
        self.draft.refresh_from_db()

    def assert_one_of_each(self) -> None:
        for kind in KINDS_PER_PATH:
            assert self.fake.count(kind) == 2, (kind, self.fake.objects.get(kind))
        assert self.fake.count("class") == 1

    def test_it_creates_everything_in_order_and_the_monitoring_rows(self):
        self.start()
        assert self.draft.status == Draft.Status.DONE
        self.assert_one_of_each()
        creates = [c for c in self.fake.calls if c.startswith("create_")]
        assert creates[:8] == [
            "create_class",
            "create_source_connection",
            "create_field_group",
            "create_schema",
            "create_dataset",
            "create_target_connection",
            "create_mapping_set",
            "create_flow",
        ]
        account = Account.objects.get()
        assert account.connection_id == "conn-1"
        assert account.created_by == self.mina
        assert not account.access_token
        flows = Dataflow.objects.order_by("resource_path")
        assert [f.resource_path for f in flows] == ["charges", "customers"]
        assert {f.owner for f in flows} == {self.mina}
        assert flows[0].interval == 2 and flows[0].frequency == "hour"
        assert not self.draft.access_token  # the key is forgotten once AEP holds it
        assert AuditEvent.objects.filter(action="wizard.create").count() == 15

    def test_the_flow_gets_the_schedule_in_utc_seconds_and_the_mapping_version(self):
        self.start()
        flow = next(iter(self.fake.objects["flow"].values()))
        assert flow["scheduleParams"] == {
            "startTime": 1922518800,
            "frequency": "hour",
            "interval": 2,
            "backfill": True,
        }
        assert flow["transformations"][0]["params"]["mappingVersion"] == 0

    def test_the_field_group_mirrors_the_explored_fields_under_the_tenant(self):
        self.start()
        group = next(
            g for g in self.fake.objects["fieldgroup"].values() if "charges" in g["definitions"]
        )
        tree = group["definitions"]["charges"]["properties"]["_acme"]["properties"]
        fields = tree["charges_data"]["properties"]
        assert fields["amount"]["type"] == "integer"
        assert fields["billing_details"]["properties"]["address"]["properties"]["city"] == {
            "type": "string"
        }
        assert fields["metadata"] == {"type": "object", "additionalProperties": {"type": "string"}}

    def test_a_failure_stops_with_a_plain_message_and_retry_resumes_without_duplicates(self):
        self.fake.fail("create_target_connection", ServerError("Internal error", 500))
        self.start()
        assert self.draft.status == Draft.Status.FAILED
        failed = self.draft.steps.get(status=ProvisioningStep.Status.FAILED)
        assert failed.kind == "target_connection"
        assert "internal error" in failed.error.lower()
        self.start()
        assert self.draft.status == Draft.Status.DONE
        self.assert_one_of_each()

    def test_a_timeout_after_aep_acted_does_not_duplicate_on_retry(self):
        for method in ("create_class", "create_source_connection", "create_field_group",
                       "create_schema", "create_dataset", "create_target_connection",
                       "create_mapping_set", "create_flow"):  # fmt: skip
            self.fake.fail(method, AEPTimeout("read timed out"), after=True)
            self.start()
            assert self.draft.status == Draft.Status.FAILED, method
        self.start()
        assert self.draft.status == Draft.Status.DONE
        self.assert_one_of_each()

    def test_rate_limits_are_retried_in_the_task_when_allowed(self):
        self.fake.fail("create_flow", RateLimitError("slow down", retry_after=0), count=2)
        with override_settings(ONBOARDING_STEP_RETRIES=3):
            self.start()
        assert self.draft.status == Draft.Status.DONE
        assert self.fake.count("flow") == 2

    def test_a_stale_attempt_is_ignored(self):
        self.draft.refresh_from_db()
        create_steps(self.draft)
        Draft.objects.filter(pk=self.draft.pk).update(status="provisioning", attempt=3)
        tasks.provision(str(self.draft.pk), 2)
        assert self.fake.calls == []

    def test_it_refuses_when_the_creator_lost_the_role(self):
        self.mina.groups.clear()
        self.start()
        assert self.draft.status == Draft.Status.FAILED
        assert "no longer" in self.draft.error
        assert not [c for c in self.fake.calls if c.startswith("create_")]

    def test_discard_deletes_in_reverse_order_including_the_base_connection(self):
        self.fake.objects["connection"] = {"conn-1": {"id": "conn-1"}}
        self.fake.fail("create_flow", BadRequestError("Schema mismatch", 400))
        self.start()
        assert self.draft.status == Draft.Status.FAILED
        Draft.objects.filter(pk=self.draft.pk).update(status=Draft.Status.DISCARDING)
        tasks.discard_draft(str(self.draft.pk))
        self.draft.refresh_from_db()
        assert self.draft.status == Draft.Status.DISCARDED
        leftovers = {k: v for k, v in self.fake.objects.items() if v}
        assert leftovers == {}
        deletes = [c for c in self.fake.calls if c.startswith("delete")]
        assert deletes[0] == "delete_mapping_set"  # newest first (the flow never existed)
        assert deletes[-1] == "delete_connection"
        assert not self.draft.access_token

    def test_discard_finds_an_object_created_by_a_call_that_timed_out(self):
        self.fake.fail("create_source_connection", AEPTimeout("timed out"), after=True)
        self.start()
        assert self.fake.count("source") == 1
        Draft.objects.filter(pk=self.draft.pk).update(status=Draft.Status.DISCARDING)
        tasks.discard_draft(str(self.draft.pk))
        assert self.fake.count("source") == 0
        assert self.fake.count("class") == 0

    def test_an_existing_dataset_skips_schema_and_dataset_creation(self):
        self.draft.datasets["customers"] = {
            "mode": "existing",
            "dataset_id": "ds-old",
            "name": "Old",
            "schema_id": "https://ns/schema-old",
        }
        self.draft.save()
        self.start()
        assert self.draft.status == Draft.Status.DONE
        assert self.fake.count("dataset") == 1
        target = next(
            t for t in self.fake.objects["target"].values()
            if t["params"]["dataSetId"] == "ds-old"
        )  # fmt: skip
        assert target["data"]["schema"]["id"] == "https://ns/schema-old"
        flow = Dataflow.objects.get(resource_path="customers")
        assert flow.dataset_id == "ds-old"

    def test_a_worker_killed_mid_step_is_resumed_without_duplicates(self):
        self.draft.refresh_from_db()
        create_steps(self.draft)
        # The first attempt's worker died right after AEP created the class and the charges
        # source connection, before their ids were stored.
        self.fake.create_class({"title": "Stripe record"})
        self.fake.create_source_connection(
            name="Stripe charges - source", base_connection_id="conn-1",
            params={"resourcePath": "charges"},
        )  # fmt: skip
        self.draft.steps.filter(position__lte=1).update(status="running", attempts=1)
        Draft.objects.filter(pk=self.draft.pk).update(status="provisioning", attempt=1)
        self.start()  # what Resume does: a new attempt
        assert self.draft.status == Draft.Status.DONE
        self.assert_one_of_each()
