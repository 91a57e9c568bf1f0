"""Start the AEP emulator from tests, and talk to it as a platform client would.

``start_aep_emulator(tmp_path, stripe_api_base, time_scale=600)`` runs the emulator as its own
process on a free port with its database in ``tmp_path``; ``PlatformSession`` is a requests
session that fetches a token for one org and sends the four platform headers on every call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from emulators.aep.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_ORG_ID,
    DEMO_TENANT_ID,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    OTHER_ORG_ID,
    OTHER_TENANT_ID,
)
from emulators.aep.variance import RUN_STATUS_SPELLINGS
from emulators.process import ServerProcess, start_server

HEALTH_PATH = "/__emulator__/health"
FLOW_SERVICE = "/data/foundation/flowservice"
DATA_PREP = "/data/foundation/conversion"
SCHEMA_REGISTRY = "/data/foundation/schemaregistry"
CATALOG = "/data/foundation/catalog"

__all__ = [
    "CATALOG",
    "DATA_PREP",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_ORG_ID",
    "DEMO_TENANT_ID",
    "FLOW_SERVICE",
    "OTHER_CLIENT_ID",
    "OTHER_CLIENT_SECRET",
    "OTHER_ORG_ID",
    "OTHER_TENANT_ID",
    "SCHEMA_REGISTRY",
    "PlatformSession",
    "StripePipeline",
    "build_stripe_pipeline",
    "charge_mappings",
    "create_base_connection",
    "create_charge_schema",
    "create_dataset",
    "create_flow",
    "create_mapping_set",
    "create_source_connection",
    "create_target_connection",
    "dataset_records",
    "expect",
    "fetch_token",
    "start_aep_emulator",
    "variance",
]


def start_aep_emulator(
    tmp_path: Path,
    stripe_api_base: str,
    *,
    time_scale: float | None = None,
    token_lifetime: int | None = None,
    orgs: list[dict[str, Any]] | Path | None = None,
    scheduler_tick: float | None = None,
    port: int | None = None,
    name: str = "aep-emulator",
    run_status_variance: bool = True,
) -> ServerProcess:
    """Run ``python -m emulators.aep`` with a fresh database under ``tmp_path``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    args = ["--db", str(tmp_path / f"{name}.sqlite3"), "--stripe-api-base", stripe_api_base]
    if time_scale is not None:
        args += ["--time-scale", str(time_scale)]
    if token_lifetime is not None:
        args += ["--token-lifetime", str(token_lifetime)]
    if scheduler_tick is not None:
        args += ["--scheduler-tick", str(scheduler_tick)]
    if not run_status_variance:
        args += ["--without-variance", RUN_STATUS_SPELLINGS]
    if orgs is not None:
        orgs_file = orgs if isinstance(orgs, Path) else tmp_path / f"{name}-orgs.json"
        if not isinstance(orgs, Path):
            orgs_file.write_text(json.dumps({"orgs": orgs}))
        args += ["--orgs", str(orgs_file)]
    return start_server(
        "emulators.aep",
        *args,
        health_path=HEALTH_PATH,
        port=port,
        log_path=tmp_path / f"{name}.log",
    )


@contextmanager
def variance(base_url: str, **behaviours: bool) -> Iterator[None]:
    """Turn documented platform behaviours (``emulators.aep.variance``) on or off for a block,
    e.g. ``with variance(url, runEndTouchesFlow=False):``; they are all on again after it."""
    response = requests.post(f"{base_url}/__emulator__/variance", json=behaviours, timeout=10)
    response.raise_for_status()
    try:
        yield
    finally:
        restore = dict.fromkeys(behaviours, True)
        requests.post(f"{base_url}/__emulator__/variance", json=restore, timeout=10)


