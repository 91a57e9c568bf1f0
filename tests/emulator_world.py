"""Real objects in the AEP emulator, created with the product's own `aep` client.

The same steps the wizard takes: base connection → source connection → class, field group and
schema → dataset → target connection → mapping set → flow. Each test builds what it needs with
unique names, so tests sharing the session emulator never touch each other's objects.

AEP's side only: parts that several flows may share (base connection, schema, dataset, mapping
set) are made once by `create_shared_parts`; each `add_flow` then makes one source connection,
one target connection and the flow.

    sandbox = emulator_sandbox(aep_emulator.url)
    client = client_for(sandbox)   # or any AEPClient pointed at the emulator
    parts = create_shared_parts(client, stripe_key, tenant_id="stripesources")
    flow_id = add_flow(client, parts, "charges", schedule=every_minutes(15))

AEP's side and the product's rows: `AEPWorld` has a sandbox of its own, makes accounts and
dataflows in AEP and stores them as the product would, and reads runs back.

    world = AEPWorld(aep_emulator.url)
    dataflow = world.dataflow(world.account(), "charges")

A flow whose mapping rejects some records: `run_rejecting_flow`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from aep import AEPClient, MemoryTokenCache, payloads
from aep.payloads import modern_mapping_set
from aep.types import Run as ApiRun
from aep.types import Schedule
from emulators.aep.testing import (
    CHARGE_FIELDS,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_ORG_ID,
    DEMO_TENANT_ID,
    PlatformSession,
)
from monitoring.clients import config_for
from monitoring.models import Account, Dataflow, Run, Sandbox
from tests.base import make_sandbox

# Keys the Stripe stand-in knows.
DEMO_KEY = "sk_test_demo_stripe_sources_0001"
READONLY_KEY = "rk_test_demo_readonly_0001"  # charges, customers and refunds only

# Fields every Stripe object has; enough for any of the six resource paths.
STRIPE_FIELDS = {"id": "string", "object": "string", "created": "integer", "livemode": "boolean"}
RECORD_CLASS = "https://ns.adobe.com/xdm/data/record"


def emulator_sandbox(emulator_url: str, **overrides: Any) -> Sandbox:
    """A sandbox row whose credentials and URLs reach the emulator's demo organization.

    Its AEP sandbox is `prod` unless `sandbox_name` says otherwise; a test that lists every
    flow of its sandbox picks one no other test fills (`dev`).
    """
    fields = {
        "org_id": DEMO_ORG_ID,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "sandbox_name": "prod",
        "platform_url": emulator_url,
        "ims_url": emulator_url,
        **overrides,
    }
    fields.setdefault("display_name", f"Emulator {fields['sandbox_name']}")
    return make_sandbox(**fields)


# -- the emulator's own controls (/__emulator__/, not AEP's API) ---------------------------------


def emulator_state(emulator_url: str) -> dict:
    """What the emulator holds: entity counts by organization and AEP sandbox."""
    return requests.get(f"{emulator_url}/__emulator__/state", timeout=10).json()


def inject(emulator_url: str, **fault: Any) -> None:
    """Make matching requests fail, e.g. `inject(url, method="POST", path=…, kind="500")`."""
    answer = requests.post(f"{emulator_url}/__emulator__/faults", json=fault, timeout=10)
    answer.raise_for_status()


def clear_faults(emulator_url: str) -> None:
    requests.delete(f"{emulator_url}/__emulator__/faults", timeout=10).raise_for_status()


def run_now(emulator_url: str, flow_id: str) -> dict:
    """Run the flow's window up to now on the emulator; the finished run document."""
    answer = requests.post(f"{emulator_url}/__emulator__/flows/{flow_id}/run-now", timeout=60)
    answer.raise_for_status()
    return answer.json()


# -- AEP's side ----------------------------------------------------------------------------------


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


