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
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from aep import RateLimitError
from aep.errors import AEPError
from aep.flowservice import FlowServiceClient
from aep.types import Run as ApiRun
from core import metrics
from core.explain import ExplainedError, explain_aep_error
from monitoring import conf, health, rollups, throttle
from monitoring.clients import cached_sandbox, pooled_client_for
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
    state: SyncState
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
        created_at=created_of(run, now),
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


def signature(status: str, etag: str, updated_at: datetime | None) -> str:
    """What tells whether a stored run is still what AEP says (a string, to keep in JSON)."""
    updated = to_epoch_ms(updated_at) if updated_at else ""
    return f"{status}|{etag}|{updated}"


def created_of(run: ApiRun, now: datetime) -> datetime:
    return run.created_at or run.started_at or now


@dataclass
class SyncState:
    """Where the next sync starts; kept on the Dataflow row (`sync_cursor`, `sync_state`).

    `cursor` is the creation time of the newest stored run, `edge` the signatures of the runs
    created at that very time (AEP sends them again, `>=`, and they need no write when
    unchanged), `open` the ids of stored runs still in progress. A sync cut short leaves the
    previous state, which is older and therefore still safe to start from.
    """

    cursor: datetime | None = None
    edge: dict[str, str] = field(default_factory=dict)
    open: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, dataflow: Dataflow) -> SyncState:
        if dataflow.sync_cursor is None:
            return cls.from_runs(dataflow)
        state = dataflow.sync_state or {}
        return cls(dataflow.sync_cursor, dict(state.get("edge", {})), set(state.get("open", [])))

    @classmethod
    def from_runs(cls, dataflow: Dataflow) -> SyncState:
        """Rebuilt from the stored runs (first sync, or a row written before the state)."""
        runs = Run.objects.filter(dataflow=dataflow)
        newest = runs.aggregate(newest=Max("created_at"))["newest"]
        if newest is None:
            return cls()
        edge = {
            run_id: signature(status, etag, updated)
            for run_id, status, etag, updated in runs.filter(created_at=newest).values_list(
                "run_id", "status", "etag", "updated_at"
            )
        }
        open_ids = runs.filter(status__in=OPEN_RUN_STATUSES).values_list("run_id", flat=True)
        return cls(newest, edge, set(open_ids))

    def advance(self, runs: Iterable[ApiRun], now: datetime) -> None:
        for run in runs:
            if run.status in OPEN_RUN_STATUSES:
                self.open.add(run.id)
            else:
                self.open.discard(run.id)
            created = created_of(run, now)
            mark = signature(run.status or "", run.etag or "", run.updated_at)
            if self.cursor is None or created > self.cursor:
                self.cursor, self.edge = created, {run.id: mark}
            elif created == self.cursor:
                self.edge[run.id] = mark

    def dump(self) -> dict[str, Any]:
        return {"edge": self.edge, "open": sorted(self.open)}


def upsert_runs(
    dataflow: Dataflow, runs: Sequence[ApiRun], now: datetime, known: dict[str, str]
) -> list[datetime]:
    """Insert new runs and update changed ones; returns the creation times of those written.

    Runs whose signature is in `known` are unchanged and cost nothing; the others are compared
    with the stored rows in one query.
    """
    runs = [
        r for r in runs if known.get(r.id) != signature(r.status or "", r.etag or "", r.updated_at)
    ]
    if not runs:
        return []
    stored = {
        run_id: signature(status, etag, updated_at)
        for run_id, status, etag, updated_at in Run.objects.filter(
            run_id__in=[r.id for r in runs]
        ).values_list("run_id", "status", "etag", "updated_at")
    }
    rows = [
        row
        for row in (run_row(dataflow, run, now) for run in runs)
        if stored.get(row.run_id) != signature(row.status, row.etag, row.updated_at)
    ]
    if rows:
        Run.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["run_id"], update_fields=RUN_FIELDS
        )
        metrics.record_runs_synced(len(rows))
    return [row.created_at for row in rows]


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
    3. Recompute the chart buckets of every run written; hand back the state to save.
    """
    state = SyncState.load(dataflow)
    result = SyncResult(state)
    now = timezone.now()
    open_before, known = set(state.open), dict(state.edge)
    properties = [f"createdAt>={to_epoch_ms(state.cursor)}"] if state.cursor else []
    size = conf.value("MONITORING_RUNS_PAGE_SIZE")
    seen: set[str] = set()
    listing = flowservice.list_runs(
        dataflow.flow_id, properties=properties, orderby="createdAt", limit=size
    )
    for page in _pages(listing, size):
        page = [run for run in page if run.flow_id in (None, dataflow.flow_id)]
        seen.update(run.id for run in page)
        result.fetched += len(page)
        result.changed_created += upsert_runs(dataflow, page, now, known)
        state.advance(page, now)
    for chunk in _chunks(sorted(open_before - seen), OPEN_RUN_CHUNK):
        runs = list(flowservice.list_runs(dataflow.flow_id, properties=[f"id=={','.join(chunk)}"]))
        result.fetched += len(runs)
        result.changed_created += upsert_runs(dataflow, runs, now, known)
        state.advance(runs, now)
    result.stored = len(result.changed_created)
    rollups.recompute(dataflow, result.changed_created)
    result.open_runs = len(state.open)
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


# Every column a quiet sync reads, and the sandbox's version for the cached client. This runs
# for every active flow all day long, so it is one plain statement rather than an ORM query
# (whose compilation alone would cost more than the statement).
SYNC_ROW_SQL = """
SELECT d."id", d."sandbox_id", d."flow_id", d."sync_cursor", d."sync_state", d."health",
       d."health_at", d."frequency", d."interval", d."last_run_at", d."sync_failures",
       d."last_synced_at", s."updated" AS sandbox_version
