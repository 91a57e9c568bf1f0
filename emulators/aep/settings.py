"""Organisations, credentials and run-time options of the emulator.

Two organisations are built in so that a fresh emulator can be used without any setup: the demo
organisation the dashboard is configured with, and a second one for isolation tests. More can be
added with ``--orgs FILE.json`` (see README.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_ORG_ID = "DEMO0000000000000000001@AdobeOrg"
DEMO_CLIENT_ID = "stripe-sources-demo"
DEMO_CLIENT_SECRET = "demo-client-secret-0001"  # noqa: S105 - published demo credential
DEMO_TENANT_ID = "stripesources"

OTHER_ORG_ID = "OTHER000000000000000002@AdobeOrg"
OTHER_CLIENT_ID = "stripe-sources-other"
OTHER_CLIENT_SECRET = "other-client-secret-0002"  # noqa: S105 - published demo credential
OTHER_TENANT_ID = "otherorg"

DEFAULT_TOKEN_LIFETIME = 86399


@dataclass(frozen=True)
class Sandbox:
    name: str
    id: str


@dataclass(frozen=True)
class Org:
    ims_org_id: str
    client_id: str
    client_secret: str
    tenant_id: str
    sandboxes: tuple[Sandbox, ...]

    def sandbox(self, name: str) -> Sandbox | None:
        return next((s for s in self.sandboxes if s.name == name), None)

    @property
    def technical_account(self) -> str:
        """The principal recorded as ``createdBy`` for a service token (equals the client)."""
        return self.client_id


@dataclass
class Settings:
    db_path: Path
    stripe_api_base: str
    time_scale: float = 1.0
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    orgs: tuple[Org, ...] = field(default_factory=lambda: builtin_orgs())
    scheduler_tick: float = 0.05
    stripe_timeout: float = 30.0
    # Runs listed by GET /runs report their status in the Flow Service spec's spelling
    # (`IN_PROGRESS`, `PARTIAL_SUCCESS`) for some runs and camelCase for others, as AEP's
    # documents do (README "Deviations and variance"). Off only for a test that needs it so.
    run_status_variance: bool = True

    def org_by_id(self, ims_org_id: str) -> Org | None:
        return next((o for o in self.orgs if o.ims_org_id == ims_org_id), None)

    def org_by_client(self, client_id: str) -> Org | None:
        return next((o for o in self.orgs if o.client_id == client_id), None)


def sandbox_id(ims_org_id: str, name: str) -> str:
    """A stable UUID-shaped sandbox id, so ids survive restarts without being stored."""
    digest = hashlib.sha256(f"{ims_org_id}/{name}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def make_org(
    ims_org_id: str, client_id: str, client_secret: str, tenant_id: str, sandboxes: list[str]
) -> Org:
    return Org(
        ims_org_id=ims_org_id,
        client_id=client_id,
        client_secret=client_secret,
        tenant_id=tenant_id,
        sandboxes=tuple(Sandbox(name, sandbox_id(ims_org_id, name)) for name in sandboxes),
    )


def builtin_orgs() -> tuple[Org, ...]:
    return (
        make_org(DEMO_ORG_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, ["prod", "dev"]),
        make_org(OTHER_ORG_ID, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, OTHER_TENANT_ID, ["prod"]),
    )


def load_orgs(path: Path) -> tuple[Org, ...]:
    """Built-in orgs plus the ones in ``path``; an entry with a built-in org id replaces it."""
    raw: Any = json.loads(path.read_text())
    entries = raw.get("orgs", []) if isinstance(raw, dict) else raw
    extra = [_org_from_json(entry) for entry in entries]
    replaced = {org.ims_org_id for org in extra}
    kept = [org for org in builtin_orgs() if org.ims_org_id not in replaced]
    return (*kept, *extra)


def _org_from_json(entry: dict[str, Any]) -> Org:
    missing = [k for k in ("imsOrgId", "clientId", "clientSecret", "tenantId") if not entry.get(k)]
    if missing:
        raise ValueError(f"org entry {entry.get('imsOrgId', '?')} lacks {', '.join(missing)}")
    return make_org(
        entry["imsOrgId"],
        entry["clientId"],
        entry["clientSecret"],
        entry["tenantId"],
        list(entry.get("sandboxes") or ["prod"]),
    )
