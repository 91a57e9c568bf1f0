"""A flow's runs in one shape, as AEP reports them and as the mirror stores them, so that tests
against the emulator can wait until the two agree: {run id: (status, input, output, failed)};
and the sandbox totals checked against the flows' buckets they sum."""

from __future__ import annotations

from django.db.models import Sum

from aep import AEPClient
from monitoring.models import Dataflow, IngestBucket, IngestTotal, Run


def aep_runs(client: AEPClient, flow_id: str) -> dict[str, tuple]:
    return {
        r.id: (
            r.status,
            r.input_record_count or 0,
            r.output_record_count or 0,
            r.failed_record_count or 0,
        )
        for r in client.flowservice.list_runs(flow_id)
    }


def stored_runs(dataflow: Dataflow) -> dict[str, tuple]:
    return {
        r.run_id: (r.status, r.input_records, r.output_records, r.failed_records)
        for r in Run.objects.filter(dataflow=dataflow)
    }


def totals_match_buckets(sandbox, measure: str) -> bool:
    """Each sandbox total (hour and day) equals the sum of its flows' buckets in `measure`
    (`runs` or `output_records`): no run counted twice or missed."""
    for granularity in ("hour", "day"):
        buckets = dict(
            IngestBucket.objects.filter(granularity=granularity, dataflow__sandbox=sandbox)
            .values("start")
            .annotate(n=Sum(measure))
            .values_list("start", "n")
        )
        totals = dict(
            IngestTotal.objects.filter(granularity=granularity, sandbox=sandbox)
            .exclude(runs=0)
            .values_list("start", measure)
        )
        if totals != buckets:
            return False
    return True
