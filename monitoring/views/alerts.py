"""Alert pages: the history of alerts, and the rules (Admins for all, owners for their flows)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.crypto import defer_secrets
from core.decorators import requires
from core.http import AuthenticatedHttpRequest, positive_int
from core.permissions import can_delete_alert_rule, can_edit_alerts, can_manage_alerts
from monitoring import queries
from monitoring.audit import record
from monitoring.forms import AlertRuleForm
from monitoring.models import Alert, AlertDelivery, AlertRule, Dataflow

ALERTS_PAGE_SIZE = 50


@requires("view_monitoring")
def alert_list(request: AuthenticatedHttpRequest):
    state = request.GET.get("state", "")
    dataflow_pk = request.GET.get("dataflow", "")
    alerts = queries.alert_history(request.GET).select_related("dataflow", "rule")
    alerts = alerts.prefetch_related("deliveries")
    page = Paginator(alerts, ALERTS_PAGE_SIZE).get_page(request.GET.get("page"))
    for alert in page.object_list:
        # For the template only: not a field of the model.
        alert.notified = delivery_summary(alert.deliveries.all())  # type: ignore[attr-defined]
    context = {
        "page": page,
        "state": state,
        "dataflow_pk": dataflow_pk,
        "open_count": Alert.objects.filter(resolved_at=None).count(),
        "attention": queries.attention_summary(),
    }
    return render(request, "monitoring/alert_list.html", context)


@dataclass(frozen=True)
class DeliverySummary:
    sent: int
    pending: int
    # (channel label, where it went, why it failed) for each failed delivery.
    failed: list[tuple[str, str, str]]


def delivery_summary(deliveries) -> DeliverySummary:
    """How an alert's emails and webhook posts went, so a failing receiver does not go unseen."""
    sent = pending = 0
    failed = []
    for delivery in deliveries:
        if delivery.status == AlertDelivery.Status.SENT:
            sent += 1
        elif delivery.status == AlertDelivery.Status.PENDING:
            pending += 1
        else:
            failed.append((delivery.get_channel_display(), _where(delivery), delivery.last_error))
    return DeliverySummary(sent, pending, failed)


def _where(delivery: AlertDelivery) -> str:
    # A webhook's target is its label (scheme, host, hash), never the URL.
    return delivery.target


def _editable_flows(user):
    """Flows whose rules the user may edit: all for Admins, their own for owners."""
    flows = Dataflow.objects.filter(deleted_at=None).order_by("name")
    if can_manage_alerts(user):
        return flows
    return flows.filter(owner=user)


@requires("view_monitoring")
def rule_list(request: AuthenticatedHttpRequest):
    rules = defer_secrets(
        AlertRule.objects.select_related("dataflow").order_by("dataflow__name", "kind")
    )
    editable = set(_editable_flows(request.user).values_list("pk", flat=True))
    manage_all = can_manage_alerts(request.user)
    rows = [(rule, manage_all or rule.dataflow_id in editable) for rule in rules]
    context = {
        "rows": rows,
        "can_create": manage_all or bool(editable),
        "attention": queries.attention_summary(),
    }
    return render(request, "monitoring/alert_rules.html", context)


def _form(request: AuthenticatedHttpRequest, instance: AlertRule | None = None) -> AlertRuleForm:
    manage_all = can_manage_alerts(request.user)
    initial = {}
    flow_pk = positive_int(request.GET.get("dataflow"))
    if instance is None and flow_pk is not None:
        initial["dataflow"] = flow_pk
    return AlertRuleForm(
        # An empty post is still a post: it must be refused with errors, not ignored.
        request.POST if request.method == "POST" else None,
        instance=instance,
        initial=initial,
        dataflows=_editable_flows(request.user),
        allow_global=manage_all,
    )


@requires("view_monitoring")
def rule_create(request: AuthenticatedHttpRequest):
    if not can_manage_alerts(request.user) and not _editable_flows(request.user).exists():
        raise PermissionDenied
    form = _form(request)
    if request.method == "POST" and form.is_valid():
        rule = form.save(commit=False)
        rule.created_by = request.user
        rule.save()
        _audit(request, "alert_rule.create", rule)
        messages.success(request, _("Alert rule saved."))
        return _back(rule)
    return render(request, "monitoring/alert_rule_form.html", {"form": form})


@requires("view_monitoring")
def rule_edit(request: AuthenticatedHttpRequest, pk: int):
    rule = get_object_or_404(AlertRule.objects.select_related("dataflow"), pk=pk)
    if not can_edit_alerts(request.user, rule.dataflow):
        raise PermissionDenied
    form = _form(request, rule)
    if request.method == "POST" and form.is_valid():
        rule = form.save()
        _audit(request, "alert_rule.update", rule)
        messages.success(request, _("Alert rule saved."))
        return _back(rule)
    context = {"form": form, "rule": rule, "can_delete": can_delete_alert_rule(request.user, rule)}
    return render(request, "monitoring/alert_rule_form.html", context)


@require_POST
@requires("view_monitoring")
def rule_delete(request: AuthenticatedHttpRequest, pk: int):
    rule = get_object_or_404(AlertRule.objects.select_related("dataflow"), pk=pk)
    if not can_delete_alert_rule(request.user, rule):
        raise PermissionDenied
    _audit(request, "alert_rule.delete", rule)
    # Kept as history with its alerts and their deliveries; its webhook credentials are not.
    AlertRule.objects.filter(pk=rule.pk).update(
        deleted_at=timezone.now(), enabled=False, webhook_url="", webhook_secret=""
    )
    messages.success(request, _("Alert rule deleted."))
    return redirect("monitoring:alert-rules")


def _back(rule: AlertRule):
    if rule.dataflow_id:
        return redirect("monitoring:dataflow-detail", rule.dataflow_id)
    return redirect("monitoring:alert-rules")


def _audit(request: AuthenticatedHttpRequest, action: str, rule: AlertRule) -> None:
    dataflow = rule.dataflow
    state = {
        "kind": rule.kind,
        "threshold": rule.threshold,
        "enabled": rule.enabled,
        "emails": rule.emails,
        # The address is a credential: its label (scheme, host, hash) tells changes apart.
        "webhook_url": rule.webhook_label,
        "webhook_format": rule.webhook_format,
    }
    record(
        request.user,
        action,
        target_type="dataflow" if dataflow else "alert_rule",
        target_id=str(rule.dataflow_id or rule.pk),
        target_label=dataflow.name if dataflow else rule.describe(),
        sandbox=dataflow.sandbox if dataflow else None,
        after=state,
    )
