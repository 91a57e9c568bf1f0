"""A dataflow's health, recomputed from its stored runs and kept on the Dataflow row.

Pages never aggregate runs: they read the columns written here. Lateness depends on the clock as
well as on runs, so the deadlines (`stale_at`, `overdue_at`) are stored too, and the scheduler
flips flows whose deadline passed with one UPDATE (`flip_late_flows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from monitoring.models import FINISHED_RUN_STATUSES, SUCCESS_RUN_STATUSES, Dataflow, Run

Health = Dataflow.Health
STALE = "stale"
OVERDUE = "overdue"
# A scheduled run may be this much later than the schedule says before the flow is late.
MIN_OVERDUE_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class RunFacts:
    """What the stored runs say about a flow, gathered with a few indexed queries."""

    last_run_status: str = ""
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_success_data: datetime | None = None
    has_finished_run: bool = False
    consecutive_failures: int = 0
    records_24h: int = 0
    records_7d: int = 0
    input_24h: int = 0
    failed_24h: int = 0
    runs_24h: int = 0


def gather_facts(dataflow: Dataflow, now: datetime) -> RunFacts:
    runs = Run.objects.filter(dataflow=dataflow)
    latest = runs.order_by("-created_at").values("status", "started_at", "created_at").first()
    if latest is None:
        return RunFacts()
    success = (
        runs.filter(status__in=SUCCESS_RUN_STATUSES)
        .order_by("-created_at")
        .values("created_at", "started_at", "completed_at", "window_end")
        .first()
    )
    failures = runs.filter(status="failed")
    if success:
        failures = failures.filter(created_at__gt=success["created_at"])
    totals = _recent_totals(runs, now)
    return RunFacts(
        last_run_status=latest["status"],
        last_run_at=latest["started_at"] or latest["created_at"],
        last_success_at=_success_time(success),
        last_success_data=_success_data(success),
        has_finished_run=success is not None or latest["status"] in FINISHED_RUN_STATUSES,
        consecutive_failures=failures.count(),
        **totals,
    )


def _recent_totals(runs, now: datetime) -> dict[str, int]:
    day = Q(created_at__gte=now - timedelta(days=1))
    finished = Q(status__in=FINISHED_RUN_STATUSES)
    totals = runs.filter(created_at__gte=now - timedelta(days=7)).aggregate(
        records_7d=Sum("output_records"),
        records_24h=Sum("output_records", filter=day),
        input_24h=Sum("input_records", filter=day),
        failed_24h=Sum("failed_records", filter=day),
        runs_24h=Count("id", filter=day & finished),
    )
    return {name: value or 0 for name, value in totals.items()}


def _success_time(success: Mapping[str, Any] | None) -> datetime | None:
    if success is None:
        return None
    return success["completed_at"] or success["started_at"] or success["created_at"]


def _success_data(success: Mapping[str, Any] | None) -> datetime | None:
    """How far the data goes: the run's window end, else when it started reading Stripe."""
    if success is None:
        return None
    return success["window_end"] or success["started_at"] or success["created_at"]


def schedule_anchor(dataflow: Dataflow) -> datetime:
    """When the schedule starts promising data: its start time, or creation if later."""
    if dataflow.start_time and dataflow.start_time > dataflow.created:
        return dataflow.start_time
    return dataflow.created


def deadlines(
    dataflow: Dataflow, data_through: datetime | None, last_run_at: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(stale_at, overdue_at): when the data gets older than the SLA, when a run is missing."""
    if not dataflow.is_active:
        return None, None
    anchor = schedule_anchor(dataflow)
    sla = dataflow.sla_minutes
    stale_at = (data_through or anchor) + timedelta(minutes=sla) if sla else None
    period = dataflow.schedule_period
    overdue_at = None
    if period is not None:
        grace = max(period / 2, MIN_OVERDUE_GRACE)
        overdue_at = max(last_run_at or anchor, anchor) + period + grace
    return stale_at, overdue_at


def classify(
    dataflow: Dataflow,
    *,
    consecutive_failures: int,
    has_finished_run: bool,
    stale_at: datetime | None,
    overdue_at: datetime | None,
    now: datetime,
) -> tuple[str, str]:
    """(health, late_reason) in order of urgency: gone, off, failing, late, new, healthy."""
    if dataflow.deleted_at is not None:
        return Health.DELETED, ""
    if not dataflow.enabled:
        return Health.DISABLED, ""
    if consecutive_failures > 0:
        return Health.FAILING, ""
    if stale_at is not None and stale_at <= now:
        return Health.LATE, STALE
    if overdue_at is not None and overdue_at <= now:
        return Health.LATE, OVERDUE
    if not has_finished_run:
        return Health.NEW, ""
    return Health.HEALTHY, ""


def health_fields(dataflow: Dataflow, facts: RunFacts, now: datetime) -> dict[str, Any]:
    """Every denormalised health column for the flow, from its run facts."""
    data_through = _later(dataflow.data_through, facts.last_success_data)
    stale_at, overdue_at = deadlines(dataflow, data_through, facts.last_run_at)
    health, reason = classify(
        dataflow,
        consecutive_failures=facts.consecutive_failures,
        has_finished_run=facts.has_finished_run,
        stale_at=stale_at,
        overdue_at=overdue_at,
        now=now,
    )
    ratio = facts.failed_24h / facts.input_24h if facts.input_24h else 0.0
    return {
        "health": health,
        "late_reason": reason,
        "last_run_status": facts.last_run_status,
        "last_run_at": facts.last_run_at,
        "last_success_at": facts.last_success_at or dataflow.last_success_at,
        "consecutive_failures": facts.consecutive_failures,
        "records_24h": facts.records_24h,
        "records_7d": facts.records_7d,
        "runs_24h": facts.runs_24h,
        "failed_ratio": round(ratio, 6),
        "data_through": data_through,
        "stale_at": stale_at,
        "overdue_at": overdue_at,
        "health_at": now,
    }


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def refresh_health(dataflow: Dataflow, now: datetime | None = None) -> dict[str, Any]:
    """Recompute and save the flow's health columns; returns the values written."""
    now = now or timezone.now()
    fields = health_fields(dataflow, gather_facts(dataflow, now), now)
    Dataflow.objects.filter(pk=dataflow.pk).update(**fields)
    for name, value in fields.items():
        setattr(dataflow, name, value)
    return fields


def flip_late_flows(now: datetime | None = None) -> list[int]:
    """Mark healthy/new flows whose deadline has passed as late; returns their ids.

    Two UPDATEs, whatever the number of flows: the deadlines were computed at the last sync.
    """
    now = now or timezone.now()
    waiting = Dataflow.objects.filter(
        health__in=[Health.HEALTHY, Health.NEW], deleted_at=None, enabled=True
    )
    stale = list(waiting.filter(stale_at__lte=now).values_list("pk", flat=True))
    if stale:
        Dataflow.objects.filter(pk__in=stale).update(health=Health.LATE, late_reason=STALE)
    overdue = list(waiting.filter(overdue_at__lte=now).values_list("pk", flat=True))
    if overdue:
        Dataflow.objects.filter(pk__in=overdue).update(health=Health.LATE, late_reason=OVERDUE)
    return stale + overdue
