"""Start, preview, confirm, resume and cancel operations: what views and commands call.

Nothing here talks to AEP; it records what was asked and hands the work to a job, running the
worker tasks its caller passes in (operations.tasks.OPERATION_TASKS).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.jobs import start_job
from core.models import Job
from monitoring.models import Account, Dataflow, Sandbox
from operations import impact, steps
from operations.models import STUCK_AFTER, Operation

Kind = Operation.Kind
Status = Operation.Status
KEY_KEPT_FOR = timedelta(hours=1)
# Kinds whose page shows AEP's answer before the user confirms.
PREVIEWED = (Kind.ACCOUNT_ROTATE_KEY, Kind.ACCOUNT_DELETE, Kind.DATAFLOW_DELETE)


class PreviewExpired(ValueError):
    """The preview is older than models.PREVIEW_VALID_FOR: check the impact again first."""


class OperationTasks(NamedTuple):
    """The worker tasks that run an operation's jobs, each called with (job id, operation id)."""

    preview: Any  # reads what the operation would touch, for the user to confirm
    execute: Any  # runs its steps


def create(
    kind: str,
    *,
    actor,
    sandbox: Sandbox | None = None,
    account: Account | None = None,
    dataflow: Dataflow | None = None,
    label: str = "",
    reason: str = "",
    ticket: str = "",
    params: dict[str, Any] | None = None,
    steps: list[dict[str, Any]] | None = None,
    secret: str = "",
    resume_at: datetime | None = None,
    via: str = "",
) -> Operation:
    if kind == Kind.ACCOUNT_ROTATE_KEY:
        forget_stale_keys()
    if dataflow is not None and kind in (Kind.DATAFLOW_ENABLE, Kind.DATAFLOW_DISABLE):
        # Enabling by hand, or pausing again, replaces any automatic resume still waiting.
        cancel_resume(dataflow)
    target = dataflow or account
    sandbox = sandbox or (target.sandbox if target else None)
    if sandbox is None:
        raise ValueError("an operation needs a sandbox, an account or a dataflow")
    return Operation.objects.create(
        kind=kind,
        status=Status.PREVIEWING if kind in PREVIEWED else Status.QUEUED,
        sandbox=sandbox,
        account=account or (dataflow.account if dataflow else None),
        dataflow=dataflow,
        target_label=label or (target.name if target else ""),
        actor=actor,
        via=via,
        reason=reason.strip(),
        ticket=ticket.strip(),
        params=params or {},
        steps=steps or [],
        secret=secret,
        resume_at=resume_at if kind == Kind.DATAFLOW_DISABLE else None,
    )


def enqueue(operation: Operation, task) -> Job:
    """A job for the next piece of work on `operation`, sent to the worker on commit."""
    job = start_job(
        operation.kind, f"operation:{operation.pk}", operation.actor, task, str(operation.pk)
    )
    operation.save_fields(job=job)
    return job


def start(operation: Operation, tasks: OperationTasks) -> Job:
    if operation.status == Status.PREVIEWING:
        return enqueue(operation, tasks.preview)
    return enqueue(operation, tasks.execute)


def confirm(
    operation: Operation,
    tasks: OperationTasks,
    *,
    reason: str,
    ticket: str = "",
    delete_datasets: bool = False,
    delete_schemas: bool = False,
) -> Job:
    """Plan the steps from the preview the user has just seen, and start them."""
    with transaction.atomic():
        planned = plan_confirmed(
            operation,
            reason=reason,
            ticket=ticket,
            delete_datasets=delete_datasets,
            delete_schemas=delete_schemas,
        )
        return start(planned, tasks)


def plan_confirmed(
    operation: Operation,
    *,
    reason: str,
    ticket: str = "",
    delete_datasets: bool = False,
    delete_schemas: bool = False,
) -> Operation:
    """Turn a confirmed preview into planned steps (without starting them)."""
    with transaction.atomic():
        locked = Operation.objects.select_for_update().get(pk=operation.pk)
        if locked.status != Status.AWAITING_CONFIRMATION:
            raise ValueError("operation is not waiting for confirmation")
        if locked.preview_expired:
            raise PreviewExpired("the impact preview is too old to confirm")
        locked.save_fields(
            status=Status.QUEUED,
            reason=reason.strip(),
            ticket=ticket.strip(),
            steps=_steps_after_preview(locked, delete_datasets, delete_schemas),
            params={
                **locked.params,
                "delete_datasets": delete_datasets,
                "delete_schemas": delete_schemas,
            },
        )
    return locked


def _steps_after_preview(op: Operation, delete_datasets: bool, delete_schemas: bool) -> list:
    if op.kind == Kind.ACCOUNT_ROTATE_KEY:
        return steps.rotate_key_steps(op.target_account())
    connection_id = op.target_account().connection_id if op.kind == Kind.ACCOUNT_DELETE else ""
    return steps.delete_steps(
        op.preview,
        connection_id=connection_id,
        delete_datasets=delete_datasets,
        delete_schemas=delete_schemas,
    )


def preview_again(operation: Operation, tasks: OperationTasks) -> Job:
    """Read AEP again for an unconfirmed preview (an expired one, say)."""
    with transaction.atomic():
        updated = Operation.objects.filter(
            pk=operation.pk, status=Status.AWAITING_CONFIRMATION
        ).update(status=Status.PREVIEWING, preview={}, updated=timezone.now())
        if not updated:
            raise ValueError("only an unconfirmed preview can be read again")
        operation.refresh_from_db()
        return start(operation, tasks)


