"""One beat tick: flag late flows, then hand the flows that are due for a sync to the workers."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from monitoring import alerts, conf, health, rollups, throttle
from monitoring.models import Dataflow
from monitoring.sync import next_sync_delay, plan_batches

logger = logging.getLogger(__name__)

# dispatch(flow pks, countdown): one sync task for a batch of flows of one sandbox.
Dispatch = Callable[[list[int], float], None]


def due_flows(now: datetime, limit: int) -> list[Dataflow]:
    """Active flows whose next sync time has come, most overdue first."""
    return list(
        Dataflow.objects.filter(deleted_at=None, enabled=True, next_sync_at__lte=now)
        .order_by("next_sync_at")
        .only(
            "pk",
            "sandbox_id",
            "flow_id",
            "frequency",
            "interval",
            "last_run_at",
            "start_time",
            "sync_cursor",
            "sync_state",
            "sync_failures",
        )[:limit]
    )


def plan_next_syncs(now: datetime, limit: int) -> list[Dataflow]:
    """Take the due flows and set when each is due next, in one UPDATE for the whole batch.

    Planning here, not in the sync, means a sync that finds nothing new writes nothing. The
    planned time is also a lease: a sync message lost with its worker is retried then. Flows
    of a sandbox AEP asked to pause are planned for the end of the pause and not returned.
    """
    flows = due_flows(now, limit)
    paused = throttle.paused_sandboxes({flow.sandbox_id for flow in flows}, now.timestamp())
    ready = []
    for flow in flows:
        if flow.sandbox_id in paused:
            resume = datetime.fromtimestamp(paused[flow.sandbox_id], tz=now.tzinfo)
            flow.next_sync_at = resume + timedelta(seconds=random.uniform(0, 5))
            continue
        open_runs = len((flow.sync_state or {}).get("open", []))
        flow.next_sync_at = now + next_sync_delay(flow, open_runs, now)
        ready.append(flow)
    Dataflow.objects.bulk_update(flows, ["next_sync_at"])
    return ready


def tick(dispatch: Dispatch, deliver: alerts.Deliver, now: datetime | None = None) -> int:
    """1. Flip flows whose freshness or schedule deadline passed to late; alert on them
       (`deliver` queues the notifications).
    2. Take at most batch/pace due flows of sandboxes not paused by AEP, plan their next sync
       (which doubles as a lease: a lost message is retried then, not at once), group them
       into batches (one runs request each: sync.plan_batches) and dispatch those spread over
       the tick (stretched by the pace): concurrency stays bounded whatever the number of
       flows, and a quiet cycle costs about one request per batch.
    Returns the number of flows dispatched.
    """
    now = now or timezone.now()
    late = health.flip_late_flows(now)
    if late:
        alerts.evaluate_many(late, deliver)
    pace = throttle.recover()
    limit = max(1, int(conf.value("MONITORING_SYNC_BATCH") / pace))
    due = plan_next_syncs(now, limit)
    if not due:
        return 0
    batches = plan_batches(due)
    spread = conf.value("MONITORING_TICK_SECONDS") * pace
    for index, batch in enumerate(batches):
        dispatch([flow.pk for flow in batch], spread * index / len(batches))
    logger.info(
        "dispatched %d sync(s) in %d batch(es) over %.0fs (pace %.1f)",
        len(due),
        len(batches),
        spread,
        pace,
    )
    return len(due)


def housekeeping(now: datetime | None = None) -> int:
    return rollups.prune(now or timezone.now())
