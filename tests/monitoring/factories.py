"""Rows and AEP-shaped run documents for monitoring tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from monitoring.models import Account, Dataflow, Run, Sandbox

_counter = itertools.count(1)

# The activities of a run whose promotion wrote batch BATCH, where AEP keeps its rejected records.
BATCH = "01BATCH0000000000000000000"
ACTIVITIES = [
    {"id": "copyActivity"},
    {
        "id": "promotionActivity",
        "targetInfo": [{"reference": {"type": "Batch", "ids": [BATCH]}}],
    },
]


def make_account(sandbox: Sandbox, **fields) -> Account:
    n = next(_counter)
    defaults = {"name": f"Stripe account {n}", "connection_id": f"conn-{uuid.uuid4()}"}
    return Account.objects.create(sandbox=sandbox, **{**defaults, **fields})


def make_dataflow(sandbox: Sandbox, **fields) -> Dataflow:
    n = next(_counter)
    defaults = {
        "flow_id": str(uuid.uuid4()),
        "name": f"Stripe charges {n}",
        "resource_path": "charges",
        "frequency": Dataflow.Frequency.MINUTE,
        "interval": 15,
        "created": timezone.now() - timedelta(days=2),
    }
    return Dataflow.objects.create(sandbox=sandbox, **{**defaults, **fields})


def make_run(dataflow: Dataflow, *, ago: timedelta = timedelta(minutes=5), **fields) -> Run:
    created = timezone.now() - ago
    defaults = {
        "run_id": str(uuid.uuid4()),
        "status": "success",
        "created_at": created,
        "started_at": created,
        "completed_at": created + timedelta(seconds=40),
        "window_start": created - timedelta(minutes=15),
        "window_end": created,
        "input_records": 10,
        "output_records": 10,
    }
    return Run.objects.create(dataflow=dataflow, **{**defaults, **fields})


def ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def run_doc(
    flow_id: str,
    *,
    created: datetime | None = None,
    status: str = "success",
    records: tuple[int, int, int] = (10, 10, 0),
    errors: list[dict] | None = None,
    run_id: str | None = None,
    etag: str | None = None,
    window_minutes: int = 15,
) -> dict[str, Any]:
    """One run as GET /runs returns it (docs/aep-api-notes.md §3.1, trimmed)."""
    created = created or datetime.now(UTC)
    started = created + timedelta(seconds=1)
    read, ingested, failed = records
    duration: dict[str, Any] = {"startedAtUTC": ms(started)}
    if status not in ("inProgress", "scheduled"):
        duration["completedAtUTC"] = ms(started + timedelta(seconds=30))
    return {
        "id": run_id or str(uuid.uuid4()),
        "flowId": flow_id,
        "createdAt": ms(created),
        "updatedAt": ms(created + timedelta(seconds=31)),
        "etag": etag or f'"{uuid.uuid4()}"',
        "metrics": {
            "durationSummary": duration,
            "sizeSummary": {"inputBytes": read * 100, "outputBytes": ingested * 90},
            "recordSummary": {
                "inputRecordCount": read,
                "outputRecordCount": ingested,
                "failedRecordCount": failed,
            },
            "statusSummary": {"status": status, "errors": errors or []},
        },
        "activities": [
            {
                "id": "copyActivity",
                "durationSummary": {
                    "startedAtUTC": ms(started),
                    "extensions": {
                        "windowStart": ms(created - timedelta(minutes=window_minutes)),
                        "windowEnd": ms(created),
                    },
                },
                "statusSummary": {"status": status},
            }
        ],
    }
