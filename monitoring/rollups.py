"""Hourly and daily sums of run metrics per dataflow (IngestBucket), for the charts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDay, TruncHour

from monitoring.models import Dataflow, IngestBucket, Run

Granularity = IngestBucket.Granularity
STEPS = {Granularity.HOUR: timedelta(hours=1), Granularity.DAY: timedelta(days=1)}
TRUNC = {Granularity.HOUR: TruncHour, Granularity.DAY: TruncDay}
# Hourly buckets only feed the 24-hour chart; older ones are pruned.
HOURLY_RETENTION = timedelta(days=3)
BUCKET_FIELDS = ["runs", "input_records", "output_records", "failed_records"]


def bucket_start(moment: datetime, granularity: str) -> datetime:
    if granularity == Granularity.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def recompute(dataflow: Dataflow, created: Iterable[datetime]) -> None:
    """Recompute the flow's buckets that contain any of the `created` run times."""
    moments = list(created)
    if not moments:
        return
    for granularity in (Granularity.HOUR, Granularity.DAY):
        starts = {bucket_start(m, granularity) for m in moments}
        _recompute_range(dataflow, granularity, min(starts), max(starts) + STEPS[granularity])


def _recompute_range(dataflow: Dataflow, granularity: str, start: datetime, end: datetime) -> None:
    rows = (
        Run.objects.filter(dataflow=dataflow, created_at__gte=start, created_at__lt=end)
        .annotate(bucket=TRUNC[granularity]("created_at"))
        .values("bucket")
        .annotate(
            runs=Count("id"),
            input_records=Sum("input_records"),
            output_records=Sum("output_records"),
            failed_records=Sum("failed_records"),
        )
    )
    buckets = [
        IngestBucket(
            dataflow=dataflow,
            granularity=granularity,
            start=row["bucket"],
            **{name: row[name] or 0 for name in BUCKET_FIELDS},
        )
        for row in rows
    ]
    if buckets:
        IngestBucket.objects.bulk_create(
            buckets,
            update_conflicts=True,
            unique_fields=["dataflow", "granularity", "start"],
            update_fields=BUCKET_FIELDS,
        )


def prune(now: datetime) -> int:
    deleted, _ = IngestBucket.objects.filter(
        granularity=Granularity.HOUR, start__lt=now - HOURLY_RETENTION
    ).delete()
    return deleted
