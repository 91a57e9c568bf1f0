"""Run an operation's steps in order, one AEP call each, recording every outcome as it happens.

A step's status is saved before and after its call, so the page shows progress and a failed
operation resumes at the step that failed. Every step that changes AEP writes an AuditEvent,
whether it succeeded or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from aep import AEPClient, RequestIds
from core.explain import ExplainedError, explain_failure
from monitoring.audit import record
from monitoring.models import AuditEvent
from operations.models import Operation

logger = logging.getLogger(__name__)

PENDING, RUNNING, DONE, SKIPPED, FAILED, CONFLICT = (
    "pending",
    "running",
    "done",
    "skipped",
    "failed",
    "conflict",
)


class OperationStopped(ExplainedError):
    """The operation cannot go on; `message` says why in words the page can show."""

    status = Operation.Status.FAILED


class Conflict(OperationStopped):
    """Someone changed the object in AEP after the user looked at it; nothing was overwritten."""

    status = Operation.Status.CONFLICT


@dataclass(frozen=True)
class Done:
    """A step's outcome: what the object looked like before and after, for the audit trail."""

    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False
    note: str = ""


@dataclass
class Context:
    operation: Operation
    client: AEPClient
    request_ids: RequestIds
    # The job running this attempt; a resume gives the operation a new one, and a worker
    # still on the old job stops before its next step.
    job_id: str | None = None

    def still_current(self) -> bool:
        """Whether this attempt still holds the operation; refreshes `updated` (its lease)."""
        if self.job_id is None:
            return True
        return (
            Operation.objects.filter(pk=self.operation.pk, job_id=self.job_id).update(
                updated=timezone.now()
            )
            == 1
        )

    def remember(self, **values: Any) -> None:
        """Keep values for later steps (and for the page) in the operation's result."""
        self.operation.save_fields(result={**self.operation.result, **values})

    def audit(self, step: Mapping[str, Any], **fields: Any) -> AuditEvent:
        op = self.operation
        return record(
            op.actor,
            step.get("audit_action") or op.kind,
            target_type=step.get("target_type") or "",
            target_id=step.get("id") or "",
            target_label=step.get("target_label") or op.target_label,
            sandbox=op.sandbox,
            reason=op.reason,
            ticket=op.ticket,
            via=op.via,
            **fields,
        )


Handler = Callable[[Context, dict[str, Any]], Done]


def step(action: str, label: str, **data: Any) -> dict[str, Any]:
    """A planned step; `data` carries the AEP id and what the handler and the audit need."""
    key = f"{action}:{data.get('run_id') or data.get('id', '')}"
    return {"key": key, "action": action, "label": label, "status": PENDING, **data}


def run_steps(ctx: Context, handlers: Mapping[str, Handler]) -> None:
    """Run every step not yet done; on the first failure record it and re-raise."""
    op = ctx.operation
    op.save_fields(status=Operation.Status.RUNNING, error="")
    for index, current in enumerate(op.steps):
        if current["status"] in (DONE, SKIPPED) and not current.get("repeat"):
            continue
        if not ctx.still_current():
            logger.info("operation %s was resumed by another job; this one stops", op.pk)
            return
        _mark(op, index, status=RUNNING, error="")
        ctx.request_ids.take()
        try:
            done = handlers[current["action"]](ctx, current)
        except Exception as exc:
            if ctx.still_current():
                _record_failure(ctx, index, exc)
            raise
        _record_success(ctx, index, done)
    if ctx.still_current():
        op.save_fields(status=Operation.Status.SUCCEEDED, finished=timezone.now(), secret="")


def _record_success(ctx: Context, index: int, done: Done) -> None:
    current = ctx.operation.steps[index]
    request_id = ctx.request_ids.take()
    _mark(
        ctx.operation,
        index,
        status=SKIPPED if done.skipped else DONE,
        note=done.note,
        request_id=request_id,
    )
    if current.get("audit_action") and not done.skipped:
        ctx.audit(current, before=done.before, after=done.after, request_id=request_id)


def _record_failure(ctx: Context, index: int, exc: Exception) -> None:
    message, code, request_id, unexpected = explain_failure(exc)
    if unexpected:
        logger.exception("operation step failed unexpectedly")
    status = exc.status if isinstance(exc, OperationStopped) else Operation.Status.FAILED
    request_id = request_id or ctx.request_ids.take()
    op = ctx.operation
    _mark(
        op,
        index,
        status=CONFLICT if status == Operation.Status.CONFLICT else FAILED,
        error=message,
        request_id=request_id,
        code=code,
    )
    finished = {"secret": ""} if status == Operation.Status.CONFLICT else {}
    op.save_fields(status=status, error=message, finished=timezone.now(), **finished)
    ctx.audit(
        op.steps[index],
        result=AuditEvent.Result.FAILED,
        error=message,
        request_id=request_id,
        after=op.result.get("conflict") or {},
    )


def _mark(op: Operation, index: int, **fields: Any) -> None:
    op.steps[index] = {**op.steps[index], **fields, "at": timezone.now().isoformat()}
    op.save_fields(steps=op.steps)
