"""Downloads of the monitoring lists, CSV or JSON, streamed: the overview's dataflows with its
current filters, a dataflow's runs, and the alert history (with the alert list's filters)."""

from __future__ import annotations

from functools import lru_cache

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import get_language

from core.decorators import requires
from core.exports import FORMATS, download
from core.http import AuthenticatedHttpRequest
from monitoring import queries
from monitoring.models import Dataflow, Run

CHUNK = 2000


def both_formats(route: str, view, name: str) -> list:
    """`route`.csv and `route`.json, one URL name: reverse(name, kwargs={"fmt": …})."""
    return [path(f"{route}.{fmt}", view, {"fmt": fmt}, name=name) for fmt in FORMATS]


FLOW_COLUMNS = (
    "id",
    "name",
    "flow_id",
    "sandbox",
    "account",
    "resource_path",
    "owner",
    "enabled",
    "health",
    "schedule",
    "last_run_status",
    "last_run_at",
    "last_success_at",
    "consecutive_failures",
    "data_through",
    "sla_minutes",
    "records_24h",
    "records_7d",
    "failed_ratio",
    "breaking_schema_drift",
)
RUN_COLUMNS = (
    "run_id",
    "status",
    "created_at",
    "started_at",
    "completed_at",
    "window_start",
    "window_end",
    "input_records",
    "output_records",
    "failed_records",
    "duration_seconds",
)
ALERT_COLUMNS = (
    "id",
    "opened_at",
    "resolved_at",
    "state",
    "kind",
    "dataflow_id",
    "dataflow",
    "summary",
    "resolution",
)


# Read as plain values, not model instances: ten thousand rows in well under a second.
FLOW_VALUES = (
    "pk",
    "name",
    "flow_id",
    "sandbox__display_name",
    "account__name",
    "resource_path",
    "owner__username",
    "enabled",
    "health",
    "frequency",
    "interval",
    "last_run_status",
    "last_run_at",
    "last_success_at",
    "consecutive_failures",
    "data_through",
    "freshness_sla_minutes",
    "records_24h",
    "records_7d",
    "failed_ratio",
    "breaking_drift",
)


@requires("view_monitoring")
def overview_export(request: AuthenticatedHttpRequest, fmt: str):
    """Every flow the overview lists for its filters (all pages), in the overview's order."""
    filters = queries.Filters.from_query(request.GET)
    flows = queries.listed_flows(filters, request.user).values_list(*FLOW_VALUES)
    rows = (_flow_row(*values) for values in flows.iterator(chunk_size=CHUNK))
    return download("dataflows", fmt, FLOW_COLUMNS, rows)


def _flow_row(
    pk, name, flow_id, sandbox, account, resource, owner, enabled, health, frequency, interval,
    last_status, last_at, last_success, failures, data_through, sla, r24, r7, ratio, drift,
):  # fmt: skip
    schedule, sla_minutes = _schedule(get_language(), frequency, interval, sla)
    return (
        pk, name, flow_id, sandbox, account or "", resource, owner or "", enabled, health,
        schedule, last_status, last_at, last_success, failures, data_through, sla_minutes,
        r24, r7, ratio, bool(drift),
    )  # fmt: skip


@lru_cache(maxsize=256)
def _schedule(
    language: str, frequency: str, interval: int | None, sla: int | None
) -> tuple[str, int | None]:
    """A schedule in words and the freshness target, as the Dataflow model says them (a few
    distinct schedules among thousands of flows, so each is worked out once)."""
    flow = Dataflow(frequency=frequency, interval=interval, freshness_sla_minutes=sla)
    return str(flow.schedule_label()), flow.sla_minutes


@requires("view_monitoring")
def runs_export(request: AuthenticatedHttpRequest, pk: int, fmt: str):
    """A dataflow's runs, newest first, as its page lists them."""
    dataflow = get_object_or_404(Dataflow, pk=pk)
    runs = (
        Run.objects.filter(dataflow=dataflow)
        .only(*RUN_COLUMNS[:-1])
        .order_by("-created_at")
        .iterator(chunk_size=CHUNK)
    )
    return download(f"runs-{dataflow.pk}", fmt, RUN_COLUMNS, (_run_row(r) for r in runs))


def _run_row(run: Run) -> tuple:
    return (
        run.run_id,
        run.status,
        run.created_at,
        run.started_at,
        run.completed_at,
        run.window_start,
        run.window_end,
        run.input_records,
        run.output_records,
        run.failed_records,
        run.duration.total_seconds() if run.duration else None,
    )


ALERT_VALUES = (
    "pk",
    "opened_at",
    "resolved_at",
    "kind",
    "dataflow_id",
    "dataflow__name",
    "summary",
    "resolution",
)


@requires("view_monitoring")
def alerts_export(request: AuthenticatedHttpRequest, fmt: str):
    alerts = queries.alert_history(request.GET).values_list(*ALERT_VALUES)
    rows = (_alert_row(*values) for values in alerts.iterator(chunk_size=CHUNK))
    return download("alerts", fmt, ALERT_COLUMNS, rows)


def _alert_row(pk, opened, resolved, kind, flow_id, flow_name, summary, resolution) -> tuple:
    state = "open" if resolved is None else "resolved"
    return (pk, opened, resolved, state, kind, flow_id, flow_name, summary, resolution)
