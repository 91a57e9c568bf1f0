"""Create real Stripe dataflows in AEP (the emulator) with the product's own `aep` client.

The same steps the wizard takes: base connection → source connection → class, field group and
schema → dataset → target connection → mapping set → flow. Parts that several flows may share
(base connection, schema, dataset, mapping set) are made once by `create_shared_parts`; each
`add_flow` then makes one source connection, one target connection and the flow.

    client = client_for(sandbox)   # or any AEPClient pointed at the emulator
    parts = create_shared_parts(client, stripe_key, tenant_id="stripesources")
    flow_id = add_flow(client, parts, "charges", schedule=every_minutes(15))
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aep import AEPClient, payloads
from aep.payloads import modern_mapping_set
from aep.types import Schedule
from emulators.aep.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID
from monitoring.models import Sandbox
from tests.base import make_sandbox


def emulator_sandbox(emulator_url: str, **overrides) -> Sandbox:
    """A sandbox row whose credentials and URLs reach the emulator's demo organization."""
    fields = {
        "org_id": DEMO_ORG_ID,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "sandbox_name": "dev",
        "platform_url": emulator_url,
        "ims_url": emulator_url,
    }
    return make_sandbox(**{**fields, **overrides})


# Fields every Stripe object has; enough for any of the six resource paths.
STRIPE_FIELDS = {"id": "string", "object": "string", "created": "integer", "livemode": "boolean"}
RECORD_CLASS = "https://ns.adobe.com/xdm/data/record"


@dataclass(frozen=True)
class SharedParts:
    base_connection_id: str
    schema_id: str
    dataset_id: str
    mapping_set_id: str
    mapping_version: int
    tenant_id: str


def every_minutes(minutes: int = 15, *, backfill: bool = True) -> Schedule:
    """A recurring schedule starting now (Flow Service wants at least 15 minutes)."""
    return Schedule(datetime.now(UTC), frequency="minute", interval=minutes, backfill=backfill)


def create_base_connection(client: AEPClient, stripe_key: str, name: str = "") -> str:
    created = client.flowservice.create_connection(
        payloads.base_connection(
            name=name or f"Stripe account {uuid.uuid4().hex[:6]}",
            auth_params={"accessToken": stripe_key},
        )
    )
    return created.id


def create_schema(client: AEPClient, tenant_id: str, title: str) -> str:
    """A record class, a field group with STRIPE_FIELDS under `_{tenant}.stripe`, a schema."""
    klass = client.schemas.create_class(
        {"title": f"{title} record", "type": "object", "allOf": [{"$ref": RECORD_CLASS}]}
    )
    fields = {name: {"type": kind, "title": name} for name, kind in STRIPE_FIELDS.items()}
    group = client.schemas.create_field_group(
        {
            "title": f"{title} fields",
            "type": "object",
            "meta:intendedToExtend": [klass.id],
            "definitions": {
                "stripe": {
                    "properties": {
                        f"_{tenant_id}": {
                            "type": "object",
                            "properties": {"stripe": {"type": "object", "properties": fields}},
                        }
                    }
                }
            },
            "allOf": [{"$ref": "#/definitions/stripe"}],
        }
    )
    schema = client.schemas.create_schema(
        {
            "title": f"{title} schema",
            "type": "object",
            "allOf": [{"$ref": klass.id}, {"$ref": group.id}],
        }
    )
    return schema.id


def create_shared_parts(
    client: AEPClient,
    stripe_key: str,
    *,
    tenant_id: str = "stripesources",
    base_connection_id: str | None = None,
) -> SharedParts:
    title = f"Stripe objects {uuid.uuid4().hex[:6]}"
    base = base_connection_id or create_base_connection(client, stripe_key)
    schema_id = create_schema(client, tenant_id, title)
    dataset_id = client.catalog.create_dataset(payloads.dataset(name=title, schema_id=schema_id))
    pairs = [(f"data.{name}", f"_{tenant_id}.stripe.{name}") for name in STRIPE_FIELDS]
    mapping = client.dataprep.create_mapping_set(modern_mapping_set(schema_id, pairs))
    return SharedParts(base, schema_id, dataset_id, mapping.id, mapping.version, tenant_id)


def add_flow(
    client: AEPClient,
    parts: SharedParts,
    resource_path: str = "charges",
    *,
    schedule: Schedule | None = None,
    name: str = "",
) -> str:
    """One more flow over the shared parts; returns its flow id."""
    source = client.flowservice.create_source_connection(
        payloads.source_connection(
            name=f"Stripe {resource_path}",
            base_connection_id=parts.base_connection_id,
            params={"resourcePath": resource_path},
        )
    )
    target = client.flowservice.create_target_connection(
        payloads.target_connection(
            name=f"Data lake for {resource_path}",
            dataset_id=parts.dataset_id,
            schema_id=parts.schema_id,
        )
    )
    flow = client.flowservice.create_flow(
        payloads.flow(
            name=name or f"Stripe {resource_path} {uuid.uuid4().hex[:6]}",
            source_connection_id=source.id,
            target_connection_id=target.id,
            mapping_id=parts.mapping_set_id,
            mapping_version=parts.mapping_version,
            schedule=schedule or every_minutes(),
        )
    )
    return flow.id


def create_stripe_flow(
    client: AEPClient,
    stripe_key: str,
    resource_path: str = "charges",
    *,
    schedule: Schedule | None = None,
    name: str = "",
    tenant_id: str = "stripesources",
) -> tuple[SharedParts, str]:
    """Every entity of one flow, made from scratch; returns the parts and the flow id."""
    parts = create_shared_parts(client, stripe_key, tenant_id=tenant_id)
    return parts, add_flow(client, parts, resource_path, schedule=schedule, name=name)
