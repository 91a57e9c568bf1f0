"""A real Stripe charges flow whose mapping rejects some records, run once on the emulator.

The mapping feeds `data.failure_code` into the integer field `created`: only declined charges
have a failure code, so they alone fail (`MAPPER-3700-400`) and the run ends partialSuccess.

    flow_id, run = run_rejecting_flow(client, emulator_url, stripe_key, diagnostics=True)
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import requests

from aep import AEPClient, payloads
from aep.payloads import modern_mapping_set
from aep.types import Schedule
from tests.monitoring.aep_factory import STRIPE_FIELDS, SharedParts, create_shared_parts

FAILING_SOURCE = "data.failure_code"


def failing_field(tenant_id: str = "stripesources") -> str:
    return f"_{tenant_id}.stripe.created"


def create_rejecting_parts(client: AEPClient, stripe_key: str) -> SharedParts:
    parts = create_shared_parts(client, stripe_key)
    pairs = [
        (
            FAILING_SOURCE if name == "created" else f"data.{name}",
            f"_{parts.tenant_id}.stripe.{name}",
        )
        for name in STRIPE_FIELDS
    ]
    mapping = client.dataprep.create_mapping_set(modern_mapping_set(parts.schema_id, pairs))
    return dataclasses.replace(parts, mapping_set_id=mapping.id, mapping_version=mapping.version)


def create_rejecting_flow(
    client: AEPClient, stripe_key: str, *, diagnostics: bool, name: str = ""
) -> str:
    """The flow, scheduled a day ahead so that only runs started by hand happen."""
    parts = create_rejecting_parts(client, stripe_key)
    source = client.flowservice.create_source_connection(
        payloads.source_connection(
            name="Stripe charges",
            base_connection_id=parts.base_connection_id,
            params={"resourcePath": "charges"},
        )
    )
    target = client.flowservice.create_target_connection(
        payloads.target_connection(
            name="Data lake for charges", dataset_id=parts.dataset_id, schema_id=parts.schema_id
        )
    )
    flow = client.flowservice.create_flow(
        payloads.flow(
            name=name or f"Rejecting charges {uuid.uuid4().hex[:6]}",
            source_connection_id=source.id,
            target_connection_id=target.id,
            mapping_id=parts.mapping_set_id,
            mapping_version=parts.mapping_version,
            schedule=Schedule(datetime.now(UTC) + timedelta(days=1), "day", 1, backfill=True),
            options={"errorDiagnosticsEnabled": True} if diagnostics else None,
        )
    )
    return flow.id


def run_now(emulator_url: str, flow_id: str) -> dict:
    """Run the flow's window up to now on the emulator; the finished run document."""
    answer = requests.post(f"{emulator_url}/__emulator__/flows/{flow_id}/run-now", timeout=60)
    answer.raise_for_status()
    return answer.json()


def run_rejecting_flow(
    client: AEPClient, emulator_url: str, stripe_key: str, *, diagnostics: bool
) -> tuple[str, dict]:
    flow_id = create_rejecting_flow(client, stripe_key, diagnostics=diagnostics)
    run = run_now(emulator_url, flow_id)
    return flow_id, run
