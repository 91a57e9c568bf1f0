"""Keep one dataflow's runs and health in step with AEP.

A sync asks only for runs created at or after the newest run already stored, oldest first, and
stores each page as soon as it arrives. The stored runs therefore always form a prefix of AEP's
list, so a sync cut short by a fault resumes exactly where it stopped: nothing is skipped, and
the upsert on `run_id` means nothing is stored twice. The newest stored run comes back in every
answer (the filter is `>=`), which also re-polls it while it is in progress; older runs still in
progress are fetched by id in one more request. A quiet flow costs one request.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from aep import RateLimitError
from aep.errors import AEPError
from aep.flowservice import FlowServiceClient
from aep.types import Run as ApiRun
from core.explain import explain_aep_error
from monitoring import conf, health, poller, rollups
from monitoring.aep import pooled_client_for
from monitoring.models import OPEN_RUN_STATUSES, Dataflow, Run

logger = logging.getLogger(__name__)

RUN_FIELDS = [
    "status",
    "updated_at",
    "started_at",
    "completed_at",
    "window_start",
    "window_end",
    "input_records",
    "output_records",
    "failed_records",
    "input_bytes",
    "output_bytes",
    "errors",
    "activities",
    "etag",
    "synced_at",
]
# Ids per `property=id==a,b,c` filter when re-polling runs still in progress.
OPEN_RUN_CHUNK = 40
# Health is recomputed at least this often even when no run changed: the 24-hour totals and
# the lateness deadlines move with the clock.
HEALTH_MAX_AGE = timedelta(minutes=5)


@dataclass
class SyncResult:
    fetched: int = 0
    stored: int = 0
    changed_created: list[datetime] = field(default_factory=list)
    open_runs: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.changed_created)


def to_epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def run_row(dataflow: Dataflow, run: ApiRun, now: datetime) -> Run:
    return Run(
        dataflow=dataflow,
        run_id=run.id,
        status=run.status or "",
        created_at=run.created_at or run.started_at or now,
        updated_at=run.updated_at,
        started_at=run.started_at,
        completed_at=run.completed_at,
        window_start=run.window_start,
        window_end=run.window_end,
        input_records=run.input_record_count or 0,
        output_records=run.output_record_count or 0,
        failed_records=run.failed_record_count or 0,
        input_bytes=run.input_bytes or 0,
        output_bytes=run.output_bytes or 0,
        errors=[_error_dict(e) for e in run.errors],
        activities=list(run.activities),
        etag=run.etag or "",
        synced_at=now,
    )


def _error_dict(error) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": error.code or "", "message": error.message}
    if error.record_count is not None:
        entry["recordCount"] = error.record_count
    return entry


def _signature(status: str, etag: str, updated_at: datetime | None) -> tuple:
    return (status, etag, updated_at)


def upsert_runs(dataflow: Dataflow, runs: Sequence[ApiRun], now: datetime) -> list[datetime]:
    """Insert new runs and update changed ones; returns the creation times of those written."""
    runs = [r for r in runs if r.flow_id in (None, dataflow.flow_id)]
    if not runs:
        return []
    stored = {
        run_id: _signature(status, etag, updated_at)
        for run_id, status, etag, updated_at in Run.objects.filter(
            run_id__in=[r.id for r in runs]
        ).values_list("run_id", "status", "etag", "updated_at")
    }
    rows = [
        row
        for row in (run_row(dataflow, run, now) for run in runs)
        if stored.get(row.run_id) != _signature(row.status, row.etag, row.updated_at)
    ]
    if rows:
        Run.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["run_id"], update_fields=RUN_FIELDS
        )
    return [row.created_at for row in rows]


def _newest_created(dataflow: Dataflow) -> datetime | None:
    return Run.objects.filter(dataflow=dataflow).aggregate(newest=Max("created_at"))["newest"]


def _open_run_ids(dataflow: Dataflow) -> list[str]:
    return list(
        Run.objects.filter(dataflow=dataflow, status__in=OPEN_RUN_STATUSES).values_list(
            "run_id", flat=True
        )
    )


def _pages(items: Iterable[ApiRun], size: int) -> Iterable[list[ApiRun]]:
    page: list[ApiRun] = []
    for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def sync_runs(dataflow: Dataflow, flowservice: FlowServiceClient) -> SyncResult:
    """Fetch and store the flow's new runs and the end of its runs in progress.

    1. Ask for runs created at or after the newest stored one, oldest first; store each page.
    2. Fetch by id the runs still in progress that step 1 did not return.
    3. Recompute the chart buckets of every run written.
    """
    result = SyncResult()
    now = timezone.now()
    open_before = set(_open_run_ids(dataflow))
    newest = _newest_created(dataflow)
    properties = [f"createdAt>={to_epoch_ms(newest)}"] if newest else []
    size = conf.value("MONITORING_RUNS_PAGE_SIZE")
    seen: set[str] = set()
    listing = flowservice.list_runs(
        dataflow.flow_id, properties=properties, orderby="createdAt", limit=size
    )
    for page in _pages(listing, size):
        seen.update(run.id for run in page)
        result.fetched += len(page)
        result.changed_created += upsert_runs(dataflow, page, now)
    for chunk in _chunks(sorted(open_before - seen), OPEN_RUN_CHUNK):
        runs = list(flowservice.list_runs(dataflow.flow_id, properties=[f"id=={','.join(chunk)}"]))
        result.fetched += len(runs)
        result.changed_created += upsert_runs(dataflow, runs, now)
    result.stored = len(result.changed_created)
    rollups.recompute(dataflow, result.changed_created)
    result.open_runs = Run.objects.filter(dataflow=dataflow, status__in=OPEN_RUN_STATUSES).count()
    return result


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- scheduling the next sync -------------------------------------------------------------


def _jitter(delay: timedelta) -> timedelta:
    # Spread flows that were created together, so their syncs do not stay in lockstep.
    return delay * random.uniform(0.9, 1.1)


def next_sync_delay(dataflow: Dataflow, open_runs: int, now: datetime) -> timedelta:
    """Soon while a run is in progress; otherwise just after the next scheduled run."""
    minimum = conf.seconds("MONITORING_SYNC_MIN_SECONDS")
    maximum = conf.seconds("MONITORING_SYNC_MAX_SECONDS")
    if open_runs:
        return _jitter(conf.seconds("MONITORING_OPEN_RUN_SECONDS"))
    delay = maximum
    period = dataflow.schedule_period
    if period is not None and dataflow.last_run_at is not None:
        expected = dataflow.last_run_at + period + timedelta(seconds=30)
        if expected > now:
            delay = min(delay, expected - now)
    return _jitter(max(minimum, delay))


def backoff_delay(failures: int) -> timedelta:
    base = conf.value("MONITORING_BACKOFF_BASE_SECONDS")
    cap = conf.value("MONITORING_BACKOFF_MAX_SECONDS")
    return _jitter(timedelta(seconds=min(cap, base * 2 ** max(0, failures - 1))))


# -- one sync, as the task runs it ----------------------------------------------------------


@dataclass
class Outcome:
    status: str  # "synced" | "throttled" | "failed" | "skipped"
    result: SyncResult | None = None
    health_changed: bool = False


def run_sync(dataflow_pk: int, client_factory=pooled_client_for) -> Outcome:
    """Sync one flow and record how it went; never raises for AEP or unexpected failures."""
    dataflow = (
        Dataflow.objects.select_related("sandbox").filter(pk=dataflow_pk, deleted_at=None).first()
    )
    if dataflow is None:
        return Outcome("skipped")
    if poller.is_paused():
        _reschedule(dataflow, timezone.now() + _jitter(_pause_left()))
        return Outcome("throttled")
    lease = conf.value("MONITORING_SYNC_LEASE_SECONDS")
    with poller.flow_lock(dataflow.pk, lease) as acquired:
        if not acquired:
            return Outcome("skipped")  # another worker is syncing this flow right now
        return _sync_locked(dataflow, client_factory)


def _pause_left() -> timedelta:
    return timedelta(seconds=max(1.0, poller.paused_until() - timezone.now().timestamp()))


def _sync_locked(dataflow: Dataflow, client_factory) -> Outcome:
    try:
        result = sync_runs(dataflow, client_factory(dataflow.sandbox).flowservice)
    except RateLimitError as exc:
        # The platform wants the whole poller slower: pause everyone, fail no one.
        until = poller.slow_down(exc.retry_after)
        _reschedule(dataflow, timezone.now() + _jitter(_pause_left()))
        logger.info("AEP rate-limited the poller; paused until %s", until)
        return Outcome("throttled")
    except Exception as exc:
        _back_off(dataflow, exc)
        return Outcome("failed")
    before = dataflow.health
    now = timezone.now()
    if result.changed or dataflow.health_at is None or now - dataflow.health_at > HEALTH_MAX_AGE:
        health.refresh_health(dataflow, now)
    _record_success(dataflow, result, now)
    return Outcome("synced", result, health_changed=dataflow.health != before)


def _reschedule(dataflow: Dataflow, at: datetime) -> None:
    Dataflow.objects.filter(pk=dataflow.pk).update(next_sync_at=at)


def _record_success(dataflow: Dataflow, result: SyncResult, now: datetime) -> None:
    fields = {
        "next_sync_at": now + next_sync_delay(dataflow, result.open_runs, now),
        "last_synced_at": now,
        "sync_failures": 0,
        "sync_error": "",
    }
    Dataflow.objects.filter(pk=dataflow.pk).update(**fields)
    for name, value in fields.items():
        setattr(dataflow, name, value)


def _back_off(dataflow: Dataflow, exc: Exception) -> None:
    """Push the flow's next sync out, further after each failure in a row.

    Make sure a flow whose sync keeps failing is not tried again at once: otherwise one bad
    flow would hot-loop and crowd out the others.
    """
    failures = dataflow.sync_failures + 1
    if isinstance(exc, AEPError):
        message = explain_aep_error(exc)
        logger.warning("sync of dataflow %s failed: %s", dataflow.pk, exc)
    else:
        message = "Monitoring failed unexpectedly while reading this flow's runs."
        logger.exception("sync of dataflow %s failed unexpectedly", dataflow.pk)
    Dataflow.objects.filter(pk=dataflow.pk).update(
        sync_failures=failures,
        sync_error=message,
        next_sync_at=timezone.now() + backoff_delay(failures),
    )
    dataflow.sync_failures, dataflow.sync_error = failures, message
