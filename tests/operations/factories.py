"""Mirror rows for operations tests: an account with dataflows and runs, no AEP needed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from monitoring.models import Account, Dataflow, Run, Sandbox

PLATFORM = "http://aep.invalid"
FLOWSERVICE = f"{PLATFORM}/data/foundation/flowservice"
DATAPREP = f"{PLATFORM}/data/foundation/conversion"
CATALOG = f"{PLATFORM}/data/foundation/catalog"
TOKEN_URL = f"{PLATFORM}/ims/token/v3"


def make_account(sandbox: Sandbox, **overrides) -> Account:
    fields = {
        "name": "Acme Stripe",
        "description": "Acme's live account",
        "connection_id": f"conn-{uuid.uuid4().hex[:8]}",
        "etag": '"etag-conn-1"',
        "token_last4": "0001",
        "key_kind": "secret",
        **overrides,
    }
    return Account.objects.create(sandbox=sandbox, **fields)


def make_dataflow(account: Account, resource_path: str = "charges", **overrides) -> Dataflow:
    suffix = uuid.uuid4().hex[:8]
    fields = {
        "name": f"Stripe {resource_path}",
        "flow_id": f"flow-{suffix}",
        "resource_path": resource_path,
        "source_connection_id": f"src-{suffix}",
        "target_connection_id": f"tgt-{suffix}",
        "dataset_id": f"ds-{suffix}",
        "schema_id": "https://ns.adobe.com/acme/schemas/charges",
        "mapping_set_id": f"map-{suffix}",
        "mapping_version": "0",
        "frequency": Dataflow.Frequency.HOUR,
        "interval": 1,
        "etag": '"etag-flow-1"',
        **overrides,
    }
    return Dataflow.objects.create(sandbox=account.sandbox, account=account, **fields)


def make_run(dataflow: Dataflow, status: str = "failed", hours_ago: float = 1, **overrides) -> Run:
    end = timezone.now() - timedelta(hours=hours_ago)
    fields = {
        "run_id": f"run-{uuid.uuid4().hex[:8]}",
        "status": status,
        "created_at": end,
        "started_at": end,
        "completed_at": end + timedelta(minutes=1),
        "window_start": end - timedelta(hours=1),
        "window_end": end,
        **overrides,
    }
    return Run.objects.create(dataflow=dataflow, **fields)
