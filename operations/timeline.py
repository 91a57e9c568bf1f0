"""One list per dataflow: its runs, configuration changes, alerts and support actions, newest
first. Read from the database only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.i18n import localize_stored
from monitoring.models import Alert, AuditEvent, Dataflow, Run
from operations.models import Operation

RUN, CHANGE, SUPPORT, ALERT, OPERATION = "run", "change", "support", "alert", "operation"
# How the fields of an audited change read on the timeline; other keys are shown as they are.
CHANGE_LABELS = {
    "name": pgettext_lazy("changed field", "name"),
    "title": pgettext_lazy("changed field", "name"),
    "description": pgettext_lazy("changed field", "description"),
    "frequency": pgettext_lazy("changed field", "frequency"),
    "interval": pgettext_lazy("changed field", "interval"),
    "mapping_version": pgettext_lazy("changed field", "mapping version"),
    "state": pgettext_lazy("changed field", "state"),
    "enabled": pgettext_lazy("changed field", "enabled"),
    "freshness_sla_minutes": pgettext_lazy("changed field", "freshness SLA (minutes)"),
    "kind": pgettext_lazy("changed field", "condition"),
    "threshold": pgettext_lazy("changed field", "threshold"),
    "emails": pgettext_lazy("changed field", "emails"),
    "webhook_url": pgettext_lazy("changed field", "webhook URL"),
    "rows": pgettext_lazy("changed field", "mapped fields"),
}
SUPPORT_ROLES = ("Support", "Admin")


@dataclass(frozen=True)
class Entry:
    when: datetime
    kind: str
    title: str
    status: str = ""
    detail: str = ""
    actor: str = ""
    reason: str = ""
    ticket: str = ""
    link: str = ""


def timeline(
    dataflow: Dataflow,
    limit: int = 50,
    runs: Sequence[Run] | None = None,
    before: datetime | None = None,
) -> list[Entry]:
    """The `limit` newest entries, or the `limit` newest older than `before` (a page further
    down). `runs`: the flow's latest runs, newest first, when the page has read them already."""
    entries = [
        *_runs(dataflow, limit, runs, before),
        *_audit(dataflow, limit, before),
        *_alerts(dataflow, limit, before),
        *(_operations(dataflow) if before is None else []),
    ]
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def _runs(
    dataflow: Dataflow, limit: int, runs: Sequence[Run] | None, before: datetime | None
) -> list[Entry]:
    if runs is None:
        rows = dataflow.runs.defer("activities").order_by("-created_at")
        if before is not None:
            rows = rows.filter(created_at__lt=before)
        runs = list(rows[:limit])
    return [
        Entry(
            when=run.created_at,
            kind=RUN,
            title=_("Run %(id)s") % {"id": run.run_id[:8]},
            status=run.status,
            detail=_run_detail(run),
        )
        for run in runs[:limit]
    ]


def _run_detail(run) -> str:
    parts = [
        _("%(ok)s records ingested, %(failed)s failed")
        % {"ok": run.output_records, "failed": run.failed_records}
    ]
    if run.window_start and run.window_end and run.window_start.year > 2000:
        parts.append(
            _("window %(start)s to %(end)s")
            % {
                "start": timezone.localtime(run.window_start).strftime("%Y-%m-%d %H:%M:%S"),
                "end": timezone.localtime(run.window_end).strftime("%H:%M:%S %Z"),
            }
        )
    if run.errors:
        parts.append(str(run.errors[0].get("message", "")))
    return " · ".join(parts)


def _audit(dataflow: Dataflow, limit: int, before: datetime | None) -> list[Entry]:
    """Changes to the flow itself, and to its account (a new key affects every flow on it).

    Audit events name a dataflow and an account by their AEP ids, which outlive our rows.
    """
    query = Q(target_type="dataflow", target_id=dataflow.flow_id)
    account = dataflow.account
    if account and account.connection_id:
        query |= Q(target_type="account", target_id=account.connection_id)
    events = AuditEvent.objects.filter(query, sandbox=dataflow.sandbox).order_by("-created")
    if before is not None:
        events = events.filter(created__lt=before)
    return [_audit_entry(event) for event in events[:limit]]


def _audit_entry(event: AuditEvent) -> Entry:
    kind = SUPPORT if event.role in SUPPORT_ROLES else CHANGE
    detail = _describe_change(event.before, event.after)
    if event.result == AuditEvent.Result.FAILED and event.error:
        detail = event.error
    return Entry(
        when=event.created,
        kind=kind,
        title=_action_title(event.action, event.target_type),
        status=event.result,
        detail=detail,
        actor=_("%(name)s (%(role)s)")
        % {"name": event.actor_name, "role": localize_stored(event.role)}
        if event.role
        else event.actor_name,
        reason=event.reason,
        ticket=event.ticket,
    )


def _action_title(action: str, target_type: str) -> str:
    titles = {
        "dataflow.update": _("Dataflow edited"),
        "dataflow.disable": _("Dataflow disabled"),
        "dataflow.enable": _("Dataflow enabled"),
        "dataflow.delete": _("Dataflow deleted"),
        "dataflow.create": _("Dataflow created"),
        "wizard.create": _("Created with the wizard"),
        "dataflow.freshness_sla": _("Freshness SLA changed"),
        "run.retry": _("Failed run re-triggered"),
        "account.update": _("Account edited"),
        "account.rotate_key": _("Stripe key rotated"),
        "account.delete": _("Account deleted"),
    }
    return titles.get(action, action)


def _describe_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    parts = []
    for key, value in (after or {}).items():
        label = CHANGE_LABELS.get(key, key)
        if key in (before or {}) and before[key] != value:
            parts.append(f"{label}: {_shown(before[key])} → {_shown(value)}")
        elif key not in (before or {}) and not isinstance(value, list | dict):
            parts.append(f"{label}: {_shown(value)}")
    return "; ".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "—" if value is None or value == "" else str(value)


def _alerts(dataflow: Dataflow, limit: int, before: datetime | None) -> list[Entry]:
    alerts = Alert.objects.filter(dataflow=dataflow).order_by("-opened_at")
    if before is not None:
        alerts = alerts.filter(opened_at__lt=before)
    alerts = alerts[:limit]
    return [
        Entry(
            when=alert.opened_at,
            kind=ALERT,
            title=_("Alert: %(what)s") % {"what": alert.summary},
            status="resolved" if alert.resolved_at else "open",
            detail=alert.resolution or "",
        )
        for alert in alerts
    ]


def _operations(dataflow: Dataflow) -> list[Entry]:
    """Support actions still in flight or stuck; finished ones show up as audit events."""
    open_ops = (
        Operation.objects.filter(dataflow=dataflow)
        .exclude(status__in=(Operation.Status.SUCCEEDED, Operation.Status.CANCELLED))
        .exclude(status=Operation.Status.CONFLICT)
    )
    return [
        Entry(
            when=op.updated,
            kind=OPERATION,
            title=op.get_kind_display(),
            status=op.status,
            detail=op.error or op.get_status_display(),
            actor=op.actor.get_username() if op.actor else "",
            reason=op.reason,
            ticket=op.ticket,
            link=reverse("operations:operation-detail", args=[op.pk]),
        )
        for op in open_ops.select_related("actor")[:20]
    ]
