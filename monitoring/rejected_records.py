"""Read a sample of the records AEP rejected in a run (worker side; the page reads the Job).

The run's batch comes from its stored activities; the records come from AEP's error diagnostics
through `client.dataaccess`. Only what the page shows is kept in the Job's result: the Stripe
object id, the field, the error and a short, secret-free rendering of the offending value.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aep import quirks
from aep.dataaccess import batch_id_of
from aep.errors import NotFoundError
from aep.redaction import MASK, is_secret_key, redact
from aep.types import FailedRecord, FailedRecordSample
from core.models import Job
from monitoring.clients import client_for
from monitoring.models import Run

KIND = "monitoring.rejected_records"
SAMPLE_SIZE = 100
VALUE_CHARS = 120
# Stripe secret and restricted keys, webhook secrets and client secrets, wherever they appear.
SECRET_VALUE = re.compile(r"\b(?:sk|rk)_(?:live|test)_\w+|\bwhsec_\w+|_secret_\w+")


def target_for(run: Run) -> str:
    return f"run:{run.pk}"


def fetch(job: Job) -> dict:
    """The job's work: up to SAMPLE_SIZE rejected records of the run, as table rows."""
    run = Run.objects.select_related("dataflow__sandbox").get(pk=job.target.removeprefix("run:"))
    batch = batch_id_of(run.activities or [])
    if batch is None:
        return {"available": False, "reason": "no_batch", "message": ""}
    client = client_for(run.dataflow.sandbox)
    try:
        sample = client.dataaccess.failed_records(batch, limit=SAMPLE_SIZE)
        if not sample.available and _diagnostics_on(client, run.dataflow.flow_id):
            # A 404 alone does not mean "diagnostics off": with them on, AEP may simply have
            # no error files for a batch that rejected nothing it kept.
            sample = FailedRecordSample(batch_id=batch, available=True)
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()
    if not sample.available:
        return {"available": False, "reason": "no_diagnostics", "message": sample.message[:500]}
    # An empty listing (200, no files) is "no rejected records", shown as such.
    rows = [row for record in sample.records for row in rows_of(record)]
    return {
        "available": True,
        "batch_id": batch,
        "records": len(sample.records),
        "truncated": sample.truncated,
        "rows": rows,
    }


def _diagnostics_on(client, flow_id: str) -> bool:
    """The flow's `options.errorDiagnosticsEnabled`, which is what decides "diagnostics off"."""
    try:
        flow = client.flowservice.get_flow(flow_id)
    except NotFoundError:
        return False
    return quirks.to_bool(flow.options.get("errorDiagnosticsEnabled")) is True


def rows_of(record: FailedRecord) -> list[dict[str, Any]]:
    """One table row per error of the record (a record with no errors listed still shows)."""
    errors = record.errors or ()
    if not errors:
        return [_row(record, None, "", "")]
    return [_row(record, e.source_field or e.path, e.code, e.message, e.path) for e in errors]


def _row(
    record: FailedRecord, field: str | None, code: str, message: str, path: str | None = None
) -> dict[str, Any]:
    found, value = record.value_at(field if field and field.startswith("data.") else None)
    return {
        "record_id": (record.record_id or "")[:255],
        "field": _short(field or "", 200),
        "path": _short(path or "", 200),
        "code": _short(code, 64),
        "message": _short(_scrub(message), 500),
        "value": display_value(field, value) if found else None,
    }


def display_value(field: str | None, value: Any) -> str:
    """The value as JSON text, short, with secrets masked (by field name or by shape)."""
    if field and is_secret_key(field.rsplit(".", 1)[-1]):
        return MASK
    text = value if isinstance(value, str) else json.dumps(redact(value), default=str)
    return _short(_scrub(text), VALUE_CHARS)


def _scrub(text: str) -> str:
    return SECRET_VALUE.sub(MASK, text or "")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