def fetch_token(
    base_url: str, client_id: str = DEMO_CLIENT_ID, client_secret: str = DEMO_CLIENT_SECRET
) -> str:
    response = requests.post(
        f"{base_url}/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": "openid,AdobeID,read_organizations",
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


class PlatformSession(requests.Session):
    """A session bound to one org and sandbox; relative paths are joined to the emulator URL."""

    def __init__(
        self,
        base_url: str,
        *,
        org_id: str = DEMO_ORG_ID,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        sandbox: str = "prod",
        token: str | None = None,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.token = token or fetch_token(self.base_url, client_id, client_secret)
        self.headers.update(
            {
                "Authorization": f"Bearer {self.token}",
                "x-api-key": client_id,
                "x-gw-ims-org-id": org_id,
                "x-sandbox-name": sandbox,
            }
        )

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):  # type: ignore[override]
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)


# -- building a Stripe pipeline step by step -------------------------------------------------------

STRIPE_SPEC_ID = "cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"
# Charge fields the kit's field group declares, with their XDM types.
CHARGE_FIELDS = {
    "id": "string",
    "amount": "integer",
    "currency": "string",
    "status": "string",
    "created": "integer",
    "paid": "boolean",
}


class UnexpectedResponse(AssertionError):
    pass


_RUN_STATUSES = ("success", "failed", "partialSuccess", "cancelled", "inProgress", "queued")
_RUN_STATUS_BY_KEY = {s.lower(): s for s in (*_RUN_STATUSES, "scheduled")}


def run_status(run: dict[str, Any]) -> str:
    """A listed run's status in camelCase, whichever spelling GET /runs used (`IN_PROGRESS`,
    `partialSuccess`: README "Deviations and variance")."""
    status = run["metrics"]["statusSummary"]["status"]
    return _RUN_STATUS_BY_KEY.get(status.replace("_", "").lower(), status)


def expect(response: requests.Response, status: int) -> Any:
    """The decoded body, or an assertion error quoting what came back instead."""
    if response.status_code != status:
        raise UnexpectedResponse(
            f"{response.request.method} {response.url} -> {response.status_code}, "
            f"expected {status}: {response.text[:2000]}"
        )
    return response.json() if response.content else None


@dataclass
class StripePipeline:
    base_connection_id: str
    source_connection_id: str
    class_id: str
    field_group_id: str
    schema_id: str
    dataset_id: str
    target_connection_id: str
    mapping_set_id: str
    flow_id: str | None = None


def create_base_connection(
    session: PlatformSession, access_token: str, name: str = "Stripe account"
) -> str:
    body = {
        "name": name,
        "description": "Authenticated base connection for Stripe",
        "connectionSpec": {"id": STRIPE_SPEC_ID, "version": "1.0"},
        "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": access_token}},
    }
    return expect(session.post(f"{FLOW_SERVICE}/connections", json=body), 201)["id"]


def create_source_connection(
    session: PlatformSession, base_connection_id: str, resource_path: str = "charges"
) -> str:
    body = {
        "name": f"Stripe source connection for {resource_path}",
        "baseConnectionId": base_connection_id,
        "connectionSpec": {"id": STRIPE_SPEC_ID, "version": "1.0"},
        "data": {"format": "json"},
        "params": {"resourcePath": resource_path},
    }
    return expect(session.post(f"{FLOW_SERVICE}/sourceConnections", json=body), 201)["id"]


def create_charge_schema(
    session: PlatformSession, tenant_id: str = DEMO_TENANT_ID, title: str = "Stripe Charges"
) -> tuple[str, str, str]:
    """A record class, a field group with CHARGE_FIELDS under ``_{tenant}.charges_data`` and a
    schema combining them; returns their ``$id``\\ s (class, field group, schema)."""
    sr = SCHEMA_REGISTRY
    klass = expect(
        session.post(
            f"{sr}/tenant/classes",
            json={
                "title": f"{title} record",
                "type": "object",
                "allOf": [{"$ref": "https://ns.adobe.com/xdm/data/record"}],
            },
        ),
        201,
    )
    fields = {name: {"type": kind, "title": name} for name, kind in CHARGE_FIELDS.items()}
    group = expect(
        session.post(
            f"{sr}/tenant/fieldgroups",
            json={
                "title": f"{title} fields",
                "type": "object",
                "meta:intendedToExtend": [klass["$id"]],
                "definitions": {
                    "charges": {
                        "properties": {
                            f"_{tenant_id}": {
                                "type": "object",
                                "properties": {
                                    "charges_data": {"type": "object", "properties": fields}
                                },
                            }
                        }
                    }
                },
                "allOf": [{"$ref": "#/definitions/charges"}],
            },
        ),
        201,
    )
    schema = expect(
        session.post(
            f"{sr}/tenant/schemas",
            json={
                "title": f"{title} schema",
                "type": "object",
                "allOf": [{"$ref": klass["$id"]}, {"$ref": group["$id"]}],
            },
        ),
        201,
    )
    return klass["$id"], group["$id"], schema["$id"]


