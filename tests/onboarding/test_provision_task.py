"""Provisioning with AEP faked: order, stored ids, retries without duplicates, discard."""

from __future__ import annotations

import logging
from unittest.mock import patch

from django.test import override_settings

from aep.errors import (
    AEPTimeout,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from monitoring.models import Account, AuditEvent, Dataflow, Sandbox
from onboarding import tasks
from onboarding.models import Draft, ProvisioningStep
from onboarding.provisioning import create_steps, source_connection_body
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.driver import run_with_retries
from tests.onboarding.factories import ready_draft
from tests.onboarding.fakes import FakeAEP

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
        run_with_retries(str(self.draft.pk), self.draft.attempt)
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
        self.fake.create_source_connection(source_connection_body(self.draft, "charges"))
        self.draft.steps.filter(position__lte=1).update(status="running", attempts=1)
        Draft.objects.filter(pk=self.draft.pk).update(status="provisioning", attempt=1)
        self.start()  # what Resume does: a new attempt
        assert self.draft.status == Draft.Status.DONE
        self.assert_one_of_each()


@override_settings(ONBOARDING_STEP_RETRIES=0)
class ProvisionErrorsObservedTestCase(BaseTestCase):
    """AEP errors met outside core.jobs.perform still reach /metrics and carry AEP's request id
    into the logs."""

    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox())
        self.fake = FakeAEP()
        client_patch = patch("onboarding.tasks.client_for", return_value=self.fake)
        count_patch = patch("onboarding.provisioning.record_aep_error")
        client_patch.start()
        self.counted = count_patch.start()
        self.addCleanup(client_patch.stop)
        self.addCleanup(count_patch.stop)

    start = ProvisionTaskTestCase.start

    def discard(self) -> None:
        Draft.objects.filter(pk=self.draft.pk).update(status=Draft.Status.DISCARDING)
        tasks.discard_draft(str(self.draft.pk))
        self.draft.refresh_from_db()

    def codes(self) -> list[str]:
        return [c.args[0] for c in self.counted.call_args_list]

    def test_a_failed_step_is_counted_and_logged_with_the_request_id(self):
        error = BadRequestError("Schema mismatch", 400, "req-42", "FLOW-1000-400")
        self.fake.fail("create_flow", error)
        with self.assertLogs("onboarding.provisioning", logging.WARNING) as logs:
            self.start()
        assert self.draft.status == Draft.Status.FAILED
        assert self.codes() == ["FLOW-1000-400"]
        (entry,) = logs.records
        assert entry.aep_request_id == "req-42"
        assert "FLOW-1000-400 (HTTP 400)" in entry.getMessage()

    @override_settings(ONBOARDING_STEP_RETRIES=3)
    def test_each_retried_error_is_counted(self):
        error = RateLimitError("slow down", 429, "req-7", "429050", retry_after=0)
        self.fake.fail("create_flow", error, count=2)
        with self.assertLogs("onboarding.provisioning", logging.INFO) as logs:
            self.start()
        assert self.draft.status == Draft.Status.DONE
        assert self.codes() == ["429050", "429050"]
        retries = [r for r in logs.records if "retry in" in r.getMessage()]
        assert [r.aep_request_id for r in retries] == ["req-7", "req-7"]

    def test_a_start_that_cannot_reach_aep_is_counted(self):
        Sandbox.objects.filter(pk=self.draft.sandbox_id).update(tenant_id="")  # asks AEP first
        self.fake.fail("get_stats", AuthenticationError("token expired", 401, "req-1", "401013"))
        with self.assertLogs("onboarding.provisioning", logging.WARNING) as logs:
            self.start()
        assert self.draft.status == Draft.Status.FAILED
        assert self.codes() == ["401013"]
        assert logs.records[0].aep_request_id == "req-1"

    def test_a_refused_delete_is_counted_once_when_discarding_stops(self):
        self.fake.fail("create_flow", BadRequestError("Schema mismatch", 400))
        self.start()
        self.counted.reset_mock()
        self.fake.fail("delete_mapping_set", ServerError("boom", 500, "req-9", "DP-500"))
        with self.assertLogs("onboarding.provisioning", logging.WARNING) as logs:
            self.discard()
        assert self.draft.status == Draft.Status.FAILED
        assert self.codes() == ["DP-500"]
        assert logs.records[0].aep_request_id == "req-9"

    def test_a_kept_class_is_counted_and_a_missing_object_is_not(self):
        self.fake.fail("create_flow", BadRequestError("Schema mismatch", 400))
        self.start()
        self.counted.reset_mock()
        self.fake.fail("delete_dataset", NotFoundError("gone", 404, "req-n", "404"))
        self.fake.fail("delete_class", ConflictError("in use", 409, "req-c", "XDM-1010-409"))
        with self.assertLogs("onboarding.provisioning", logging.INFO) as logs:
            self.discard()
        assert self.draft.status == Draft.Status.DISCARDED
        assert self.codes() == ["XDM-1010-409"]
        (kept,) = [r for r in logs.records if "kept class" in r.getMessage()]
        assert kept.aep_request_id == "req-c"
