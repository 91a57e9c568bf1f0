"""Find the sandbox's Stripe flows in AEP: adopt new ones, follow config changes, mark deletions.

Flows created outside the dashboard (AEP UI, scripts) appear here with their account; flows
deleted in AEP are marked deleted (their history stays), never dropped silently. Deletion is
only concluded from a complete listing plus a 404 for that very flow, so a listing that lags
behind a flow the wizard just created cannot mark it deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.utils import timezone

from aep import AEPClient, NotFoundError
from aep.payloads import DATA_LAKE_CONNECTION_SPEC_ID, STRIPE_CONNECTION_SPEC_ID
from aep.types import Flow, SourceConnection, TargetConnection
from monitoring import health
from monitoring.models import Account, Dataflow, Sandbox

logger = logging.getLogger(__name__)

STRIPE_FLOWS_FILTER = (
    f"inheritedAttributes.sourceConnections[].connectionSpec.id=={STRIPE_CONNECTION_SPEC_ID}"
)
# Columns discovery owns: AEP is the truth for them.
CONFIG_FIELDS = (
    "name",
    "description",
    "enabled",
    "frequency",
    "interval",
    "start_time",
    "backfill",
    "mapping_set_id",
    "mapping_version",
    "etag",
    "source_connection_id",
    "target_connection_id",
)


@dataclass
class DiscoveryResult:
    found: int = 0
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)


def flow_config(flow: Flow) -> dict:
    """The Dataflow columns a Flow Service flow determines by itself."""
    schedule = flow.schedule
    mapping = flow.mapping
    config = {
        "name": flow.name[:200],
        "description": flow.description,
        "enabled": flow.state == "enabled",
        "etag": flow.etag or "",
        "source_connection_id": next(iter(flow.source_connection_ids), ""),
        "target_connection_id": next(iter(flow.target_connection_ids), ""),
        "mapping_set_id": (mapping.mapping_id or "") if mapping else "",
        "mapping_version": str(mapping.mapping_version) if mapping else "",
    }
    if schedule is not None:
        frequency = schedule.frequency if schedule.frequency in Dataflow.Frequency else "once"
        config.update(
            frequency=frequency,
            interval=schedule.interval,
            start_time=schedule.start_time,
            backfill=bool(schedule.backfill) if schedule.backfill is not None else True,
        )
    return config


def discover(sandbox: Sandbox, client: AEPClient) -> DiscoveryResult:
    """1. List every Stripe flow (all pages, or raise before changing anything).
    2. Update the flows we know; create the ones we do not, with their account.
    3. Mark deleted the flows we know that AEP no longer lists and no longer finds.
    """
    flows = list(client.flowservice.list_flows(properties=[STRIPE_FLOWS_FILTER]))
    result = DiscoveryResult(found=len(flows))
    known = {df.flow_id: df for df in Dataflow.objects.filter(sandbox=sandbox)}
    new_flows = [f for f in flows if f.id not in known]
    for flow in flows:
        if flow.id in known and _update(known[flow.id], flow_config(flow)):
            result.updated.append(known[flow.id].pk)
    if new_flows:
        result.created = _create(sandbox, client, new_flows)
    listed = {f.id for f in flows}
    missing = [df for df in known.values() if df.flow_id not in listed and df.deleted_at is None]
    result.deleted = [df.pk for df in missing if _confirm_deleted(client, df)]
    return result


def _update(dataflow: Dataflow, config: dict) -> bool:
    changed = {
        name: value
        for name, value in config.items()
        if name in CONFIG_FIELDS and getattr(dataflow, name) != value
    }
    revived = dataflow.deleted_at is not None
    if not changed and not revived:
        return False
    for name, value in changed.items():
        setattr(dataflow, name, value)
    dataflow.deleted_at = None
    dataflow.save(update_fields=[*changed, "deleted_at", "updated"])
    # State and schedule decide health (disabled, SLA, overdue), so recompute it now.
    health.refresh_health(dataflow)
    return True


def _create(sandbox: Sandbox, client: AEPClient, flows: list[Flow]) -> list[int]:
    sources = _stripe_sources(client)
    targets = _data_lake_targets(client)
    accounts = _accounts_for(sandbox, client, sources, flows)
    created = []
    for flow in flows:
        config = flow_config(flow)
        source = sources.get(config["source_connection_id"])
        target = targets.get(config["target_connection_id"])
        base_connection_id = source.base_connection_id if source else None
        dataflow = Dataflow.objects.create(
            sandbox=sandbox,
            flow_id=flow.id,
            account=accounts.get(base_connection_id) if base_connection_id else None,
            resource_path=(source.resource_path or "") if source else "",
            dataset_id=(target.dataset_id or "") if target else "",
            schema_id=(target.schema_id or "") if target else "",
            created=flow.created_at or timezone.now(),
            discovered=True,
            **config,
        )
        health.refresh_health(dataflow)
        created.append(dataflow.pk)
    logger.info("discovered %d new Stripe flow(s) in %s", len(created), sandbox)
    return created


def _stripe_sources(client: AEPClient) -> dict[str, SourceConnection]:
    listing = client.flowservice.list_source_connections(
        properties=[f"connectionSpec.id=={STRIPE_CONNECTION_SPEC_ID}"]
    )
    return {source.id: source for source in listing}


def _data_lake_targets(client: AEPClient) -> dict[str, TargetConnection]:
    listing = client.flowservice.list_target_connections(
        properties=[f"connectionSpec.id=={DATA_LAKE_CONNECTION_SPEC_ID}"]
    )
    return {target.id: target for target in listing}


def _accounts_for(
    sandbox: Sandbox,
    client: AEPClient,
    sources: dict[str, SourceConnection],
    flows: list[Flow],
) -> dict[str, Account]:
    """The Account of each base connection the new flows read from, created when unknown."""
    wanted = set()
    for flow in flows:
        source = sources.get(next(iter(flow.source_connection_ids), ""))
        if source and source.base_connection_id:
            wanted.add(source.base_connection_id)
    accounts = {
        a.connection_id: a
        for a in Account.objects.filter(sandbox=sandbox, connection_id__in=wanted)
    }
    unknown = wanted - set(accounts)
    if unknown:
        listing = client.flowservice.list_connections(
            properties=[f"connectionSpec.id=={STRIPE_CONNECTION_SPEC_ID}"]
        )
        for connection in listing:
            if connection.id in unknown:
                accounts[connection.id], _ = Account.objects.get_or_create(
                    sandbox=sandbox,
                    connection_id=connection.id,
                    defaults={
                        "name": (connection.name or connection.id)[:100],
                        "description": connection.description,
                        "etag": connection.etag or "",
                        "created": connection.created_at or timezone.now(),
                    },
                )
    return accounts


def _confirm_deleted(client: AEPClient, dataflow: Dataflow) -> bool:
    try:
        client.flowservice.get_flow(dataflow.flow_id)
    except NotFoundError:
        pass
    else:
        return False
    now = timezone.now()
    Dataflow.objects.filter(pk=dataflow.pk).update(
        deleted_at=now, health=Dataflow.Health.DELETED, stale_at=None, overdue_at=None
    )
    logger.info("dataflow %s (%s) was deleted in AEP", dataflow.pk, dataflow.flow_id)
    return True