def create_schema(
    client: AEPClient,
    tenant_id: str,
    title: str,
    *,
    group: str = "stripe",
    fields: Mapping[str, str] = STRIPE_FIELDS,
) -> str:
    """A record class, a field group with `fields` under `_{tenant}.{group}`, a schema."""
    klass = client.schemas.create_class(
        {"title": f"{title} record", "type": "object", "allOf": [{"$ref": RECORD_CLASS}]}
    )
    properties = {name: {"type": kind, "title": name} for name, kind in fields.items()}
    field_group = client.schemas.create_field_group(
        {
            "title": f"{title} fields",
            "type": "object",
            "meta:intendedToExtend": [klass.id],
            "definitions": {
                group: {
                    "properties": {
                        f"_{tenant_id}": {
                            "type": "object",
                            "properties": {group: {"type": "object", "properties": properties}},
                        }
                    }
                }
            },
            "allOf": [{"$ref": f"#/definitions/{group}"}],
        }
    )
    schema = client.schemas.create_schema(
        {
            "title": f"{title} schema",
            "type": "object",
            "allOf": [{"$ref": klass.id}, {"$ref": field_group.id}],
        }
    )
    return schema.id


def copy_fields(
    schema_id: str, fields: Iterable[str], *, tenant_id: str, group: str = "stripe"
) -> dict[str, Any]:
    """A mapping set body copying each Stripe field `data.<name>` to `_{tenant}.{group}.<name>`."""
    pairs = [(f"data.{name}", f"_{tenant_id}.{group}.{name}") for name in fields]
    return modern_mapping_set(schema_id, pairs)


def create_shared_parts(
    client: AEPClient,
    stripe_key: str,
    *,
    tenant_id: str = DEMO_TENANT_ID,
    base_connection_id: str | None = None,
) -> SharedParts:
    """A base connection (unless given), a schema of STRIPE_FIELDS, its dataset and a mapping
    set copying every field."""
    title = f"Stripe objects {uuid.uuid4().hex[:6]}"
    base = base_connection_id or create_base_connection(client, stripe_key)
    schema_id = create_schema(client, tenant_id, title)
    dataset_id = client.catalog.create_dataset(payloads.dataset(name=title, schema_id=schema_id))
    mapping = client.dataprep.create_mapping_set(
        copy_fields(schema_id, STRIPE_FIELDS, tenant_id=tenant_id)
    )
    return SharedParts(base, schema_id, dataset_id, mapping.id, mapping.version, tenant_id)


def add_flow(
    client: AEPClient,
    parts: SharedParts,
    resource_path: str = "charges",
    *,
    schedule: Schedule | None = None,
    name: str = "",
    options: dict[str, Any] | None = None,
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
            options=options,
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
    tenant_id: str = DEMO_TENANT_ID,
) -> tuple[SharedParts, str]:
    """Every entity of one flow, made from scratch; returns the parts and the flow id."""
    parts = create_shared_parts(client, stripe_key, tenant_id=tenant_id)
    return parts, add_flow(client, parts, resource_path, schedule=schedule, name=name)


# -- a flow whose mapping rejects some records ---------------------------------------------------
#
# The mapping feeds `data.failure_code` into the integer field `created`: only declined charges
# have a failure code, so they alone fail (`MAPPER-3700-400`) and the run ends partialSuccess.
#
#     flow_id, run = run_rejecting_flow(client, emulator_url, stripe_key, diagnostics=True)

FAILING_SOURCE = "data.failure_code"


def failing_field(tenant_id: str = DEMO_TENANT_ID) -> str:
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
    """The charges flow, scheduled a day ahead so that only runs started by hand happen."""
    return add_flow(
        client,
        create_rejecting_parts(client, stripe_key),
        "charges",
        schedule=Schedule(datetime.now(UTC) + timedelta(days=1), "day", 1, backfill=True),
        name=name or f"Rejecting charges {uuid.uuid4().hex[:6]}",
        options={"errorDiagnosticsEnabled": True} if diagnostics else None,
    )


def run_rejecting_flow(
    client: AEPClient, emulator_url: str, stripe_key: str, *, diagnostics: bool
) -> tuple[str, dict]:
    flow_id = create_rejecting_flow(client, stripe_key, diagnostics=diagnostics)
    run = run_now(emulator_url, flow_id)
    return flow_id, run


# -- AEP's side and the product's rows -----------------------------------------------------------


