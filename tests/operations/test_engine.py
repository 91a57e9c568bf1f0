"""The step runner: progress saved per step, failures audited, resumes skip what is done."""

from __future__ import annotations

import contextlib
from unittest.mock import Mock

import responses

from aep.errors import AEPError, ServerError
from monitoring.models import AuditEvent
from operations import service, steps
from operations.models import Operation
from operations.runner import Context, Done, run_steps, step
from operations.tasks import execute_operation
from tests.base import BaseTestCase, make_sandbox
from tests.operations.cases import FakeAEPTestCase
from tests.operations.factories import FLOWSERVICE, make_account
from tests.operations.jobs import queue


class StepRunnerTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.account = make_account(make_sandbox())
        self.op = service.create(
            Operation.Kind.ACCOUNT_DELETE,
            actor=self.sam,
            account=self.account,
            reason="left",
            steps=[
                step("check", "Check", id="c", repeat=True),
                step("work", "Delete a", id="a", audit_action="thing.delete", target_type="thing"),
                step("work", "Delete b", id="b", audit_action="thing.delete", target_type="thing"),
            ],
        )
        self.calls: list[str] = []
        self.fail_on: set[str] = set()

    def handler(self, ctx, current):
        self.calls.append(current["id"])
        if current["id"] in self.fail_on:
            raise ServerError("boom", 500, "req-500", "FLOW-1102-500")
        return Done(before={"id": current["id"]}, after={"deleted": True})

    def run_all(self) -> None:
        request_ids = Mock(take=Mock(return_value="req-ok"))
        handlers = {"check": lambda ctx, s: Done(), "work": self.handler}
        run_steps(Context(self.op, Mock(), request_ids), handlers)

    def test_a_failure_is_recorded_on_the_step_and_in_the_audit(self):
        self.fail_on = {"b"}
        with self.assertRaises(ServerError):
            self.run_all()
        self.op.refresh_from_db()
        assert [s["status"] for s in self.op.steps] == ["done", "done", "failed"]
        assert self.op.status == Operation.Status.FAILED
        assert "internal error" in self.op.error
        assert self.op.steps[2]["request_id"] == "req-500"
        events = AuditEvent.objects.order_by("created")
        assert [(e.target_id, e.result) for e in events] == [("a", "succeeded"), ("b", "failed")]
        assert events[1].request_id == "req-500" and events[1].reason == "left"

    def test_resuming_skips_done_steps_but_repeats_checks(self):
        self.fail_on = {"b"}
        with self.assertRaises(ServerError):
            self.run_all()
        self.fail_on = set()
        self.calls.clear()
        self.run_all()
        assert self.calls == ["b"]
        self.op.refresh_from_db()
        assert self.op.status == Operation.Status.SUCCEEDED
        assert [s["status"] for s in self.op.steps] == ["done", "done", "done"]

    def test_an_unexpected_error_is_not_shown_raw(self):
        def broken(ctx, current):
            raise KeyError("internal detail")

        with self.assertRaises(KeyError):
            run_steps(
                Context(self.op, Mock(), Mock(take=Mock(return_value=""))),
                {"check": broken, "work": broken},
            )
        self.op.refresh_from_db()
        assert "Something went wrong on our side" in self.op.error
        assert "internal detail" not in self.op.error


class IdempotentHandlersTestCase(FakeAEPTestCase):
    """What makes resuming safe: a repeated call that AEP already carried out counts as done."""

    def enable(self, *, error_code: str, state_in_aep: str) -> Operation:
        responses.post(
            f"{FLOWSERVICE}/flows/{self.flow.flow_id}/action",
            status=400,
            json={
                "type": f"https://ns.adobe.com/aep/errors/{error_code}",
                "status": 400,
                "report": {"detailed-message": "cannot be applied on the current state"},
            },
        )
        flow = {"id": self.flow.flow_id, "name": self.flow.name, "state": state_in_aep}
        responses.get(f"{FLOWSERVICE}/flows/{self.flow.flow_id}", json={"items": [flow]})
        op = service.create(
            Operation.Kind.DATAFLOW_ENABLE,
            actor=self.sam,
            dataflow=self.flow,
            steps=steps.flow_action_steps(self.flow, "enable"),
        )
        with contextlib.suppress(AEPError):
            execute_operation(queue(op, execute_operation), str(op.pk))
        op.refresh_from_db()
        return op

    def test_enabling_an_enabled_flow_is_skipped_not_failed(self):
        op = self.enable(error_code="FLOW-1422-400", state_in_aep="enabled")
        assert op.status == Operation.Status.SUCCEEDED
        assert op.steps[0]["status"] == "skipped"
        assert not AuditEvent.objects.exists()

    def test_any_400_on_a_flow_already_in_that_state_is_skipped(self):
        # The code of "already in that state" is not one AEP documents for this; the state is.
        op = self.enable(error_code="FLOW-1409-400", state_in_aep="enabled")
        assert op.status == Operation.Status.SUCCEEDED, op.error
        assert op.steps[0]["status"] == "skipped"
        self.flow.refresh_from_db()
        assert self.flow.enabled

    def test_a_400_on_a_flow_still_in_the_other_state_fails(self):
        op = self.enable(error_code="FLOW-1422-400", state_in_aep="disabled")
        assert op.status == Operation.Status.FAILED
        assert op.steps[0]["status"] == "failed"

    def delete_answered(self, status: int, code: str) -> Operation:
        """Delete the flow while AEP answers its DELETE with `status` and error `code`."""
        responses.delete(
            f"{FLOWSERVICE}/flows/{self.flow.flow_id}",
            status=status,
            json={"type": f"https://ns.adobe.com/aep/errors/{code}", "status": status},
        )
        planned = steps.delete_steps(
            {"flows": [{"id": self.flow.flow_id, "name": self.flow.name, "state": "enabled"}]}
        )
        op = service.create(
            Operation.Kind.DATAFLOW_DELETE, actor=self.sam, dataflow=self.flow, steps=planned
        )
        op.status = Operation.Status.QUEUED
        op.save()
        execute_operation(queue(op, execute_operation), str(op.pk))
        op.refresh_from_db()
        return op

    def test_deleting_what_aep_answers_1439_400_for_is_skipped(self):
        op = self.delete_answered(400, "FLOW-1439-400")
        assert op.status == Operation.Status.SUCCEEDED, op.error
        assert op.steps[1]["note"] == "Already gone in AEP."

    def test_deleting_what_is_already_gone_is_skipped(self):
        op = self.delete_answered(404, "FLOW-1439-404")
        assert op.status == Operation.Status.SUCCEEDED
        assert op.steps[1]["note"] == "Already gone in AEP."  # after verify_sharing
        self.flow.refresh_from_db()
        assert self.flow.deleted_at is not None

    def test_a_preview_that_aep_refuses_fails_in_plain_words(self):
        responses.get(f"{FLOWSERVICE}/flows/{self.flow.flow_id}", status=503, body="down")
        op = service.create(Operation.Kind.DATAFLOW_DELETE, actor=self.sam, dataflow=self.flow)
        from operations.tasks import preview_operation

        preview_operation(queue(op, preview_operation), str(op.pk))
        op.refresh_from_db()
        assert op.status == Operation.Status.FAILED
        assert "internal error" in op.error
        assert not op.can_resume  # nothing was planned: start over instead
