"""Real objects in the AEP emulator, created with the aep client, mirrored into the database.

Each test builds what it needs (account, dataflows) with unique names, so tests sharing the
session emulator never touch each other's objects.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import requests

from aep import AEPClient, MemoryTokenCache, payloads
from aep.types import Run as ApiRun
from aep.types import Schedule
from emulators.aep.testing import DEMO_TENANT_ID, PlatformSession, create_charge_schema
from monitoring.clients import config_for
from monitoring.models import Account, Dataflow, Run, Sandbox
from tests.base import make_sandbox

DEMO_KEY = "sk_test_demo_stripe_sources_0001"
OTHER_ACCOUNT_KEY = "sk_test_other_account_0002"
READONLY_KEY = "rk_test_demo_readonly_0001"  # charges, customers and refunds only


class AEPWorld:
    def __init__(self, emulator_url: str) -> None:
        self.url = emulator_url
        self.sandbox: Sandbox = make_sandbox(
            display_name=f"Emulator {uuid.uuid4().hex[:6]}",
            platform_url=emulator_url,
            ims_url=emulator_url,
        )
        self.sandbox.refresh_from_db()  # the secret comes back as a Secret
        self.client = AEPClient(config_for(self.sandbox), token_cache=MemoryTokenCache())
        self.session = PlatformSession(emulator_url)

    # -- building ------------------------------------------------------------------------------

    def account(self, key: str = DEMO_KEY, name: str | None = None) -> Account:
        name = name or f"Stripe {uuid.uuid4().hex[:6]}"
        fs = self.client.flowservice
        created = fs.create_connection(
            payloads.base_connection(name=name, auth_params={"accessToken": key})
        )
        return Account.objects.create(
            sandbox=self.sandbox,
            name=name,
            connection_id=created.id,
            etag=fs.get_connection(created.id).etag or "",
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
        fs, tag = self.client.flowservice, uuid.uuid4().hex[:6]
        source = fs.create_source_connection(
            payloads.source_connection(
                name=f"{resource_path} {tag}",
                base_connection_id=account.connection_id,
                params={"resourcePath": resource_path},
            )
        )
        _class, _group, schema_id = create_charge_schema(self.session, title=f"Stripe {tag}")
        dataset_id = self.client.catalog.create_dataset(
            payloads.dataset(name=f"Stripe {tag}", schema_id=schema_id)
        )
        target = fs.create_target_connection(
            payloads.target_connection(
                name=f"target {tag}", dataset_id=dataset_id, schema_id=schema_id
            )
        )
        mapping = self.client.dataprep.create_mapping_set(self.mapping_body(schema_id))
        schedule = Schedule(
            start_time=datetime.now(UTC), frequency=frequency, interval=interval, backfill=True
        )
        name = f"Stripe {resource_path} {tag}"
        flow = fs.create_flow(
            payloads.flow(
                name=name,
                source_connection_id=source.id,
                target_connection_id=target.id,
                mapping_id=mapping.id,
                mapping_version=mapping.version,
                schedule=schedule,
            )
        )
        return Dataflow.objects.create(
            sandbox=self.sandbox,
            account=account,
            flow_id=flow.id,
            name=name,
            resource_path=resource_path,
            source_connection_id=source.id,
            target_connection_id=target.id,
            dataset_id=dataset_id,
            schema_id=schema_id,
            mapping_set_id=mapping.id,
            mapping_version=str(mapping.version),
            frequency=frequency,
            interval=interval,
            etag=fs.get_flow(flow.id).etag or "",
            owner=owner,
        )

    @staticmethod
    def mapping_body(schema_id: str, fields: tuple[str, ...] = ("id", "created")) -> dict:
        prefix = f"_{DEMO_TENANT_ID}.charges_data"
        return {
            "outputSchema": {
                "schemaRef": {
                    "id": schema_id,
                    "contentType": "application/vnd.adobe.xed-full+json;version=1",
                }
            },
            "mappings": [
                {"sourceType": "ATTRIBUTE", "source": f"data.{f}", "destination": f"{prefix}.{f}"}
                for f in fields
            ],
        }

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

    def wait_for(self, predicate: Callable[[], object], timeout: float = 20) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError("condition not met in time")

    def exists(self, kind: str, entity_id: str) -> bool:
        """Whether AEP still has the Flow Service entity (flows, connections, …)."""
        response = self.session.get(f"/data/foundation/flowservice/{kind}/{entity_id}")
        return response.status_code == 200

    def fault(self, **spec) -> None:
        requests.post(f"{self.url}/__emulator__/faults", json=spec, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/__emulator__/faults", timeout=5)
