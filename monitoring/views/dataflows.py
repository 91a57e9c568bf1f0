"""The dataflow page and its sections: runs, freshness target, alerts, reconciliation, schema drift.

Each page wraps the parts that change in template partials; htmx polls the page URL and the
view answers with just that partial (`?part=` names it), so nothing reloads in full. Pages read
the database only.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from core.decorators import requires
from core.http import AuthenticatedHttpRequest, positive_int
from core.models import Job
from core.permissions import can_edit_alerts, can_operate, may_edit_mapping
from monitoring import drift, queries
from monitoring.audit import record
from monitoring.forms import FreshnessSLAForm, ReconcileForm
from monitoring.health import refresh_health
from monitoring.models import (
    Alert,
    AlertRule,
    Dataflow,
    Reconciliation,
    Run,
    Subscription,
)
from monitoring.tasks import check_schema_drift_now, deliver_later, reconcile_dataflow
from monitoring.views.pages import refresh_part

RUNS_PAGE_SIZE = 25


# Far beyond any flow's runs; keeps the query's offset a valid database integer.
RUNS_MAX_PAGE = 10**9


CHART_RUNS = 30


RECONCILE = "dataflow.reconcile"


def has_stored_key(dataflow: Dataflow) -> bool:
    return bool(dataflow.account and dataflow.account.access_token)


def _dataflow(pk: int) -> Dataflow:
    return get_object_or_404(Dataflow.objects.select_related("sandbox", "account", "owner"), pk=pk)


def _latest_runs(dataflow: Dataflow, page: int) -> tuple[list[Run], list[Run], bool]:
    """The runs of the chart (the latest 30) and of the table's page, in one query for the
    first page (which the chart's runs contain), two for older pages."""
    latest = list(
        Run.objects.filter(dataflow=dataflow)
        .defer("activities")
        .order_by("-created_at")[: max(CHART_RUNS, RUNS_PAGE_SIZE + 1)]
    )
    if page == 1:
        return latest, latest[:RUNS_PAGE_SIZE], len(latest) > RUNS_PAGE_SIZE
    start = (page - 1) * RUNS_PAGE_SIZE
    rows = list(
        Run.objects.filter(dataflow=dataflow)
        .defer("activities")
        .order_by("-created_at")[start : start + RUNS_PAGE_SIZE + 1]
    )
    return latest, rows[:RUNS_PAGE_SIZE], len(rows) > RUNS_PAGE_SIZE


def _live_context(dataflow: Dataflow, page: int) -> dict:
    chart_runs, runs, has_more = _latest_runs(dataflow, page)
    return {
        "dataflow": dataflow,
        "runs": runs,
        "latest_runs": chart_runs,
        "runs_page": page,
        "runs_has_more": has_more,
        "run_chart": queries.run_chart(chart_runs[:CHART_RUNS]) if chart_runs else None,
        "open_alerts": list(
            Alert.objects.filter(dataflow=dataflow, resolved_at=None).select_related("rule")
        ),
    }


@requires("view_monitoring")
@vary_on_headers("HX-Request")
def dataflow_detail(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    page = min(positive_int(request.GET.get("page")) or 1, RUNS_MAX_PAGE)
    context = _live_context(dataflow, page)
    template = refresh_part(request, "monitoring/dataflow_detail.html", ("live", "runs"))
    if "#" in template:
        return render(request, template, context)
    context.update(_detail_extras(request, dataflow))
    return render(request, template, context)


def _detail_extras(request: AuthenticatedHttpRequest, dataflow: Dataflow) -> dict:
    user = request.user
    may_paste = can_operate(user)
    key_stored = has_stored_key(dataflow)
    today = timezone.now().date()
    return {
        "attention": queries.attention_summary(),
        "subscribed": Subscription.objects.filter(user=user, dataflow=dataflow).exists(),
        "rules": list(
            AlertRule.objects.filter(Q(dataflow=None) | Q(dataflow=dataflow)).order_by(
                "dataflow_id", "kind"
            )
        ),
        "can_edit_alerts": can_edit_alerts(user, dataflow),
        "sla_form": FreshnessSLAForm(instance=dataflow),
        "reconcile_form": ReconcileForm(
            initial={"first_day": today - timedelta(days=6), "last_day": today},
            may_paste=may_paste,
        ),
        "reconcile_key_stored": key_stored,
        "reconcile_may_paste": may_paste,
        "reconciliation": _latest_reconciliation(dataflow),
        **_drift_context(dataflow),
    }


def _latest_reconciliation(dataflow: Dataflow) -> Reconciliation | None:
    return Reconciliation.objects.filter(dataflow=dataflow).select_related("job").first()


@require_POST
@requires("view_monitoring")
def dataflow_sla(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    if not can_edit_alerts(request.user, dataflow):
        raise PermissionDenied
    before = dataflow.freshness_sla_minutes
    form = FreshnessSLAForm(request.POST, instance=dataflow)
    if not form.is_valid():
        messages.error(request, " ".join(map(str, form.errors.get("freshness_sla_minutes", []))))
        return redirect("monitoring:dataflow-detail", dataflow.pk)
    form.save()
    refresh_health(dataflow)
    record(
        request.user,
        "dataflow.freshness_sla",
        target_type="dataflow",
        target_id=dataflow.flow_id,
        target_label=dataflow.name,
        sandbox=dataflow.sandbox,
        before={"freshness_sla_minutes": before},
        after={"freshness_sla_minutes": dataflow.freshness_sla_minutes},
    )
    messages.success(request, _("Freshness SLA saved."))
    return redirect("monitoring:dataflow-detail", dataflow.pk)


@require_POST
@requires("view_monitoring")
def dataflow_subscribe(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    subscription = Subscription.objects.filter(user=request.user, dataflow=dataflow)
    if subscription.exists():
        subscription.delete()
        subscribed = False
    else:
        Subscription.objects.get_or_create(user=request.user, dataflow=dataflow)
        subscribed = True
    if request.htmx:
        return render(
            request,
            "monitoring/dataflow_detail.html#subscribe",
            {"dataflow": dataflow, "subscribed": subscribed},
        )
    return redirect("monitoring:dataflow-detail", dataflow.pk)


@require_POST
@requires("view_monitoring")
def dataflow_reconcile(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    may_paste = can_operate(request.user)
    key_stored = has_stored_key(dataflow)
    form = ReconcileForm(request.POST, key_required=not key_stored, may_paste=may_paste)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(map(str, error)))
        return redirect("monitoring:dataflow-detail", dataflow.pk)
    job = Job.objects.create(
        kind=RECONCILE, target=f"dataflow:{dataflow.pk}", created_by=request.user
    )
    Reconciliation.objects.create(
        job=job,
        dataflow=dataflow,
        window_start=form.cleaned_data["first_day"],
        window_end=form.cleaned_data["last_day"],
        pasted_key=form.cleaned_data.get("stripe_key", ""),
    )
    # Celery's Django fixup makes every task a DjangoTask; its stubs know a plain Task only.
    reconcile_dataflow.delay_on_commit(str(job.pk))  # type: ignore[attr-defined]
    return redirect(f"{dataflow_url(dataflow)}#reconcile")


def dataflow_url(dataflow: Dataflow) -> str:
    return reverse("monitoring:dataflow-detail", args=[dataflow.pk])


@requires("view_monitoring")
def reconcile_status(request: AuthenticatedHttpRequest, pk: int):
    """DB-only: the latest reconciliation of the flow; stops polling once it has ended."""
    dataflow = _dataflow(pk)
    reconciliation = _latest_reconciliation(dataflow)
    context = {"dataflow": dataflow, "reconciliation": reconciliation}
    response = render(request, "monitoring/dataflow_detail.html#reconcile-result", context)
    job = reconciliation.job if reconciliation else None
    if request.htmx and (job is None or job.is_done):
        response.status_code = HTMX_STOP_POLLING
    return response


def _drift_context(dataflow: Dataflow) -> dict:
    result = drift.latest(dataflow)
    job = result.job if result else None
    # A failed "Check now" matters until a later check succeeded.
    job_failed = (
        job is not None
        and job.status == Job.Status.FAILED
        and not (result and result.checked_at and job.finished and result.checked_at > job.finished)
    )
    return {
        "drift": result,
        "drift_findings": drift.for_display(result.open_findings) if result else [],
        "drift_job": job,
        "drift_job_error": job.error if job is not None and job_failed else "",
    }


@requires("view_monitoring")
def dataflow_drift(request: AuthenticatedHttpRequest, pk: int):
    """DB-only: the Stripe schema section; stops polling once no check is running."""
    dataflow = _dataflow(pk)
    context = {"dataflow": dataflow, **_drift_context(dataflow)}
    response = render(request, "monitoring/_schema_drift.html", context)
    job = context["drift_job"]
    if request.htmx and (job is None or job.is_done):
        response.status_code = HTMX_STOP_POLLING
    return response


@require_POST
@requires("view_monitoring")
def dataflow_drift_check(request: AuthenticatedHttpRequest, pk: int):
    """Start a check now, unless one is already queued or running."""
    dataflow = _dataflow(pk)
    drift.start_check(dataflow, request.user, check_schema_drift_now)
    return redirect(f"{dataflow_url(dataflow)}#schema-drift")


@require_POST
@requires("view_monitoring")
def dataflow_drift_dismiss(request: AuthenticatedHttpRequest, pk: int):
    """Acknowledge one finding (`key`), or all of them (`key=all`)."""
    dataflow = _dataflow(pk)
    if not may_edit_mapping(request.user, dataflow):
        raise PermissionDenied
    result = drift.latest(dataflow)
    open_keys = {f["key"] for f in result.open_findings} if result else set()
    key = request.POST.get("key", "")
    keys = open_keys if key == "all" else open_keys & {key}
    if result is None or not keys:
        messages.error(
            request, _("That change is not reported any more; the page shows the latest check.")
        )
        return redirect(f"{dataflow_url(dataflow)}#schema-drift")
    drift.dismiss(result, keys, request.user, deliver_later)
    messages.success(
        request,
        ngettext(
            "Dismissed. It stays hidden while Stripe's fields stay the same.",
            "Dismissed %(n)d changes. They stay hidden while Stripe's fields stay the same.",
            len(keys),
        )
        % {"n": len(keys)},
    )
    return redirect(f"{dataflow_url(dataflow)}#schema-drift")
