"""Dataflow operations against the real AEP emulator: disable → enable with backfill, retry,
edit with a conflict, and delete."""

from __future__ import annotations

import time

from core.models import Job
from monitoring.models import AuditEvent, Dataflow
from operations import impact, service, steps
from operations.concurrency import flow_seen
from operations.models import Operation
from operations.tasks import OPERATION_TASKS
from tests.base import wait_for
from tests.emulator_world import READONLY_KEY
from tests.operations.cases import EmulatorOpsTestCase
from tests.operations.jobs import run_next_job


class EmulatorDataflowOpsTestCase(EmulatorOpsTestCase):
    def test_disable_then_enable_creates_the_backfill_runs_shown_beforehand(self):
        dataflow = self.world.dataflow(self.account)
        # The first run covers "everything so far"; two regular windows show the period.
        wait_for(lambda: len(self.world.runs(dataflow)) >= 3, "three runs in AEP")
        disabled = run_next_job(
            service.create(
                Operation.Kind.DATAFLOW_DISABLE,
                actor=self.sam,
                dataflow=dataflow,
                reason="Noisy failures",
                steps=steps.flow_action_steps(dataflow, "disable"),
            )
        )
        assert disabled.status == Operation.Status.SUCCEEDED, disabled.error
        assert self.world.client.flowservice.get_flow(dataflow.flow_id).state == "disabled"
        time.sleep(0.5)  # let a run that was already going finish
        before = {run.id for run in self.world.runs(dataflow)}
        self.world.mirror_runs(dataflow)
        time.sleep(5)  # 15-minute windows last 1.5 s at the emulator's time scale
        dataflow.refresh_from_db()
        assert not dataflow.enabled
        estimate = impact.backfill_estimate(dataflow)
        assert estimate["count"] >= 2

        enabled = run_next_job(
            service.create(
                Operation.Kind.DATAFLOW_ENABLE,
                actor=self.sam,
                dataflow=dataflow,
                steps=steps.flow_action_steps(dataflow, "enable"),
            )
        )
        assert enabled.status == Operation.Status.SUCCEEDED, enabled.error

        def backfilled():
            new = [run for run in self.world.runs(dataflow) if run.id not in before]
            return new if len(new) >= estimate["count"] else None

        new_runs = wait_for(backfilled, "the backfill runs")
        # Backfill runs cover the windows missed while disabled, in order.
        starts = sorted(run.window_start for run in new_runs if run.window_start)
        assert starts[0] == estimate["since"]
        dataflow.refresh_from_db()
        assert dataflow.enabled
        actions = list(AuditEvent.objects.values_list("action", "result"))
        assert ("dataflow.disable", "succeeded") in actions
        assert ("dataflow.enable", "succeeded") in actions

    def test_a_failed_run_is_retriggered(self):
        restricted = self.world.account(READONLY_KEY)
        dataflow = self.world.dataflow(restricted, "prices")  # the key cannot read prices

        def failed():
            return [r for r in self.world.runs(dataflow) if r.status == "failed"]

        first_failure = wait_for(failed, "a failed run")[0]
        runs = {row.run_id: row for row in self.world.mirror_runs(dataflow)}
        operation = run_next_job(
            service.create(
                Operation.Kind.RUNS_RETRY,
                actor=self.sam,
                dataflow=dataflow,
                steps=steps.retry_steps([runs[first_failure.id]]),
            )
        )
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        event = AuditEvent.objects.get(action="run.retry")
        new_run_id = event.after["new_run_id"]
        assert new_run_id != first_failure.id
        assert event.request_id
        assert new_run_id in {run.id for run in self.world.runs(dataflow)}
        # The new run is mirrored at once, and the retried one is no longer offered again.
        assert dataflow.runs.filter(run_id=new_run_id).exists()
        assert first_failure.id not in {r.run_id for r in impact.failed_runs([dataflow])}

    def test_two_people_edit_one_dataflow_and_the_first_change_is_kept(self):
        dataflow = self.world.dataflow(self.account, owner=self.mina)
        seen = {
            "name": dataflow.name,
            "description": "",
            "frequency": "minute",
            "interval": 15,
            "mapping_version": "0",
            "etag": dataflow.etag,
        }
        mina_changes = {"interval": 30}
        sam_changes = {"name": "Charges (renamed by support)"}
        mina_op = service.create(
            Operation.Kind.DATAFLOW_UPDATE,
            actor=self.mina,
            dataflow=dataflow,
            params={"changes": mina_changes, "seen": seen},
            steps=steps.dataflow_update_steps(dataflow, mina_changes),
        )
        sam_op = service.create(
            Operation.Kind.DATAFLOW_UPDATE,
            actor=self.sam,
            dataflow=dataflow,
            params={"changes": sam_changes, "seen": seen},
            steps=steps.dataflow_update_steps(dataflow, sam_changes),
        )

        assert run_next_job(mina_op).status == Operation.Status.SUCCEEDED, mina_op.error
        sam_op = run_next_job(sam_op)

        assert sam_op.status == Operation.Status.CONFLICT
        assert "mina changed this dataflow in AEP after you opened it" in sam_op.error
        assert "Interval: “15” → “30”" in sam_op.error
        assert sam_op.result["conflict"]["changes"] == [
            {"field": "Interval", "was": "15", "now": "30"}
        ]
        flow = self.world.client.flowservice.get_flow(dataflow.flow_id)
        assert flow.schedule.interval == 30
        assert flow.name == dataflow.name  # the second change was not applied
        assert "nothing was overwritten" in Job.objects.get(pk=sam_op.job_id).error

    def test_a_412_from_aep_is_a_conflict_not_an_overwrite(self):
        dataflow = self.world.dataflow(self.account)
        seen = {"name": dataflow.name, "etag": dataflow.etag}
        changes = {"description": "Charges for the EU shop"}
        # One 412 is tried again after re-checking the fields; a second one is a conflict.
        self.world.fault(method="PATCH", path=f"*/flows/{dataflow.flow_id}", kind="412", count=2)
        try:
            operation = run_next_job(
                service.create(
                    Operation.Kind.DATAFLOW_UPDATE,
                    actor=self.sam,
                    dataflow=dataflow,
                    params={"changes": changes, "seen": seen},
                    steps=steps.dataflow_update_steps(dataflow, changes),
                )
            )
        finally:
            self.world.clear_faults()
        assert operation.status == Operation.Status.CONFLICT
        assert "was changed in AEP after you opened it" in operation.error
        assert self.world.client.flowservice.get_flow(dataflow.flow_id).description == ""
        failed = AuditEvent.objects.get(action="dataflow.update")
        assert failed.result == AuditEvent.Result.FAILED and failed.request_id

    def test_editing_the_schedule_while_runs_keep_finishing_is_not_a_conflict(self):
        dataflow = self.world.dataflow(self.account, owner=self.mina)
        seen = flow_seen(dataflow)
        # Each finished run writes lastRunDetails into the flow, which moves its etag.
        wait_for(
            lambda: self.world.client.flowservice.get_flow(dataflow.flow_id).etag != seen["etag"],
            "a run that moves the flow's etag",
        )
        changes = {"interval": 30}
        operation = run_next_job(
            service.create(
                Operation.Kind.DATAFLOW_UPDATE,
                actor=self.mina,
                dataflow=dataflow,
                params={"changes": changes, "seen": seen},
                steps=steps.dataflow_update_steps(dataflow, changes),
            )
        )
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        assert self.world.client.flowservice.get_flow(dataflow.flow_id).schedule.interval == 30
        dataflow.refresh_from_db()
        assert dataflow.interval == 30

    def test_a_412_from_a_run_ending_meanwhile_is_tried_again(self):
        dataflow = self.world.dataflow(self.account)
        changes = {"interval": 60}
        self.world.fault(method="PATCH", path=f"*/flows/{dataflow.flow_id}", kind="412")
        try:
            operation = run_next_job(
                service.create(
                    Operation.Kind.DATAFLOW_UPDATE,
                    actor=self.sam,
                    dataflow=dataflow,
                    params={"changes": changes, "seen": flow_seen(dataflow)},
                    steps=steps.dataflow_update_steps(dataflow, changes),
                )
            )
        finally:
            self.world.clear_faults()
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        assert self.world.client.flowservice.get_flow(dataflow.flow_id).schedule.interval == 60

    def test_a_schedule_changed_in_aep_meanwhile_is_a_conflict_naming_the_field(self):
        dataflow = self.world.dataflow(self.account)
        seen = flow_seen(dataflow)
        fs = self.world.client.flowservice
        fs.patch_flow(
            dataflow.flow_id,
            fs.get_flow(dataflow.flow_id).etag or "",
            [{"op": "replace", "path": "/scheduleParams/interval", "value": 45}],
        )
        changes = {"name": "Charges (renamed)"}
        operation = run_next_job(
            service.create(
                Operation.Kind.DATAFLOW_UPDATE,
                actor=self.sam,
                dataflow=dataflow,
                params={"changes": changes, "seen": seen},
                steps=steps.dataflow_update_steps(dataflow, changes),
            )
        )
        assert operation.status == Operation.Status.CONFLICT
        assert operation.result["conflict"]["changes"] == [
            {"field": "Interval", "was": "15", "now": "45"}
        ]
        assert "Interval: “15” → “45”" in operation.error
        assert fs.get_flow(dataflow.flow_id).name == dataflow.name

    def test_a_mapping_edit_writes_a_new_version_and_points_the_flow_at_it(self):
        dataflow = self.world.dataflow(self.account, owner=self.mina)
        rules = (
            "data.id -> _stripesources.charges_data.id\n"
            "data.amount / 100 -> _stripesources.charges_data.amount\n"
            "upper(data.currency) -> _stripesources.charges_data.currency\n"
        )
        changes = {"mapping": rules}
        operation = run_next_job(
            service.create(
                Operation.Kind.DATAFLOW_UPDATE,
                actor=self.mina,
                dataflow=dataflow,
                params={"changes": changes, "seen": {"etag": dataflow.etag}},
                steps=steps.dataflow_update_steps(dataflow, changes),
            )
        )
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        flow = self.world.client.flowservice.get_flow(dataflow.flow_id)
        assert flow.mapping.mapping_id == dataflow.mapping_set_id
        assert flow.mapping.mapping_version == 1
        mapping_set = self.world.client.dataprep.get_mapping_set(dataflow.mapping_set_id)
        assert [m.source for m in mapping_set.mappings] == [
            "data.id",
            "data.amount / 100",
            "upper(data.currency)",
        ]
        dataflow.refresh_from_db()
        assert dataflow.mapping_version == "1"

    def test_deleting_a_dataflow_removes_its_connections_and_keeps_the_dataset(self):
        dataflow = self.world.dataflow(self.account)
        keep = self.world.dataflow(self.account, "customers")
        operation = run_next_job(
            service.create(Operation.Kind.DATAFLOW_DELETE, actor=self.sam, dataflow=dataflow)
        )
        assert operation.status == Operation.Status.AWAITING_CONFIRMATION, operation.error
        assert [f["id"] for f in operation.preview["flows"]] == [dataflow.flow_id]
        service.confirm(operation, OPERATION_TASKS, reason="Customer stopped using charges")
        operation = run_next_job(Operation.objects.get(pk=operation.pk))
        assert operation.status == Operation.Status.SUCCEEDED, operation.error
        assert not self.world.exists("flows", dataflow.flow_id)
        assert not self.world.exists("sourceConnections", dataflow.source_connection_id)
        assert not self.world.exists("targetConnections", dataflow.target_connection_id)
        assert self.world.client.catalog.get_dataset(dataflow.dataset_id).id == dataflow.dataset_id
        assert self.world.exists("flows", keep.flow_id)
        assert self.world.exists("connections", self.account.connection_id)
        dataflow.refresh_from_db()
        assert dataflow.deleted_at is not None and dataflow.health == Dataflow.Health.DELETED
        # Data Prep's public API has no delete: the mapping set is left in place, and said so.
        assert operation.result["mapping_sets_left"] == [dataflow.mapping_set_id]
        (kept,) = [s for s in operation.steps if s["action"] == "delete_mapping_set"]
        assert kept["status"] == "skipped" and "left in place" in kept["note"]
        assert self.world.client.dataprep.get_mapping_set(dataflow.mapping_set_id)
