"""Delete in two steps over the API against the real AEP emulator, audited as the token's owner."""

from __future__ import annotations

from monitoring.models import AuditEvent, Dataflow
from operations.models import Operation
from operations.tasks import execute_operation, preview_operation
from tests.api.cases import ApiTestCase
from tests.operations.cases import EmulatorOpsTestCase


def run_job(operation_id: str) -> Operation:
    """Run the job the API queued for the operation, in this process, as the worker would."""
    operation = Operation.objects.get(pk=operation_id)
    task = (
        preview_operation if operation.status == Operation.Status.PREVIEWING else execute_operation
    )
    task(str(operation.job_id), str(operation.pk))
    operation.refresh_from_db()
    return operation


class DeleteOverApiTestCase(EmulatorOpsTestCase, ApiTestCase):
    def test_delete_previews_then_confirms_and_every_step_is_audited_via_the_token(self):
        dataflow = self.world.dataflow(self.account)
        started = self.api(self.sam, "post", f"dataflows/{dataflow.pk}/delete")
        assert started.status_code == 202
        op_id = started.json()["id"]
        previewed = run_job(op_id)
        assert previewed.status == Operation.Status.AWAITING_CONFIRMATION, previewed.error
        shown = self.api(self.sam, "get", f"operations/{op_id}").json()
        assert [f["id"] for f in shown["preview"]["flows"]] == [dataflow.flow_id]
        assert shown["confirm_name"] == dataflow.name
        confirm = {"confirm_name": dataflow.name, "reason": "Retired by the billing team"}
        assert self.api(self.sam, "post", f"operations/{op_id}/confirm", confirm).status_code == 202
        done = run_job(op_id)
        assert done.status == Operation.Status.SUCCEEDED, done.error
        assert not self.world.exists("flows", dataflow.flow_id)
        dataflow.refresh_from_db()
        assert dataflow.health == Dataflow.Health.DELETED
        events = AuditEvent.objects.filter(actor=self.sam, reason="Retired by the billing team")
        assert events.exists()
        assert {e.actor_name for e in events} == {"sam via API token ci"}
        assert {e.role for e in events} == {"Support"}
        final = self.api(self.sam, "get", f"operations/{op_id}").json()
        assert final["status"] == "succeeded" and final["via"] == "API token ci"
