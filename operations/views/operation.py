"""An operation's page: its preview, the typed confirmation, progress, resume and cancel."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from core.permissions import OPERATE, VIEW
from operations import forms, service
from operations.models import Operation
from operations.tasks import OPERATION_TASKS
from operations.views.access import Kind, operation_or_404, polling_status, to_operation_page


@requires(VIEW)
def operation_detail(request: AuthenticatedHttpRequest, pk):
    operation = operation_or_404(request, pk)
    return render(request, "operations/operation_detail.html", _operation_context(operation))


@require_GET
@requires(VIEW)
@vary_on_headers("HX-Request")
def operation_status(request: AuthenticatedHttpRequest, pk):
    """DB-only progress of an operation; stops the page's polling once nothing moves."""
    operation = operation_or_404(request, pk)
    status = polling_status(request, operation.is_settled)
    return render(
        request,
        "operations/operation_detail.html#operation-status",
        _operation_context(operation),
        status=status,
    )


def _operation_context(operation: Operation, form=None) -> dict:
    expected = operation.confirm_name
    if form is None and operation.status == Operation.Status.AWAITING_CONFIRMATION:
        form = _confirm_form(operation, None)
    return {"operation": operation, "form": form, "expected_name": expected}


def _confirm_form(operation: Operation, data):
    if operation.kind == Kind.ACCOUNT_ROTATE_KEY:
        return forms.ConfirmRotateForm(data, losing=len(operation.preview.get("losing", [])))
    return forms.DeleteConfirmForm(data, expected_name=operation.confirm_name)


@require_POST
@requires(OPERATE)
def operation_confirm(request: AuthenticatedHttpRequest, pk):
    operation = operation_or_404(request, pk)
    if operation.status != Operation.Status.AWAITING_CONFIRMATION:
        messages.error(request, _("This operation is no longer waiting for confirmation."))
        return to_operation_page(request, operation)
    if operation.preview_expired:
        messages.error(request, _("This preview is more than an hour old: check the impact again."))
        return to_operation_page(request, operation)
    form = _confirm_form(operation, request.POST)
    if operation.kind == Kind.ACCOUNT_ROTATE_KEY and not operation.preview.get("usable"):
        form.add_error(None, _("This key cannot read any Stripe resource; it cannot be used."))
    if not form.is_valid():
        context = _operation_context(operation, form)
        return render(request, "operations/operation_detail.html", context, status=422)
    data = form.cleaned_data
    service.confirm(
        operation,
        OPERATION_TASKS,
        reason=data.get("reason") or operation.reason,
        ticket=data.get("ticket") or operation.ticket,
        delete_datasets=bool(data.get("delete_datasets")),
        delete_schemas=bool(data.get("delete_schemas")),
    )
    return to_operation_page(request, operation)


@require_POST
@requires(OPERATE)
def operation_preview_again(request: AuthenticatedHttpRequest, pk):
    operation = operation_or_404(request, pk)
    try:
        service.preview_again(operation, OPERATION_TASKS)
    except ValueError:
        messages.error(request, _("This operation is no longer waiting for confirmation."))
    return to_operation_page(request, operation)


@require_POST
@requires(OPERATE)
def operation_resume(request: AuthenticatedHttpRequest, pk):
    operation = operation_or_404(request, pk)
    try:
        if not operation.can_resume:
            raise ValueError("not resumable")
        service.resume(operation, OPERATION_TASKS)
    except ValueError:
        # Also a second click, or beat, that resumed it first.
        messages.error(request, _("Only a failed or stuck operation can be resumed."))
    return to_operation_page(request, operation)


@require_POST
@requires(OPERATE)
def operation_cancel(request: AuthenticatedHttpRequest, pk):
    operation = operation_or_404(request, pk)
    was_failed = operation.status == Operation.Status.FAILED or operation.is_stuck
    service.cancel(operation)
    if was_failed:
        messages.info(request, _("Stopped. Steps already done in AEP stay done."))
    else:
        messages.info(request, _("Cancelled. Nothing was changed in AEP."))
    if operation.dataflow_id and operation.dataflow and not operation.dataflow.deleted_at:
        return redirect("monitoring:dataflow-detail", operation.dataflow_id)
    if operation.account_id and operation.account and not operation.account.deleted_at:
        return redirect("monitoring:account-detail", operation.account_id)
    return redirect("operations:account-list")
