"""A flow's runs in one shape, as AEP reports them and as the mirror stores them, so that tests
against the emulator can wait until the two agree: {run id: (status, input, output, failed)}."""

from __future__ import annotations

from aep import AEPClient
from monitoring.models import Dataflow, Run


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
