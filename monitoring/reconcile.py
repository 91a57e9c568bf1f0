"""Reconciliation: Stripe's own count of objects against what the flow's runs ingested.

Every run reads one window of Stripe's `created` time, so the honest comparison is per run
window: Stripe is asked (once, with one paged scan) for every object created in the windows of
the runs that cover the chosen days, and each object is counted against the window it falls in.
Windows are shown on the day they end; objects no run covered count on the day they were
created. A gap means Stripe has objects the runs did not ingest (failed records, failed runs,
windows never run); a negative gap means AEP holds more than Stripe lists now (e.g. objects
deleted in Stripe since).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from core import explain
from core.models import Job
from core.stripe import stripe_client
from monitoring.models import FINISHED_RUN_STATUSES, Reconciliation, Run

# A scan stops here rather than walk an enormous account; the result says it was cut short.
MAX_OBJECTS = 200_000
STRIPE_TIMEOUT_SECONDS = 30


class ReconcileError(explain.ExplainedError):
    """A failure to tell the user in plain words."""


@dataclass(frozen=True, order=True)
class Window:
    start: datetime
    end: datetime
    ingested: int
    runs: int

    @property
    def day(self) -> date:
        # A window ending at midnight belongs to the day before.
        return (self.end - timedelta(microseconds=1)).date()


def run_windows(dataflow_id: int, first: date, last: date) -> list[Window]:
    """Finished runs whose window overlaps the chosen days, one entry per distinct window.

    A re-triggered run reads the same window again, so the window counts its best run.
    """
    start, end = day_start(first), day_start(last + timedelta(days=1))
    rows = (
        Run.objects.filter(dataflow_id=dataflow_id, window_start__lt=end, window_end__gt=start)
        .filter(status__in=FINISHED_RUN_STATUSES)
        .values_list("window_start", "window_end", "output_records")
    )
    best: dict[tuple[datetime, datetime], list[int]] = {}
    for window_start, window_end, output in rows:
        if window_start is None or window_end is None:
            continue  # not reached: the filter above keeps runs with a window only
        entry = best.setdefault((window_start, window_end), [0, 0])
        entry[0] = max(entry[0], output)
        entry[1] += 1
    return sorted(Window(s, e, ingested, runs) for (s, e), (ingested, runs) in best.items())


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def stripe_created(
    client: stripe.StripeClient, resource_path: str, start: datetime, end: datetime
) -> Iterator[int]:
    """`created` of every object in [start, end), listed the way AEP's connector lists them."""
    service = getattr(client.v1, resource_path)
    params = {
        "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
        "limit": 100,
    }
    for obj in service.list(params=params).auto_paging_iter():
        yield int(obj["created"])


def compare(windows: list[Window], created: Iterator[int], first: date, last: date) -> dict:
    """The per-day table: Stripe's count, AEP's count and the gap."""
    starts = [w.start.timestamp() for w in windows]
    stripe_by_window: dict[int, int] = defaultdict(int)
    uncovered: dict[date, int] = defaultdict(int)
    scanned, truncated = 0, False
    range_start, range_end = day_start(first), day_start(last + timedelta(days=1))
    for ts in created:
        scanned += 1
        if scanned > MAX_OBJECTS:
            truncated = True
            break
        index = bisect.bisect_right(starts, ts) - 1
        if index >= 0 and ts < windows[index].end.timestamp():
            stripe_by_window[index] += 1
            continue
        moment = datetime.fromtimestamp(ts, tz=UTC)
        if range_start <= moment < range_end:
            uncovered[moment.date()] += 1
    return _table(windows, stripe_by_window, uncovered, scanned, truncated)


def _table(windows, stripe_by_window, uncovered, scanned: int, truncated: bool) -> dict:
    days: dict[date, dict] = defaultdict(
        lambda: {"stripe": 0, "aep": 0, "windows": 0, "uncovered": 0}
    )
    for index, window in enumerate(windows):
        row = days[window.day]
        row["stripe"] += stripe_by_window.get(index, 0)
        row["aep"] += window.ingested
        row["windows"] += 1
    for day, count in uncovered.items():
        days[day]["stripe"] += count
        days[day]["uncovered"] += count
    rows = [
        {"day": day.isoformat(), **row, "gap": row["stripe"] - row["aep"]}
        for day, row in sorted(days.items())
    ]
    totals = {name: sum(r[name] for r in rows) for name in ("stripe", "aep", "gap", "uncovered")}
    return {"days": rows, "totals": totals, "scanned": scanned, "truncated": truncated}


# -- the job ------------------------------------------------------------------------------


def run_job(job: Job) -> dict:
    """The check of a claimed job; a pasted key is forgotten whatever the outcome."""
    try:
        return _check(job)
    finally:
        Reconciliation.objects.filter(job=job).exclude(pasted_key="").update(pasted_key="")


def _check(job: Job) -> dict:
    recon = Reconciliation.objects.select_related("dataflow__account").get(job=job)
    api_key, source = _key_for(recon)
    dataflow = recon.dataflow
    windows = run_windows(dataflow.pk, recon.window_start, recon.window_end)
    first, last = recon.window_start, recon.window_end
    scan_start = min([day_start(first), *(w.start for w in windows)])
    scan_end = max([day_start(last + timedelta(days=1)), *(w.end for w in windows)])
    client = stripe_client(
        api_key, settings.STRIPE_API_BASE, retries=2, timeout=STRIPE_TIMEOUT_SECONDS
    )
    created = stripe_created(client, dataflow.resource_path, scan_start, scan_end)
    result = compare(windows, created, first, last)
    result.update(key=source, first=first.isoformat(), last=last.isoformat())
    return result


def _key_for(recon: Reconciliation) -> tuple[str, str]:
    """The pasted key (then forgotten) or the account's stored one; never logged or returned."""
    pasted = recon.pasted_key.reveal()
    if pasted:
        Reconciliation.objects.filter(pk=recon.pk).update(pasted_key="")
        return pasted, _("a key pasted for this check")
    account = recon.dataflow.account
    stored = account.access_token.reveal() if account else ""
    if stored:
        return stored, _("the account's stored key")
    raise ReconcileError(
        _("No Stripe key is stored for this account. Paste a key to run the check.")
    )


def explain_failure(exc: Exception) -> explain.Explanation:
    """core.jobs' explanations, and Stripe's failures in plain words."""
    if isinstance(exc, stripe.StripeError):
        return explain.Explanation(
            explain.explain_stripe_error(exc), code=str(exc.http_status or "")
        )
    return explain.explain_failure(exc)