FROM "monitoring_dataflow" d JOIN "monitoring_sandbox" s ON s."id" = d."sandbox_id"
WHERE d."id" = %s AND d."deleted_at" IS NULL
"""
# A sync that found nothing new writes nothing, but "last synced" is kept this fresh.
LAST_SYNCED_PRECISION = timedelta(minutes=5)


def load_for_sync(dataflow_pk: int) -> Dataflow | None:
    """The flow with just the columns a sync needs (others are deferred), and its sandbox."""
    rows = list(Dataflow.objects.raw(SYNC_ROW_SQL, [dataflow_pk]))
    if not rows:
        return None
    dataflow = rows[0]
    # sandbox_version is a column of SYNC_ROW_SQL, not a field of the model.
    version = dataflow.sandbox_version  # type: ignore[attr-defined]
    dataflow.sandbox = cached_sandbox(dataflow.sandbox_id, version)
    return dataflow


def run_sync(dataflow_pk: int, client_factory=pooled_client_for) -> Outcome:
    """Sync one flow and record how it went; never raises for AEP or unexpected failures."""
    dataflow = load_for_sync(dataflow_pk)
    if dataflow is None:
        return Outcome("skipped")
    lease = conf.value("MONITORING_SYNC_LEASE_SECONDS")
    with throttle.sync_slot(dataflow.pk, lease) as (paused_until, acquired):
        if paused_until > time.time():
            _reschedule(dataflow, timezone.now() + _jitter(_pause_left()))
            return Outcome("throttled")
        if not acquired:
            return Outcome("skipped")  # another worker is syncing this flow right now
        return _sync_locked(dataflow, client_factory)


def _pause_left() -> timedelta:
    return timedelta(seconds=max(1.0, throttle.paused_until() - timezone.now().timestamp()))


def _sync_locked(dataflow: Dataflow, client_factory) -> Outcome:
    try:
        result = sync_runs(dataflow, client_factory(dataflow.sandbox).flowservice)
    except RateLimitError as exc:
        # The platform wants the whole poller slower: pause everyone, fail no one.
        metrics.record_aep_error(exc.code)
        until = throttle.slow_down(exc.retry_after)
        _reschedule(dataflow, timezone.now() + _jitter(_pause_left()))
        logger.info("AEP rate-limited the poller; paused until %s", until)
        return Outcome("throttled")
    except Exception as exc:
        _back_off(dataflow, exc)
        return Outcome("failed")
    before = dataflow.health
    now = timezone.now()
    if result.changed or dataflow.health_at is None or now - dataflow.health_at > HEALTH_MAX_AGE:
        dataflow = Dataflow.objects.select_related("sandbox").get(pk=dataflow.pk)
        health.refresh_health(dataflow, now)
    _record_success(dataflow, result, now)
    return Outcome("synced", result, health_changed=dataflow.health != before)


def _reschedule(dataflow: Dataflow, at: datetime) -> None:
    Dataflow.objects.filter(pk=dataflow.pk).update(next_sync_at=at)


def _is_quiet(dataflow: Dataflow, result: SyncResult, now: datetime) -> bool:
    """Nothing to write: no run changed, the sync state is the same, no failure to clear."""
    return (
        not result.changed
        and not result.open_runs
        and dataflow.sync_failures == 0
        and result.state.cursor == dataflow.sync_cursor
        and result.state.dump() == (dataflow.sync_state or {})
        and dataflow.last_synced_at is not None
        and now - dataflow.last_synced_at < LAST_SYNCED_PRECISION
    )


def _record_success(dataflow: Dataflow, result: SyncResult, now: datetime) -> None:
    if _is_quiet(dataflow, result, now):
        return  # the scheduler planned the next sync when it dispatched this one
    fields = {
        "next_sync_at": now + next_sync_delay(dataflow, result.open_runs, now),
        "last_synced_at": now,
        "sync_failures": 0,
        "sync_error": "",
        "sync_cursor": result.state.cursor,
        "sync_state": result.state.dump(),
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
        metrics.record_aep_error(exc.code)
        logger.warning(
            "sync of dataflow %s failed: %s",
            dataflow.pk,
            exc,
            extra={"aep_request_id": exc.request_id, "aep_error_code": exc.code},
        )
    elif isinstance(exc, ExplainedError):  # e.g. the sandbox's secret cannot be read
        message = exc.message
        logger.warning("sync of dataflow %s failed: %s", dataflow.pk, message)
    else:
        message = _("Monitoring failed unexpectedly while reading this flow's runs.")
        logger.exception("sync of dataflow %s failed unexpectedly", dataflow.pk)
    Dataflow.objects.filter(pk=dataflow.pk).update(
        sync_failures=failures,
        sync_error=message,
        next_sync_at=timezone.now() + backoff_delay(failures),
    )
    dataflow.sync_failures, dataflow.sync_error = failures, message
