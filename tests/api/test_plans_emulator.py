"""Plans over the API against the AEP emulator: read a dataflow's plan through the worker, dry
run it, then apply it as a new dataflow, audited as the token's owner."""

from __future__ import annotations

from unittest.mock import patch

from api.tasks import apply_dataflow_plan, export_dataflow_plan
from core.models import Job
from monitoring.models import AuditEvent, Dataflow
from tests.api.cases import ApiTestCase
from tests.operations.cases import EmulatorOpsTestCase


class PlansOverApiTestCase(EmulatorOpsTestCase, ApiTestCase):
    def test_a_plan_is_read_by_the_worker_then_applied_as_a_new_dataflow(self):
        dataflow = self.world.dataflow(self.account)
        first = self.api(self.sam, "get", f"dataflows/{dataflow.pk}/plan")
        assert first.status_code == 202
        export_dataflow_plan(first.json()["id"])  # as the worker runs it
        plan = self.api(self.sam, "get", f"dataflows/{dataflow.pk}/plan")
        assert plan.status_code == 200, plan.json()
        assert plan.json()["format"] == "stripe-sources-plan/1"

        body = {
            "plan": plan.json(),
            "sandbox": dataflow.sandbox_id,
            "connection_id": self.account.connection_id,
            "name": "Stripe charges (copy)",
            "reason": "Second dataset for finance",
        }
        dry = self.api(self.sam, "post", "plans/apply?dry_run=true", body)
        assert dry.status_code == 200
        steps = dry.json()["steps"]
        assert steps[0] == {**steps[0], "ref": "connection", "reuse": self.account.connection_id}
        assert Dataflow.objects.count() == 1

        with patch.object(apply_dataflow_plan, "delay_on_commit") as send:
            applied = self.api(self.sam, "post", "plans/apply?dry_run=false", body)
        assert applied.status_code == 202
        job_id = applied.json()["id"]
        apply_dataflow_plan(*send.call_args.args)  # what the view sent, as the worker runs it
        job = Job.objects.get(pk=job_id)
        assert job.status == Job.Status.SUCCEEDED, job.error
        copy = Dataflow.objects.get(pk=job.result["dataflow"])
        assert copy.name == "Stripe charges (copy)" and copy.owner == self.sam
        assert self.world.exists("flows", copy.flow_id)
        created = AuditEvent.objects.filter(action="flow.create", target_id=copy.flow_id).get()
        assert created.actor_name == "sam via API token ci"
        assert self.api(self.sam, "get", f"jobs/{job_id}").json()["status"] == "succeeded"
        assert self.api(self.alex, "get", f"jobs/{job_id}").status_code == 404

    def test_mina_may_not_read_or_apply_plans(self):
        dataflow = self.world.dataflow(self.account)
        assert self.api(self.mina, "get", f"dataflows/{dataflow.pk}/plan").status_code == 403
