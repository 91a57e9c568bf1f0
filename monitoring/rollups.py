"""Hourly and daily sums of run metrics per dataflow (IngestBucket) and per sandbox
(IngestTotal), for the charts.

A flow's buckets are recomputed from its runs (so a sync can run twice without counting twice);
the change of each bucket is then added to the sandbox's total with an atomic UPDATE, so the
overview's chart reads a few dozen rows whatever the number of flows. Two updates of one flow's
buckets never interleave (they hold the flow's row lock): otherwise both would read the same
old buckets and add the same change to the total twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDay, TruncHour

from monitoring.models import Dataflow, IngestBucket, IngestTotal, Run

Granularity = IngestBucket.Granularity
STEPS = {Granularity.HOUR: timedelta(hours=1), Granularity.DAY: timedelta(days=1)}
TRUNC = {Granularity.HOUR: TruncHour, Granularity.DAY: TruncDay}
# Hourly buckets only feed the 24-hour chart; older ones are pruned.
HOURLY_RETENTION = timedelta(days=3)
BucketField = Literal["runs", "input_records", "output_records", "failed_records"]
BUCKET_FIELDS: list[BucketField] = ["runs", "input_records", "output_records", "failed_records"]
ZERO = (0, 0, 0, 0)


def bucket_start(moment: datetime, granularity: str) -> datetime:
    if granularity == Granularity.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def recompute(dataflow: Dataflow, created: Iterable[datetime]) -> None:
    """Recompute the flow's buckets that contain any of the `created` run times."""
    moments = list(created)
    if not moments:
        return
    with transaction.atomic():
        # Serialise per flow: what is read as "before" is what the previous update wrote.
        list(Dataflow.objects.select_for_update().filter(pk=dataflow.pk).values_list("pk"))
        for granularity in (Granularity.HOUR, Granularity.DAY):
            starts = {bucket_start(m, granularity) for m in moments}
            _recompute_range(dataflow, granularity, min(starts), max(starts) + STEPS[granularity])


def _recompute_range(
    dataflow: Dataflow, granularity: Granularity, start: datetime, end: datetime
) -> None:
    before = {
        row[0]: tuple(row[1:])
        for row in IngestBucket.objects.filter(
            dataflow=dataflow, granularity=granularity, start__gte=start, start__lt=end
        ).values_list("start", *BUCKET_FIELDS)
    }
    after = _sums_from_runs(dataflow, granularity, start, end)
    buckets = [
        IngestBucket(
            dataflow=dataflow,
            granularity=granularity,
            start=bucket,
            **dict(zip(BUCKET_FIELDS, values, strict=True)),
        )
        for bucket, values in after.items()
        if before.get(bucket) != values
    ]
    if not buckets:
        return
    IngestBucket.objects.bulk_create(
        buckets,
        update_conflicts=True,
        unique_fields=["dataflow", "granularity", "start"],
        update_fields=BUCKET_FIELDS,
    )
    for bucket in buckets:
        old = before.get(bucket.start, ZERO)
        new = tuple(getattr(bucket, name) for name in BUCKET_FIELDS)
        _add_to_total(dataflow.sandbox_id, granularity, bucket.start, new, old)


def _sums_from_runs(
    dataflow: Dataflow, granularity: Granularity, start: datetime, end: datetime
) -> dict[datetime, tuple[int, ...]]:
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
    return {row["bucket"]: tuple(row[name] or 0 for name in BUCKET_FIELDS) for row in rows}


def _add_to_total(sandbox_id: int, granularity: str, start: datetime, new, old) -> None:
    delta = {name: n - o for name, n, o in zip(BUCKET_FIELDS, new, old, strict=True)}
    totals = IngestTotal.objects.filter(sandbox_id=sandbox_id, granularity=granularity, start=start)
    increments = {name: F(name) + value for name, value in delta.items()}
    if totals.update(**increments):
        return
    try:
        with transaction.atomic():
            IngestTotal.objects.create(
                sandbox_id=sandbox_id, granularity=granularity, start=start, **delta
            )
    except IntegrityError:
        totals.update(**increments)  # another sync created it a moment ago


def prune(now: datetime) -> int:
    cutoff = now - HOURLY_RETENTION
    deleted, _ = IngestBucket.objects.filter(
        granularity=Granularity.HOUR, start__lt=cutoff
    ).delete()
    IngestTotal.objects.filter(granularity=Granularity.HOUR, start__lt=cutoff).delete()
    return deleted
