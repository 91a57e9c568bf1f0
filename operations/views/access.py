"""What every support page shares: loading its objects, starting an operation, and the
reason a person gives."""

from __future__ import annotations

from typing import TypedDict

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect

from core.http import AuthenticatedHttpRequest
from core.permissions import can_operate, editable_dataflow_fields
from monitoring.models import Account, Dataflow
from operations import forms, service
from operations.concurrency import seen_from
from operations.models import Operation
from operations.tasks import OPERATION_TASKS

Kind = Operation.Kind


def account_or_404(pk: int) -> Account:
    return get_object_or_404(Account.objects.select_related("sandbox"), pk=pk, deleted_at=None)


def dataflow_or_404(pk: int) -> Dataflow:
    queryset = Dataflow.objects.select_related("sandbox", "account", "owner")
    return get_object_or_404(queryset, pk=pk, deleted_at=None)


def operation_or_404(request: AuthenticatedHttpRequest, pk) -> Operation:
    """Operators see every operation; anyone else only the ones they started."""
    operation = get_object_or_404(
        Operation.objects.select_related("account", "dataflow", "actor", "job"), pk=pk
    )
    if not can_operate(request.user) and operation.actor_id != request.user.pk:
        raise Http404
    return operation


def editable_fields(request: AuthenticatedHttpRequest, dataflow: Dataflow) -> frozenset[str]:
    editable = editable_dataflow_fields(request.user, dataflow)
    if not editable:
        raise PermissionDenied
    return editable


def posted(request: AuthenticatedHttpRequest):
    """Form data on POST (even an empty post is a submission), None otherwise."""
    return request.POST if request.method == "POST" else None


def to_operation_page(request: AuthenticatedHttpRequest, operation: Operation):
    url = reverse("operations:operation-detail", args=[operation.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def running_operation(request: AuthenticatedHttpRequest, **target) -> Operation | None:
    """Only one change at a time per account or dataflow: two would race on the etag."""
    busy = service.in_flight(**target)
    if busy:
        messages.warning(request, _("Another change is still running here; wait for it first."))
    return busy


def accepted(request: AuthenticatedHttpRequest, form, **target) -> bool:
    """A valid post for a target with no other change running (that one gets a warning)."""
    return request.method == "POST" and form.is_valid() and not running_operation(request, **target)


class Why(TypedDict):
    reason: str
    ticket: str


def reason_fields(form: forms.ReasonFields) -> Why:
    """The reason and ticket the audit trail records with the operation."""
    data = form.cleaned_data
    return {"reason": data.get("reason", ""), "ticket": data.get("ticket", "")}


def launch(request: AuthenticatedHttpRequest, kind: str, **fields) -> Operation:
    operation = service.create(kind, actor=request.user, **fields)
    service.start(operation, OPERATION_TASKS)
    return operation


def changed_fields(form, now: dict) -> tuple[dict, dict]:
    """What the user changed against what the page showed them, and that baseline (seen).

    No change at all is an error on the form rather than an empty operation.
    """
    seen = seen_from(form.cleaned_data["seen"], now)
    changes = form.changes(seen)
    if not changes:
        form.add_error(None, _("Nothing changed."))
    return changes, seen


def polling_status(request: AuthenticatedHttpRequest, done: bool) -> int:
    """286 tells htmx to stop polling a fragment that will not change any more."""
    return HTMX_STOP_POLLING if request.htmx and done else 200
