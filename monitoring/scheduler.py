"""One beat tick: flag late flows, then hand the flows that are due for a sync to the workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from monitoring import alerts, conf, health, rollups, throttle
from monitoring.models import Dataflow
from monitoring.sync import next_sync_delay

logger = logging.getLogger(__name__)

Dispatch = Callable[[int, float], None]


def due_flows(now: datetime, limit: int) -> list[Dataflow]:
    """Active flows whose next sync time has come, most overdue first."""
    return list(
        Dataflow.objects.filter(deleted_at=None, enabled=True, next_sync_at__lte=now)
        .order_by("next_sync_at")
        .only("pk", "frequency", "interval", "last_run_at", "sync_state")[:limit]
    )


def plan_next_syncs(now: datetime, limit: int) -> list[int]:
    """Take the due flows and set when each is due next, in one UPDATE for the whole batch.

    Planning here, not in the sync, means a sync that finds nothing new writes nothing. The
    planned time is also a lease: a sync message lost with its worker is retried then.
    """
    flows = due_flows(now, limit)
    for flow in flows:
        open_runs = len((flow.sync_state or {}).get("open", []))
        flow.next_sync_at = now + next_sync_delay(flow, open_runs, now)
    Dataflow.objects.bulk_update(flows, ["next_sync_at"])
    return [flow.pk for flow in flows]


def tick(dispatch: Dispatch, deliver: alerts.Deliver, now: datetime | None = None) -> int:
    """1. Flip flows whose freshness or schedule deadline passed to late; alert on them
       (`deliver` queues the notifications).
    2. Unless AEP asked us to pause, take at most batch/pace due flows, plan their next sync
       (which doubles as a lease: a lost message is retried then, not at once) and dispatch
       them spread over the tick (stretched by the pace): concurrency stays bounded whatever
       the number of flows.
    Returns the number of flows dispatched.
    """
    now = now or timezone.now()
    late = health.flip_late_flows(now)
    if late:
        alerts.evaluate_many(late, deliver)
    pace = throttle.recover()
    if throttle.is_paused(now.timestamp()):
        return 0
    batch = max(1, int(conf.value("MONITORING_SYNC_BATCH") / pace))
    due = plan_next_syncs(now, batch)
    if not due:
        return 0
    spread = conf.value("MONITORING_TICK_SECONDS") * pace
    for index, pk in enumerate(due):
        dispatch(pk, spread * index / len(due))
    logger.info("dispatched %d sync(s) over %.0fs (pace %.1f)", len(due), spread, pace)
    return len(due)


def housekeeping(now: datetime | None = None) -> int:
    return rollups.prune(now or timezone.now())