class AEPWorld:
    """A sandbox row of its own on the emulator (AEP sandbox `prod`) and a client for it.

    Its dataflows read charges into a schema of CHARGE_FIELDS under `_{tenant}.charges_data`;
    a subclass changes the mapping by overriding `mapping_body`.
    """

    def __init__(self, emulator_url: str) -> None:
        self.url = emulator_url
        self.sandbox: Sandbox = emulator_sandbox(
            emulator_url, display_name=f"Emulator {uuid.uuid4().hex[:6]}"
        )
        self.sandbox.refresh_from_db()  # the secret comes back as a Secret
        self.client = AEPClient(config_for(self.sandbox), token_cache=MemoryTokenCache())
        self.session = PlatformSession(emulator_url)

    # -- building ------------------------------------------------------------------------------

    def account(self, key: str = DEMO_KEY, name: str | None = None) -> Account:
        name = name or f"Stripe {uuid.uuid4().hex[:6]}"
        connection_id = create_base_connection(self.client, key, name)
        return Account.objects.create(
            sandbox=self.sandbox,
            name=name,
            connection_id=connection_id,
            etag=self.client.flowservice.get_connection(connection_id).etag or "",
            token_last4=key[-4:],
            key_kind="restricted" if key.startswith("rk_") else "secret",
        )

    def dataflow(
        self,
        account: Account,
        resource_path: str = "charges",
        *,
        frequency: str = "minute",
        interval: int = 15,
        owner=None,
    ) -> Dataflow:
        tag = uuid.uuid4().hex[:6]
        title = f"Stripe {tag}"
        schema_id = create_schema(
            self.client, DEMO_TENANT_ID, title, group="charges_data", fields=CHARGE_FIELDS
        )
        dataset_id = self.client.catalog.create_dataset(
            payloads.dataset(name=title, schema_id=schema_id)
        )
        mapping = self.client.dataprep.create_mapping_set(self.mapping_body(schema_id))
        parts = SharedParts(
            account.connection_id,
            schema_id,
            dataset_id,
            mapping.id,
            mapping.version,
            DEMO_TENANT_ID,
        )
        name = f"Stripe {resource_path} {tag}"
        schedule = Schedule(
            start_time=datetime.now(UTC), frequency=frequency, interval=interval, backfill=True
        )
        flow_id = add_flow(self.client, parts, resource_path, schedule=schedule, name=name)
        flow = self.client.flowservice.get_flow(flow_id)
        return Dataflow.objects.create(
            sandbox=self.sandbox,
            account=account,
            flow_id=flow_id,
            name=name,
            resource_path=resource_path,
            source_connection_id=flow.source_connection_ids[0],
            target_connection_id=flow.target_connection_ids[0],
            dataset_id=dataset_id,
            schema_id=schema_id,
            mapping_set_id=mapping.id,
            mapping_version=str(mapping.version),
            frequency=frequency,
            interval=interval,
            etag=flow.etag or "",
            owner=owner,
        )

    @staticmethod
    def mapping_body(schema_id: str, fields: tuple[str, ...] = ("id", "created")) -> dict:
        return copy_fields(schema_id, fields, tenant_id=DEMO_TENANT_ID, group="charges_data")

    # -- observing -----------------------------------------------------------------------------

    def runs(self, dataflow: Dataflow) -> list[ApiRun]:
        return list(self.client.flowservice.list_runs(dataflow.flow_id))

    def mirror_runs(self, dataflow: Dataflow) -> list[Run]:
        """What the monitoring sync would store, so pages and estimates see the runs."""
        rows = []
        for run in self.runs(dataflow):
            row, _created = Run.objects.update_or_create(
                run_id=run.id,
                defaults={
                    "dataflow": dataflow,
                    "status": run.status or "",
                    "created_at": run.created_at or datetime.now(UTC),
                    "started_at": run.started_at,
                    "completed_at": run.completed_at,
                    "window_start": run.window_start,
                    "window_end": run.window_end,
                },
            )
            rows.append(row)
        return rows

    def exists(self, kind: str, entity_id: str) -> bool:
        """Whether AEP still has the Flow Service entity (flows, connections, …)."""
        response = self.session.get(f"/data/foundation/flowservice/{kind}/{entity_id}")
        return response.status_code == 200

    def fault(self, **spec: Any) -> None:
        inject(self.url, **spec)

    def clear_faults(self) -> None:
        clear_faults(self.url)
