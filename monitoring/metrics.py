"""Monitoring's gauges on /metrics, computed from the database at each scrape.

MonitoringConfig.ready() registers them with core.metrics, which renders them with the rest.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.metrics import Metric, Sample, register_gauges
from monitoring.models import Alert, Dataflow

SYNC_LAG = "stripe_sources_sync_lag_seconds"
ALERTS_OPEN = "stripe_sources_alerts_open"
DATAFLOWS = "stripe_sources_dataflows"

GAUGES = [
    Metric(SYNC_LAG, "gauge", "Seconds since the least recently synced active dataflow."),
    Metric(ALERTS_OPEN, "gauge", "Alerts open now."),
    Metric(DATAFLOWS, "gauge", "Dataflows not deleted, by health."),
]


def register() -> None:
    register_gauges(GAUGES, collect)


def collect() -> Iterator[Sample]:
    yield SYNC_LAG, None, round(sync_lag_seconds(), 3)
    yield ALERTS_OPEN, None, alerts_open()
    for health, count in dataflows_by_health():
        yield DATAFLOWS, {"health": health}, count


def sync_lag_seconds() -> float:
    """Seconds since the oldest last sync of an active dataflow (creation, if never synced)."""
    oldest = Dataflow.objects.filter(enabled=True, deleted_at=None).aggregate(
        oldest=Min(Coalesce("last_synced_at", "created"))
    )["oldest"]
    if oldest is None:
        return 0.0
    return max(0.0, (timezone.now() - oldest).total_seconds())


def alerts_open() -> int:
    """Alerts not yet resolved."""
    return Alert.objects.filter(resolved_at=None).count()


def dataflows_by_health() -> list[tuple[str, int]]:
    rows = (
        Dataflow.objects.filter(deleted_at=None)
        .values_list("health")
        .annotate(n=Count("pk"))
        .order_by("health")
    )
    return [(health, n) for health, n in rows]
