"""Keep dataflows' runs and health in step with AEP, many flows per request.

A sync polls a batch of flows of one sandbox with one listing, `property=flowId==a,b,c` (Flow
Service's comma-separated OR, docs/aep-api-notes.md "Filtering"), for runs created at or after
the oldest of their cursors, oldest first. Each flow keeps its own cursor: the creation time of
its newest stored run. Of each page, a flow takes its runs created at or after its own cursor
(and its runs still in progress), and stores them with their chart buckets in one transaction
before the next page is read. Each flow's stored runs therefore always form a prefix of its
list in AEP, so a sync cut short by a fault resumes where it stopped: nothing is skipped, and
the upsert on `run_id` means nothing is stored twice. A flow's newest stored run comes back in
every answer (the filter is `>=`), which also re-polls it while it is in progress; older runs
still in progress are fetched by id (`property=id==…`, for the whole batch at once). A quiet
batch costs one request, however many flows it holds.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from aep import RateLimitError, quirks
from aep.errors import AEPError
from aep.flowservice import FlowServiceClient
from aep.types import Run as ApiRun
from core import metrics
from core.explain import ExplainedError, explain_aep_error
from monitoring import conf, health, rollups, throttle
from monitoring.clients import cached_sandbox, pooled_client_for
from monitoring.models import FINISHED_RUN_STATUSES, Dataflow, Run

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


def _signature_of(run: ApiRun) -> str:
    return signature(run.status or "", run.etag or "", run.updated_at)


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
        open_ids = runs.exclude(status__in=FINISHED_RUN_STATUSES).values_list("run_id", flat=True)
        return cls(newest, edge, set(open_ids))

    def advance(self, runs: Iterable[ApiRun], now: datetime) -> None:
        for run in runs:
            if not quirks.run_is_finished(run.status):
                self.open.add(run.id)
            else:
                self.open.discard(run.id)
            created = created_of(run, now)
            mark = _signature_of(run)
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
    runs = [r for r in runs if known.get(r.id) != _signature_of(r)]
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
        for row in rows:
            if row.status and not quirks.is_known_run_status(row.status):
                _note_unknown_status(row)
    return [row.created_at for row in rows]


# Unknown statuses already logged by this process: each is logged once, counted every time.
_UNKNOWN_STATUSES_LOGGED: set[str] = set()


def _note_unknown_status(row: Run) -> None:
    """A status outside Flow Service's documented set: the run stays open and is polled again."""
    status = row.status[:64]
    metrics.record_unknown_run_status(status)
    if status not in _UNKNOWN_STATUSES_LOGGED:
        _UNKNOWN_STATUSES_LOGGED.add(status)
        logger.warning(
            "AEP reported run status %r (run %s), which is not documented; the run is kept "
            "open and polled until it reports success, failed, partialSuccess or cancelled",
            status,
            row.run_id,
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


# -- batches -------------------------------------------------------------------------------

# How long the query string of one batched runs request may be, in characters once encoded.
# Adobe publishes no URL length limit for Flow Service (neither the sort-and-filter guide, the
# API reference, nor its error table name one); RFC 9110 §4.1 recommends that every recipient
# accept URIs of at least 8,000 octets. Later pages repeat the query with a continuation token,
# which may be as long again (the emulator's encodes the whole query, 4/3 of its length), so
# the first request keeps to 3,000 characters and every page's query string to under 8 KB.
# With flow ids of 36 characters (39 encoded with their comma) that is 74 flows per request.
RUNS_QUERY_BUDGET = 3000
# The request starts at the oldest cursor of its flows, so flows whose cursors are far apart go
# to separate requests: one old cursor would otherwise make the others re-read their history.
BATCH_CURSOR_SPAN = timedelta(hours=6)
_NO_RENEWAL: Callable[[], None] = lambda: None  # noqa: E731


def runs_query(flow_ids: Sequence[str], since: datetime | None, page_size: int) -> list:
    """The query parameters of one batched runs request (FlowServiceClient.list_runs)."""
    params: list[tuple[str, Any]] = [("property", f"flowId=={','.join(flow_ids)}")]
    if since is not None:
        params.append(("property", f"createdAt>={to_epoch_ms(since)}"))
    return [*params, ("orderby", "createdAt"), ("limit", page_size)]


def _query_length(flow_ids: Sequence[str], since: datetime | None, page_size: int) -> int:
    return len(urlencode(runs_query(flow_ids, since, page_size)))


def plan_batches(flows: Iterable[Dataflow]) -> list[list[Dataflow]]:
    """Flows grouped into runs requests: one sandbox each, cursors close together, queries
    within RUNS_QUERY_BUDGET. A flow whose last sync failed goes alone, so that a flow AEP
    chokes on cannot hold back the others."""
    by_sandbox: dict[int, list[Dataflow]] = {}
    for flow in flows:
        by_sandbox.setdefault(flow.sandbox_id, []).append(flow)
    size = conf.value("MONITORING_RUNS_PAGE_SIZE")
    batches: list[list[Dataflow]] = []
    for group in by_sandbox.values():
        group.sort(key=lambda f: (f.sync_cursor is not None, f.sync_cursor or timezone.now()))
        batch: list[Dataflow] = []
        ids: list[str] = []
        for flow in group:
            if flow.sync_failures:
                batches.append([flow])
                continue
            if batch and not _fits(batch[0], flow, [*ids, flow.flow_id], size):
                batches.append(batch)
                batch, ids = [], []
            batch.append(flow)
            ids.append(flow.flow_id)
        if batch:
            batches.append(batch)
    return batches


def _fits(first: Dataflow, flow: Dataflow, ids: list[str], size: int) -> bool:
    if (first.sync_cursor is None) != (flow.sync_cursor is None):
        return False
    cursors = (first.sync_cursor, flow.sync_cursor)
    if cursors[0] and cursors[1] and cursors[1] - cursors[0] > BATCH_CURSOR_SPAN:
        return False
    return _query_length(ids, first.sync_cursor, size) <= RUNS_QUERY_BUDGET


# -- one batch's runs ------------------------------------------------------------------------


class FlowRuns:
    """One flow's part of a batched sync: its cursor, the runs it takes, what it wrote."""

    def __init__(self, dataflow: Dataflow) -> None:
        self.dataflow = dataflow
        self.state = SyncState.load(dataflow)
        self.result = SyncResult(self.state)
        self.since = self.state.cursor
        self.known = dict(self.state.edge)
        self.open_before = set(self.state.open)
        self.seen: set[str] = set()

    def wants(self, run: ApiRun, now: datetime) -> bool:
        """Runs from its own cursor on, and its runs still in progress; older ones are stored."""
        if self.since is None or run.id in self.open_before:
            return True
        return created_of(run, now) >= self.since

    def take(self, runs: Sequence[ApiRun], now: datetime) -> None:
        """Store the runs and their chart buckets together: a sync killed between the two would
        otherwise leave runs that no later sync counts (they are unchanged when read again)."""
        runs = [run for run in runs if self.wants(run, now)]
        if not runs:
            return
        self.seen.update(run.id for run in runs)
        self.result.fetched += len(runs)
        if any(self.known.get(run.id) != _signature_of(run) for run in runs):
            with transaction.atomic():
                created = upsert_runs(self.dataflow, runs, now, self.known)
                rollups.recompute(self.dataflow, created)
            self.result.changed_created += created
        self.state.advance(runs, now)

    def finish(self) -> SyncResult:
        self.result.stored = len(self.result.changed_created)
        self.result.open_runs = len(self.state.open)
        return self.result


def sync_runs(
    dataflows: Sequence[Dataflow],
    flowservice: FlowServiceClient,
    renew: Callable[[], None] = _NO_RENEWAL,
) -> dict[int, SyncResult]:
    """Fetch and store the new runs of flows of one sandbox, and the end of their open runs.

    1. One listing for every flow, from the oldest cursor on, oldest first; each page is
       stored flow by flow, each flow taking what lies past its own cursor.
    2. Fetch by id the runs still in progress that step 1 did not return.
    `renew` is called after every page (the sync's locks). Returns each flow's result; the
    states in them are for the caller to save once every page is stored.
    """
    now = timezone.now()
    flows = {flow.flow_id: FlowRuns(flow) for flow in dataflows}
    cursors = [f.since for f in flows.values()]
    since = None if None in cursors else min(c for c in cursors if c is not None)
    size = conf.value("MONITORING_RUNS_PAGE_SIZE")
    properties = [f"createdAt>={to_epoch_ms(since)}"] if since else []
    # A lone flow also takes runs that carry no flowId (only its own can be in the answer).
    lone = next(iter(flows.values())) if len(flows) == 1 else None
    listing = flowservice.list_runs(
        list(flows), properties=properties, orderby="createdAt", limit=size
    )
    for page in _pages(listing, size):
        for flow_id, runs in _by_flow(page).items():
            target = flows.get(flow_id) if flow_id else lone
            if target is not None:
                target.take(runs, now)
        renew()
    open_left = {run_id: f for f in flows.values() for run_id in f.open_before - f.seen}
    for chunk in _chunks(sorted(open_left), OPEN_RUN_CHUNK):
        runs = list(flowservice.list_runs(properties=[f"id=={','.join(chunk)}"]))
        for run in runs:
            owner = open_left.get(run.id)
            if owner is not None and run.flow_id in (None, owner.dataflow.flow_id):
                owner.take([run], now)
        renew()
    return {f.dataflow.pk: f.finish() for f in flows.values()}


def _by_flow(page: Sequence[ApiRun]) -> dict[str | None, list[ApiRun]]:
    grouped: dict[str | None, list[ApiRun]] = {}
    for run in page:
        grouped.setdefault(run.flow_id, []).append(run)
    return grouped


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- scheduling the next sync -------------------------------------------------------------

# A flow waiting for its first run is polled this long after its startTime, then at the
# shortest interval for FIRST_RUN_WATCH, as AEP may start the run a little late.
FIRST_RUN_GRACE = timedelta(seconds=30)
FIRST_RUN_WATCH = timedelta(hours=1)


def _jitter(delay: timedelta) -> timedelta:
    # Spread flows that were created together, so their syncs do not stay in lockstep.
    return delay * random.uniform(0.9, 1.1)


def next_sync_delay(dataflow: Dataflow, open_runs: int, now: datetime) -> timedelta:
    """Soon while a run is in progress; shortly after the startTime of a flow that has not run
    yet; otherwise just after the next scheduled run."""
    minimum = conf.seconds("MONITORING_SYNC_MIN_SECONDS")
    maximum = conf.seconds("MONITORING_SYNC_MAX_SECONDS")
    if open_runs:
        return _jitter(conf.seconds("MONITORING_OPEN_RUN_SECONDS"))
    first_run = _first_run_due(dataflow, now)
    if first_run is not None:
        # Never early: the jitter only adds, so the poll does not land before the run.
        return min(maximum, max(minimum, first_run - now)) * random.uniform(1.0, 1.1)
    delay = maximum
    period = dataflow.schedule_period
    if period is not None and dataflow.last_run_at is not None:
        expected = dataflow.last_run_at + period + timedelta(seconds=30)
        if expected > now:
            delay = min(delay, expected - now)
    return _jitter(max(minimum, delay))


def _first_run_due(dataflow: Dataflow, now: datetime) -> datetime | None:
    """When a flow that has no run yet should be polled for its first one (None: it has run,
    or its start is long past and it is polled as any quiet flow)."""
    start = dataflow.start_time
    if dataflow.last_run_at is not None or start is None:
        return None
    due = start + FIRST_RUN_GRACE
    if now - due > FIRST_RUN_WATCH:
        return None
    return max(due, now)


def backoff_delay(failures: int) -> timedelta:
    base = conf.value("MONITORING_BACKOFF_BASE_SECONDS")
    cap = conf.value("MONITORING_BACKOFF_MAX_SECONDS")
    return _jitter(timedelta(seconds=min(cap, base * 2 ** max(0, failures - 1))))


# -- syncs, as the task runs them ----------------------------------------------------------


@dataclass
class Outcome:
    status: str  # "synced" | "throttled" | "failed" | "skipped"
    result: SyncResult | None = None
    health_changed: bool = False


# Every column a quiet sync reads, and the sandbox's version for the cached client. This runs
# for every active flow all day long, so it is one plain statement for the whole batch rather
# than an ORM query (whose compilation alone would cost more than the statement).
SYNC_ROWS_SQL = """
SELECT d."id", d."sandbox_id", d."flow_id", d."sync_cursor", d."sync_state", d."health",
       d."health_at", d."frequency", d."interval", d."last_run_at", d."start_time",
       d."sync_failures", d."last_synced_at", s."updated" AS sandbox_version
FROM "monitoring_dataflow" d JOIN "monitoring_sandbox" s ON s."id" = d."sandbox_id"
WHERE d."id" IN ({}) AND d."deleted_at" IS NULL
ORDER BY d."id"
"""
# A sync that found nothing new writes nothing, but "last synced" is kept this fresh.
LAST_SYNCED_PRECISION = timedelta(minutes=5)


def load_for_sync(dataflow_pks: Sequence[int]) -> list[Dataflow]:
    """The flows with just the columns a sync needs (others are deferred), and their sandbox."""
    if not dataflow_pks:
        return []
    sql = SYNC_ROWS_SQL.format(", ".join(["%s"] * len(dataflow_pks)))
    flows = list(Dataflow.objects.raw(sql, list(dataflow_pks)))
    for dataflow in flows:
        # sandbox_version is a column of SYNC_ROWS_SQL, not a field of the model.
        version = dataflow.sandbox_version  # type: ignore[attr-defined]
        dataflow.sandbox = cached_sandbox(dataflow.sandbox_id, version)
    return flows


def run_syncs(dataflow_pks: Sequence[int], client_factory=pooled_client_for) -> dict[int, Outcome]:
    """Sync these flows, batched per sandbox, and record how each went; never raises for AEP or
    unexpected failures. Flows deleted meanwhile, or being synced by another worker, are
    skipped."""
    outcomes = {pk: Outcome("skipped") for pk in dataflow_pks}
    for batch in plan_batches(load_for_sync(dataflow_pks)):
        outcomes.update(_sync_batch(batch, client_factory))
    return outcomes


def run_sync(dataflow_pk: int, client_factory=pooled_client_for) -> Outcome:
    """Sync one flow (a batch of one)."""
    return run_syncs([dataflow_pk], client_factory)[dataflow_pk]


def _sync_batch(flows: list[Dataflow], client_factory) -> dict[int, Outcome]:
    lease = conf.value("MONITORING_SYNC_LEASE_SECONDS")
    sandbox_pk = flows[0].sandbox_id
    with throttle.sync_slots([f.pk for f in flows], lease, sandbox_pk) as (paused, held, renew):
        if paused > time.time():
            _reschedule(held, timezone.now() + _jitter(_pause_left(sandbox_pk)))
            return {pk: Outcome("throttled") for pk in held}
        # Flows another worker is syncing right now stay "skipped".
        mine = [flow for flow in flows if flow.pk in held]
        return _sync_locked(mine, client_factory, renew) if mine else {}


def _pause_left(sandbox_pk: int) -> timedelta:
    left = throttle.paused_until(sandbox_pk) - timezone.now().timestamp()
    return timedelta(seconds=max(1.0, left))


def _sync_locked(flows: list[Dataflow], client_factory, renew) -> dict[int, Outcome]:
    sandbox_pk = flows[0].sandbox_id
    try:
        results = sync_runs(flows, client_factory(flows[0].sandbox).flowservice, renew)
    except RateLimitError as exc:
        # The platform wants this sandbox polled slower: pause it, fail no one.
        metrics.record_aep_error(exc.code)
        until = throttle.slow_down(exc.retry_after, sandbox_pk)
        _reschedule({f.pk for f in flows}, timezone.now() + _jitter(_pause_left(sandbox_pk)))
        logger.info("AEP rate-limited the poller; sandbox %s paused until %s", sandbox_pk, until)
        return {flow.pk: Outcome("throttled") for flow in flows}
    except Exception as exc:
        for flow in flows:
            _back_off(flow, exc)
        return {flow.pk: Outcome("failed") for flow in flows}
    return {flow.pk: _finish_flow(flow, results[flow.pk]) for flow in flows}


def _finish_flow(dataflow: Dataflow, result: SyncResult) -> Outcome:
    before = dataflow.health
    now = timezone.now()
    if result.changed or dataflow.health_at is None or now - dataflow.health_at > HEALTH_MAX_AGE:
        dataflow = Dataflow.objects.select_related("sandbox").get(pk=dataflow.pk)
        health.refresh_health(dataflow, now)
    _record_success(dataflow, result, now)
    return Outcome("synced", result, health_changed=dataflow.health != before)


def _reschedule(dataflow_pks: set[int], at: datetime) -> None:
    if dataflow_pks:
        Dataflow.objects.filter(pk__in=dataflow_pks).update(next_sync_at=at)


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
