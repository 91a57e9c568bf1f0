"""The audit trail: every change made through the dashboard, filterable and exportable."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.shortcuts import render
from django.utils import timezone

from core.decorators import requires
from core.exports import download
from core.http import AuthenticatedHttpRequest
from monitoring.models import AuditEvent
from operations.forms import AuditFilterForm

PAGE_SIZE = 50
CSV_COLUMNS = (
    "created",
    "actor",
    "role",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "sandbox",
    "reason",
    "ticket",
    "result",
    "error",
    "request_id",
    "before",
    "after",
)


def _filtered(request: AuthenticatedHttpRequest) -> tuple[AuditFilterForm, QuerySet]:
    actions = list(
        AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    )
    form = AuditFilterForm(request.GET or None, actions=actions)
    events = AuditEvent.objects.select_related("sandbox").order_by("-created")
    if form.is_valid():
        events = _apply(events, form.cleaned_data)
    return form, events


def _apply(events: QuerySet, data: dict) -> QuerySet:
    if data["actor"]:
        events = events.filter(actor_name__icontains=data["actor"])
    if data["action"]:
        events = events.filter(action=data["action"])
    if data["target"]:
        term = data["target"]
        events = events.filter(
            Q(target_label__icontains=term)
            | Q(target_id__icontains=term)
            | Q(target_type__iexact=term)
        )
    if data["since"]:
        events = events.filter(created__gte=_day_start(data["since"]))
    if data["until"]:
        events = events.filter(created__lt=_day_start(data["until"]) + timedelta(days=1))
    return events


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@requires("view_audit")
def audit_list(request: AuthenticatedHttpRequest):
    form, events = _filtered(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "operations/audit_list.html", context)


@requires("view_audit")
def audit_csv(request: AuthenticatedHttpRequest):
    """The filtered trail as CSV; before/after are JSON with secrets already redacted."""
    _form, events = _filtered(request)
    rows = (_row(event) for event in events.iterator(chunk_size=2000))
    return download("audit", "csv", CSV_COLUMNS, rows)


def _row(event: AuditEvent) -> list:
    return [
        event.created,
        event.actor_name,
        event.role,
        event.action,
        event.target_type,
        event.target_id,
        event.target_label,
        event.sandbox.display_name if event.sandbox else "",
        event.reason,
        event.ticket,
        event.result,
        event.error,
        event.request_id,
        event.before,
        event.after,
    ]
