"""Worker side of support operations: every AEP call of an operation happens here.

Each task re-checks the actor's role before touching AEP: a role can change between the
click and the worker picking the job up, and commands reach these functions without a view.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.explain import explain_failure
from core.jobs import perform
from core.models import Job
from core.notify import email_person
from core.permissions import (
    NotAllowed,
    check_dataflow_update,
    check_operate,
    may_edit_mapping,
)
from monitoring.audit import record
from monitoring.clients import client_for, mapping_set_in_use
from monitoring.models import AuditEvent, Dataflow
from operations import impact, resume, service
from operations.handlers import HANDLERS
from operations.keys import check_key, dataflows_losing_access
from operations.mapping import rules_text, text_rules
from operations.models import Operation
from operations.runner import Context, OperationStopped, run_steps

logger = logging.getLogger(__name__)
Kind = Operation.Kind


@shared_task(name="operations.preview")
def preview_operation(job_id: str, operation_id: str) -> None:
    perform(job_id, lambda job: preview(Operation.objects.get(pk=operation_id)))


@shared_task(name="operations.execute")
def execute_operation(job_id: str, operation_id: str) -> None:
    perform(job_id, lambda job: execute(Operation.objects.get(pk=operation_id), job_id))


# What operations.service starts an operation's jobs with.
OPERATION_TASKS = service.OperationTasks(preview=preview_operation, execute=execute_operation)


def check_allowed(op: Operation) -> None:
    """Raise NotAllowed unless the operation's actor may do it, right now."""
    if op.actor is None:
        raise NotAllowed("An operation needs a person who asked for it.")
    if op.kind == Kind.DATAFLOW_UPDATE:
        changed = set(op.params.get("changes", {}))
        check_dataflow_update(op.actor, op.target_dataflow(), changed)
    else:
        check_operate(op.actor)


def _guard(op: Operation) -> None:
    try:
        check_allowed(op)
    except NotAllowed as exc:
        op.save_fields(
            status=Operation.Status.FAILED, error=exc.message, finished=timezone.now(), secret=""
        )
        target_type, target_id = _target_of(op)
        record(
            op.actor,
            op.kind,
            target_type=target_type,
            target_id=target_id,
            target_label=op.target_label,
            sandbox=op.sandbox,
            reason=op.reason,
            ticket=op.ticket,
            result=AuditEvent.Result.FAILED,
            error=exc.message,
            via=op.via,
        )
        raise OperationStopped(exc.message) from exc


def _target_of(op: Operation) -> tuple[str, str]:
    if op.dataflow_id:
        return "dataflow", op.target_dataflow().flow_id
    if op.account_id:
        return "account", op.target_account().connection_id
    return "sandbox", str(op.sandbox_id)


def execute(op: Operation, job_id: str | None = None) -> dict:
    if op.status != Operation.Status.QUEUED:
        return {"skipped": op.status}  # confirmed twice, or cancelled meanwhile
    if job_id is not None and str(op.job_id) != str(job_id):
        return {"skipped": "superseded"}  # resumed meanwhile: the newer job runs it
    _guard(op)
    client = client_for(op.sandbox)
    run_steps(Context(op, client, client.request_ids, job_id), HANDLERS)
    return {"steps": op.done_steps}


def preview(op: Operation) -> dict:
    """Work out what the operation would touch; the user confirms on the page afterwards."""
    if op.status != Operation.Status.PREVIEWING:
        return {"skipped": op.status}
    _guard(op)
    try:
        found = _preview_for(op)
    except Exception as exc:
        op.save_fields(
            status=Operation.Status.FAILED,
            error=explain_failure(exc).message,
            finished=timezone.now(),
            secret="",
        )
        raise
    op.save_fields(preview=found, status=Operation.Status.AWAITING_CONFIRMATION)
    return {}


def _preview_for(op: Operation) -> dict:
    if op.kind == Kind.ACCOUNT_ROTATE_KEY:
        return _key_preview(op)
    client = client_for(op.sandbox)
    if op.kind == Kind.ACCOUNT_DELETE:
        return impact.account_impact(client, op.target_account())
    return impact.dataflow_impact(client, op.target_dataflow())


def _key_preview(op: Operation) -> dict:
    check = check_key(op.secret.reveal())
    account = op.target_account()
    dataflows = account.dataflows.filter(deleted_at=None)
    losing = dataflows_losing_access(dataflows, check)
    return {
        "check": check.as_dict(),
        "readable": check.readable_paths,
        "losing": [{"pk": d.pk, "name": d.name, "resource_path": d.resource_path} for d in losing],
        "usable": bool(check.readable_paths),
        "livemode_changes": check.livemode != account.livemode,
    }


@shared_task(name="operations.resume_due_dataflows")
def resume_due_dataflows() -> int:
    """Beat: start the automatic resume of paused dataflows whose time has come."""
    return len(resume.start_due(OPERATION_TASKS))


@shared_task(name="operations.housekeeping", ignore_result=True)
def housekeeping() -> int:
    """Beat: forget new Stripe keys of rotations nobody confirmed within KEY_KEPT_FOR."""
    return service.forget_stale_keys()


@shared_task(name="operations.resume_stuck")
def resume_stuck() -> int:
    """Beat: start again the operations whose worker went away; after
    settings.AUTOMATIC_RESUMES tries, fail them and tell whoever asked for them."""
    return service.resume_stuck(OPERATION_TASKS, tell_actor, settings.AUTOMATIC_RESUMES)


def tell_actor(op: Operation) -> None:
    url = f"{settings.SITE_URL}{reverse('operations:operation-detail', args=[op.pk])}"

    def message() -> tuple[str, str]:
        subject = _("[Stripe Sources] %(kind)s of %(target)s stopped") % {
            "kind": op.get_kind_display(),
            "target": op.target_label,
        }
        body = _(
            "The background worker stopped several times while running this operation, so it "
            "was stopped. Steps already done in AEP stay done. Open it to resume or stop it:"
        )
        return subject, f"{body}\n\n{url}"

    email_person(op.actor, message)


@shared_task(name="operations.load_mapping")
def load_mapping(job_id: str) -> None:
    perform(job_id, _load_mapping)


def _load_mapping(job: Job) -> dict:
    """The flow's current mapping rules (the version the flow uses) for the editor."""
    dataflow = Dataflow.objects.get(pk=job.target.removeprefix("dataflow:"))
    if not may_edit_mapping(job.created_by, dataflow):
        raise OperationStopped(_("Your role may not change the mapping of this dataflow."))
    client = client_for(dataflow.sandbox)
    flow = client.flowservice.get_flow(dataflow.flow_id)
    mapping_set = mapping_set_in_use(client, flow)
    return {
        "rules": rules_text(text_rules(mapping_set.mappings)),
        "version": mapping_set.version,
        "mapping_set_id": mapping_set.id,
        "etag": flow.etag or "",
    }