def create_dataset(session: PlatformSession, schema_id: str, name: str = "Stripe charges") -> str:
    body = {
        "name": name,
        "schemaRef": {"id": schema_id, "contentType": "application/vnd.adobe.xed+json;version=1"},
    }
    return expect(session.post(f"{CATALOG}/dataSets", json=body), 201)[0].split("/")[-1]


def create_target_connection(session: PlatformSession, dataset_id: str, schema_id: str) -> str:
    body = {
        "name": "Stripe target connection",
        "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
        "data": {
            "format": "parquet_xdm",
            "schema": {"id": schema_id, "version": "application/vnd.adobe.xed-full+json;version=1"},
        },
        "params": {"dataSetId": dataset_id},
    }
    return expect(session.post(f"{FLOW_SERVICE}/targetConnections", json=body), 201)["id"]


def charge_mappings(tenant_id: str = DEMO_TENANT_ID) -> list[dict[str, Any]]:
    return [
        {
            "sourceType": "ATTRIBUTE",
            "source": f"data.{name}",
            "destination": f"_{tenant_id}.charges_data.{name}",
        }
        for name in CHARGE_FIELDS
    ]


def create_mapping_set(
    session: PlatformSession, schema_id: str, mappings: list[dict[str, Any]] | None = None
) -> str:
    body = {
        "outputSchema": {
            "schemaRef": {
                "id": schema_id,
                "contentType": "application/vnd.adobe.xed-full+json;version=1",
            }
        },
        "mappings": mappings if mappings is not None else charge_mappings(),
    }
    return expect(session.post(f"{DATA_PREP}/mappingSets", json=body), 200)["id"]


def create_flow(
    session: PlatformSession,
    pipeline: StripePipeline,
    schedule: dict[str, Any] | None = None,
    name: str = "Stripe charges flow",
    **extra: Any,
) -> str:
    body = {
        "name": name,
        "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [pipeline.source_connection_id],
        "targetConnectionIds": [pipeline.target_connection_id],
        "transformations": [
            {
                "name": "Mapping",
                "params": {"mappingId": pipeline.mapping_set_id, "mappingVersion": 0},
            }
        ],
        "scheduleParams": schedule or {"startTime": str(int(time.time())), "frequency": "once"},
        **extra,
    }
    return expect(session.post(f"{FLOW_SERVICE}/flows", json=body), 201)["id"]


def build_stripe_pipeline(
    session: PlatformSession,
    access_token: str,
    *,
    resource_path: str = "charges",
    tenant_id: str = DEMO_TENANT_ID,
) -> StripePipeline:
    """Every entity a Stripe charges flow needs, except the flow itself."""
    base = create_base_connection(session, access_token)
    source = create_source_connection(session, base, resource_path)
    class_id, group_id, schema_id = create_charge_schema(session, tenant_id)
    dataset = create_dataset(session, schema_id)
    target = create_target_connection(session, dataset, schema_id)
    mapping = create_mapping_set(session, schema_id, charge_mappings(tenant_id))
    return StripePipeline(base, source, class_id, group_id, schema_id, dataset, target, mapping)


def dataset_records(base_url: str, dataset_id: str) -> list[dict[str, Any]]:
    """Every record the emulator ingested into a dataset (emulator-only endpoint)."""
    records: list[dict[str, Any]] = []
    start: int | None = 0
    while start is not None:
        page = requests.get(
            f"{base_url}/__emulator__/datasets/{dataset_id}/records",
            params={"start": start, "limit": 1000},
            timeout=30,
        ).json()
        records += page["records"]
        start = page["_page"]["next"]
    return records
