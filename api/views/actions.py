"""The API's support actions: the same operations, rules and service code as the support pages.

Each answers 202 with the operation; the worker does the AEP work, and GET /operations/{id}
shows how it goes. Deletes are two steps, as on the pages: the first call reads what would be
deleted (the operation's `preview`, status `awaiting` once read); POST /operations/{id}/confirm
with the typed name and a reason deletes.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view

from api.access import require_operate, via
from api.problems import Conflict, Invalid
from api.serializers import ConfirmInput, DisableInput, OperationSerializer, ReasonInput
from api.views.shared import (
    account_or_404,
    check_if_match,
    check_not_busy,
    dataflow_or_404,
    object_or_404,
    operation_or_404,
    problems,
    started,
    validated,
)
from monitoring.models import Run
from operations import forms, service, steps
from operations.models import Operation
from operations.resume import resume_time_problem
from operations.tasks import OPERATION_TASKS

Kind = Operation.Kind
ACTION_ERRORS = problems(403, 404, 409, 412, 422)


def _reason(request, form_class=forms.ReasonFields) -> dict:
    data = validated(form_class(_strings(request.data, ("reason", "ticket"))))
    return {"reason": data.get("reason", ""), "ticket": data.get("ticket", "")}


def _strings(data, names) -> dict:
    """The named fields of a JSON body as a form reads them (strings); others are ignored."""
    if not isinstance(data, dict):
        raise Invalid({"non_field_errors": ["Send a JSON object."]})
    return {name: data[name] for name in names if isinstance(data.get(name), str)}


@extend_schema(
    summary="Enable a dataflow",
    request=ReasonInput,
    responses={202: OperationSerializer, **ACTION_ERRORS},
)
@api_view(["POST"])
def dataflow_enable(request, pk: int):
    require_operate(request)
    dataflow = dataflow_or_404(pk)
    check_if_match(request, dataflow)
    why = _reason(request)
    check_not_busy(dataflow=dataflow)
    operation = service.start_enable(
        dataflow, OPERATION_TASKS, actor=request.user, via=via(request), **why
    )
    return started(operation)


@extend_schema(
    summary="Disable a dataflow, optionally until a time when it is enabled again",
    request=DisableInput,
    responses={202: OperationSerializer, **ACTION_ERRORS},
)
@api_view(["POST"])
def dataflow_disable(request, pk: int):
    require_operate(request)
    dataflow = dataflow_or_404(pk)
    check_if_match(request, dataflow)
    why = _reason(request, forms.RequiredReasonForm)
    resume_at = _resume_at(request.data)
    check_not_busy(dataflow=dataflow)
    extra = {"resume_at": resume_at.isoformat()} if resume_at else {}
    operation = service.create(
        Kind.DATAFLOW_DISABLE,
        actor=request.user,
        via=via(request),
        dataflow=dataflow,
        resume_at=resume_at,
        steps=steps.flow_action_steps(dataflow, "disable", extra),
        **why,
    )
    service.start(operation, OPERATION_TASKS)
    return started(operation)


def _resume_at(data):
    """The optional resume time: ISO 8601 with a zone, then the Disable page's own rule."""
    serializer = DisableInput(data={"resume_at": data.get("resume_at")})
    if not serializer.is_valid():
        raise Invalid({"resume_at": [str(m) for m in serializer.errors.get("resume_at", [])]})
    value = serializer.validated_data.get("resume_at")
    if value is not None and (problem := resume_time_problem(value)):
        raise Invalid({"resume_at": [str(problem)]})
    return value


@extend_schema(
    summary="Retry a failed run",
    request=ReasonInput,
    responses={202: OperationSerializer, **ACTION_ERRORS},
)
@api_view(["POST"])
def run_retry(request, pk: int):
    require_operate(request)
    run = object_or_404(Run.objects.select_related("dataflow"), pk, dataflow__deleted_at=None)
    if run.status.lower() != "failed":
        raise Conflict(_("Only failed runs can be retried."))
    why = _reason(request)
    operation = service.create(
        Kind.RUNS_RETRY,
        actor=request.user,
        via=via(request),
        dataflow=run.dataflow,
        label=_("Run %(run)s of %(name)s") % {"run": run.run_id, "name": run.dataflow.name},
        params={"run_ids": [run.run_id]},
        steps=steps.retry_steps([run]),
        **why,
    )
    service.start(operation, OPERATION_TASKS)
    return started(operation)


@extend_schema(
    summary="Delete a dataflow, step 1: read what would be deleted",
    description="Answers the operation; poll it until `status` is `awaiting`, read `preview`, "
    "then confirm with POST /operations/{id}/confirm.",
    request=None,
    responses={202: OperationSerializer, **problems(403, 404, 409)},
)
@api_view(["POST"])
def dataflow_delete(request, pk: int):
    require_operate(request)
    dataflow = dataflow_or_404(pk)
    check_not_busy(dataflow=dataflow)
    operation = service.create(
        Kind.DATAFLOW_DELETE, actor=request.user, via=via(request), dataflow=dataflow
    )
    service.start(operation, OPERATION_TASKS)
    return started(operation)


@extend_schema(
    summary="Delete an account, step 1: read what would be deleted",
    description="As for a dataflow: the preview lists every dataflow that goes with it.",
    request=None,
    responses={202: OperationSerializer, **problems(403, 404, 409)},
)
@api_view(["POST"])
def account_delete(request, pk: int):
    require_operate(request)
    account = account_or_404(pk)
    check_not_busy(account=account)
    operation = service.create(
        Kind.ACCOUNT_DELETE, actor=request.user, via=via(request), account=account
    )
    service.start(operation, OPERATION_TASKS)
    return started(operation)


@extend_schema(
    summary="Delete, step 2: confirm with the typed name and a reason",
    request=ConfirmInput,
    responses={202: OperationSerializer, **ACTION_ERRORS},
)
@api_view(["POST"])
def operation_confirm(request, pk):
    require_operate(request)
    operation = operation_or_404(request, pk)
    if operation.kind not in (Kind.DATAFLOW_DELETE, Kind.ACCOUNT_DELETE):
        raise Conflict(_("Confirm this operation on its page."))
    if operation.status != Operation.Status.AWAITING_CONFIRMATION:
        raise Conflict(_("This operation is no longer waiting for confirmation."))
    if operation.preview_expired:
        raise Conflict(
            _(
                "This impact preview is more than an hour old. Start the delete again for a "
                "fresh one."
            )
        )
    data = _strings(request.data, ("confirm_name", "reason", "ticket"))
    for flag in ("delete_datasets", "delete_schemas"):
        if request.data.get(flag) is True:
            data[flag] = "on"
    cleaned = validated(forms.DeleteConfirmForm(data, expected_name=operation.confirm_name))
    try:
        service.confirm(
            operation,
            OPERATION_TASKS,
            reason=cleaned["reason"],
            ticket=cleaned.get("ticket", ""),
            delete_datasets=bool(cleaned.get("delete_datasets")),
            delete_schemas=bool(cleaned.get("delete_schemas")),
        )
    except ValueError:  # confirmed by another request meanwhile, or its preview just expired
        raise Conflict(_("This operation is no longer waiting for confirmation.")) from None
    operation.refresh_from_db()
    return started(operation)
