"""One beat tick: flag late flows, then hand the flows that are due for a sync to the workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from monitoring import alerts, conf, health, poller, rollups
from monitoring.models import Dataflow

logger = logging.getLogger(__name__)

Dispatch = Callable[[int, float], None]


def due_flow_ids(now: datetime, limit: int) -> list[int]:
    """Active flows whose next sync time has come, most overdue first."""
    return list(
        Dataflow.objects.filter(deleted_at=None, enabled=True, next_sync_at__lte=now)
        .order_by("next_sync_at")
        .values_list("pk", flat=True)[:limit]
    )


def tick(dispatch: Dispatch, now: datetime | None = None) -> int:
    """1. Flip flows whose freshness or schedule deadline passed to late; alert on them.
    2. Unless AEP asked us to pause, take at most batch/pace due flows, lease them (so a lost
       message is retried after the lease, not at once) and dispatch them spread over the tick
       (stretched by the pace): concurrency stays bounded whatever the number of flows.
    Returns the number of flows dispatched.
    """
    now = now or timezone.now()
    late = health.flip_late_flows(now)
    if late:
        alerts.evaluate_many(late)
    pace = poller.recover()
    if poller.is_paused(now.timestamp()):
        return 0
    batch = max(1, int(conf.value("MONITORING_SYNC_BATCH") / pace))
    due = due_flow_ids(now, batch)
    if not due:
        return 0
    Dataflow.objects.filter(pk__in=due).update(
        next_sync_at=now + conf.seconds("MONITORING_SYNC_LEASE_SECONDS")
    )
    spread = conf.value("MONITORING_TICK_SECONDS") * pace
    for index, pk in enumerate(due):
        dispatch(pk, spread * index / len(due))
    logger.info("dispatched %d sync(s) over %.0fs (pace %.1f)", len(due), spread, pace)
    return len(due)


def housekeeping(now: datetime | None = None) -> int:
    return rollups.prune(now or timezone.now())