def resume(operation: Operation, tasks: OperationTasks, *, automatic: bool = False) -> Job:
    """Start a new attempt of a failed or stuck operation; steps already done are skipped.

    The change is a conditional UPDATE on what the caller saw (two clicks, or a person and
    beat, start one attempt); the new job fences off a stuck worker that comes back.
    """
    if not operation.steps:
        raise ValueError("an operation that never started has nothing to resume")
    with transaction.atomic():
        updated = _resumable(operation).update(
            status=Status.QUEUED,
            error="",
            finished=None,
            updated=timezone.now(),
            auto_resumes=F("auto_resumes") + 1 if automatic else 0,
        )
        if not updated:
            raise ValueError("only a failed or stuck operation can be resumed")
        operation.refresh_from_db()
        return start(operation, tasks)


def _resumable(operation: Operation):
    stuck = Q(status__in=Operation.MOVING, updated__lt=timezone.now() - STUCK_AFTER)
    return Operation.objects.filter(Q(status=Status.FAILED) | stuck, pk=operation.pk)


def cancel(operation: Operation) -> None:
    """Drop an operation nobody confirmed, or stop a failed or stuck one where it is; a
    pending new key is forgotten."""
    stuck = Q(status__in=Operation.MOVING, updated__lt=timezone.now() - STUCK_AFTER)
    Operation.objects.filter(
        Q(status__in=(Status.AWAITING_CONFIRMATION, Status.FAILED)) | stuck, pk=operation.pk
    ).update(status=Status.CANCELLED, secret="", finished=timezone.now(), updated=timezone.now())
    operation.refresh_from_db()


def stuck(now: datetime | None = None):
    cutoff = (now or timezone.now()) - STUCK_AFTER
    return Operation.objects.filter(status__in=Operation.MOVING, updated__lt=cutoff)


def resume_stuck(tasks: OperationTasks, tell_actor, limit: int) -> int:
    """Beat: start stuck operations again (a preview is read again, steps resume where they
    stopped), at most `limit` times in a row; then fail them, saying why, and `tell_actor`."""
    moved = 0
    for operation in stuck().select_related("actor"):
        if operation.auto_resumes >= limit:
            if _give_up(operation):
                tell_actor(operation)
                moved += 1
            continue
        try:
            if operation.status == Status.PREVIEWING or not operation.steps:
                _restart(operation, tasks)
            else:
                resume(operation, tasks, automatic=True)
        except ValueError:
            continue  # moved meanwhile
        moved += 1
    return moved


def _restart(operation: Operation, tasks: OperationTasks) -> None:
    """Queue the lost job again, in the state the operation was in."""
    with transaction.atomic():
        taken = Operation.objects.filter(
            pk=operation.pk, status=operation.status, updated=operation.updated
        ).update(updated=timezone.now(), auto_resumes=F("auto_resumes") + 1)
        if not taken:
            raise ValueError("the operation moved meanwhile")
        operation.refresh_from_db()
        start(operation, tasks)


def _give_up(operation: Operation) -> bool:
    message = _(
        "The operation stopped %(n)d times without finishing (the background worker went "
        "away). Steps already done in AEP stay done: resume it once the workers run, or stop it."
    ) % {"n": operation.auto_resumes + 1}
    return bool(
        stuck()
        .filter(pk=operation.pk, updated=operation.updated)
        .update(
            status=Status.FAILED,
            error=message,
            finished=timezone.now(),
            updated=timezone.now(),
        )
    )


def in_flight(**filters) -> Operation | None:
    """The operation still moving for an account or dataflow, if any (one at a time).

    One that has not moved for STUCK_AFTER (its worker died, say) no longer blocks others.
    """
    recent = timezone.now() - STUCK_AFTER
    return Operation.objects.filter(
        status__in=Operation.MOVING, updated__gte=recent, **filters
    ).first()


def forget_stale_keys() -> int:
    """Drop new Stripe keys nobody confirmed or resumed within KEY_KEPT_FOR."""
    cutoff = timezone.now() - KEY_KEPT_FOR
    return Operation.objects.exclude(secret="").filter(updated__lt=cutoff).update(secret="")


# -- pausing with an automatic resume ----------------------------------------------------------


def pending_resume(dataflow: Dataflow) -> Operation | None:
    """The disable whose automatic resume is still to come, with who paused and why."""
    return (
        Operation.objects.filter(
            dataflow=dataflow, kind=Kind.DATAFLOW_DISABLE, status=Status.SUCCEEDED
        )
        .exclude(resume_at=None)
        .select_related("actor")
        .order_by("-created")
        .first()
    )


def cancel_resume(dataflow: Dataflow) -> int:
    """Forget every automatic resume of `dataflow` that has not started yet."""
    return (
        Operation.objects.filter(dataflow=dataflow, kind=Kind.DATAFLOW_DISABLE)
        .exclude(resume_at=None)
        .update(resume_at=None, updated=timezone.now())
    )


def start_enable(
    dataflow: Dataflow,
    tasks: OperationTasks,
    *,
    actor,
    reason: str = "",
    ticket: str = "",
    extra: dict[str, Any] | None = None,
    via: str = "",
) -> Operation:
    """The enable operation, started the same way by the Enable page and the automatic resume.

    The expected backfill goes into the step (and so into the audit trail); an automatic
    resume that this enable replaces is noted there too.
    """
    pause = pending_resume(dataflow)
    extra = {"backfill_runs_expected": impact.backfill_estimate(dataflow)["count"], **(extra or {})}
    if pause is not None and pause.resume_at is not None:  # pending_resume: always set
        extra["cancelled_resume_at"] = pause.resume_at.isoformat()
    with transaction.atomic():
        operation = create(
            Kind.DATAFLOW_ENABLE,
            actor=actor,
            dataflow=dataflow,
            reason=reason,
            ticket=ticket,
            params=extra,
            steps=steps.flow_action_steps(dataflow, "enable", extra),
            via=via,
        )
        start(operation, tasks)
    return operation
