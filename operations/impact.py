"""What an action would touch, worked out before anyone confirms it.

Delete previews read AEP (in a job): the mirror may not know every flow that uses an account,
and AEP refuses to delete a connection that is still in use. The backfill estimate and the
list of failed runs come from the mirror only, so their pages need no job.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from aep import AEPClient
from aep.errors import NotFoundError
from aep.types import Flow
from monitoring.models import Account, AuditEvent, Dataflow, Run, Sandbox

UNIT = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
# Windows that start before this are the first run's "everything so far" backfill, not a period.
_FIRST_WINDOW_BEFORE = datetime(2001, 1, 1, tzinfo=UTC)
WINDOWS_SHOWN = 6


# -- delete previews (AEP) -------------------------------------------------------------------

# Flow Service filters on array properties (dataflows/api/sort-and-filter.md, "Filtering on
# array properties"): `sourceConnectionIds[]==a,b` lists the flows that use a or b. Asking AEP
# for the flows that share something with the doomed ones keeps a preview to a few small
# pages, however many flows the sandbox has.
SOURCES_FILTER = "sourceConnectionIds[]"
TARGETS_FILTER = "targetConnectionIds[]"
MAPPINGS_FILTER = "transformations[].params.mappingId"


def _flows_using(client: AEPClient, prop: str, ids: Iterable[str]) -> list[Flow]:
    """Flows whose `prop` holds one of `ids`, checked again here: a filter AEP ignored must not
    make every flow of the sandbox look like a user."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return []
    listing = client.flowservice.list_flows(properties=[f"{prop}=={','.join(wanted)}"])
    return [flow for flow in listing if set(_ids_of(flow, prop)) & set(wanted)]


def _ids_of(flow: Flow, prop: str) -> tuple[str, ...]:
    if prop == SOURCES_FILTER:
        return flow.source_connection_ids
    if prop == TARGETS_FILTER:
        return flow.target_connection_ids
    return (flow.mapping.mapping_id,) if flow.mapping and flow.mapping.mapping_id else ()


def discover_account_flows(client: AEPClient, connection_id: str) -> list[Flow]:
    """Every flow whose source connection hangs off the base connection `connection_id`."""
    source_ids = {s.id for s in _account_sources(client, connection_id)}
    return _flows_using(client, SOURCES_FILTER, source_ids)


def _account_sources(client: AEPClient, connection_id: str):
    sources = client.flowservice.list_source_connections(
        properties=[f"baseConnectionId=={connection_id}"]
    )
    return [s for s in sources if s.base_connection_id == connection_id]


def account_impact(client: AEPClient, account: Account) -> dict[str, Any]:
    connection = client.flowservice.get_connection(account.connection_id)
    sources = _account_sources(client, connection.id)
    doomed = _flows_using(client, SOURCES_FILTER, {s.id for s in sources})
    impact = _impact(client, account.sandbox, doomed, sources)
    impact["connection"] = {"id": connection.id, "name": connection.name, "etag": connection.etag}
    return impact


def dataflow_impact(client: AEPClient, dataflow: Dataflow) -> dict[str, Any]:
    flow = client.flowservice.get_flow(dataflow.flow_id)
    sources = [client.flowservice.get_source_connection(i) for i in flow.source_connection_ids]
    return _impact(client, dataflow.sandbox, [flow], sources)


def _impact(client, sandbox: Sandbox, doomed, sources) -> dict[str, Any]:
    """The flows and everything only they use; shared objects are listed as kept."""
    doomed = sorted(doomed, key=lambda f: (f.created_at or datetime.min.replace(tzinfo=UTC), f.id))
    doomed_ids = {f.id for f in doomed}
    used_elsewhere = _ids_used_by(_other_users(client, doomed))
    targets = _targets(client, doomed, used_elsewhere["targets"])
    datasets = _datasets(client, targets, doomed_ids)
    return {
        "flow_ids": sorted(doomed_ids),
        "flows": [_flow_entry(f, sandbox) for f in doomed],
        "source_connections": [
            {
                "id": s.id,
                "name": s.name,
                "resource_path": s.resource_path or "",
                "shared": s.id in used_elsewhere["sources"],
            }
            for s in sources
        ],
        "target_connections": targets,
        "mapping_sets": _mapping_sets(doomed, used_elsewhere["mappings"]),
        "datasets": datasets,
        "schemas": _schemas(client, datasets),
        # A preview describes AEP at one moment; operations.service refuses it once stale.
        "read_at": timezone.now().isoformat(),
    }


def _other_users(client, doomed: list[Flow]) -> list[Flow]:
    """Flows outside `doomed` that share a source, target or mapping set with them."""
    doomed_ids = {f.id for f in doomed}
    used = _ids_used_by(doomed)
    found: dict[str, Flow] = {}
    for prop, key in (
        (SOURCES_FILTER, "sources"),
        (TARGETS_FILTER, "targets"),
        (MAPPINGS_FILTER, "mappings"),
    ):
        for flow in _flows_using(client, prop, used[key]):
            if flow.id not in doomed_ids:
                found[flow.id] = flow
    return list(found.values())


def _ids_used_by(flows: Iterable[Flow]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {"sources": set(), "targets": set(), "mappings": set()}
    for flow in flows:
        used["sources"].update(flow.source_connection_ids)
        used["targets"].update(flow.target_connection_ids)
        if flow.mapping and flow.mapping.mapping_id:
            used["mappings"].add(flow.mapping.mapping_id)
    return used


def _flow_entry(flow: Flow, sandbox: Sandbox) -> dict[str, Any]:
    mirror = Dataflow.objects.filter(sandbox=sandbox, flow_id=flow.id).first()
    return {
        "id": flow.id,
        "name": flow.name,
        "state": flow.state or "",
        "dataflow_pk": mirror.pk if mirror else None,
        "resource_path": mirror.resource_path if mirror else "",
        "source_connection_ids": list(flow.source_connection_ids),
        "target_connection_ids": list(flow.target_connection_ids),
        "mapping_set_id": flow.mapping.mapping_id if flow.mapping else "",
    }


def _targets(client, doomed: list[Flow], shared: set[str]) -> list[dict[str, Any]]:
    entries = []
    for target_id in sorted({t for f in doomed for t in f.target_connection_ids}):
        try:
            target = client.flowservice.get_target_connection(target_id)
        except NotFoundError:
            continue
        entries.append(
            {
                "id": target.id,
                "name": target.name,
                "dataset_id": target.dataset_id or "",
                "schema_id": target.schema_id or "",
                "shared": target.id in shared,
            }
        )
    return entries


def _mapping_sets(doomed: list[Flow], shared: set[str]) -> list[dict[str, Any]]:
    found = {}
    for flow in doomed:
        if flow.mapping and flow.mapping.mapping_id:
            found[flow.mapping.mapping_id] = {
                "id": flow.mapping.mapping_id,
                "version": flow.mapping.mapping_version,
                "shared": flow.mapping.mapping_id in shared,
            }
    return list(found.values())


def _datasets(client, targets: list[dict], doomed_ids: set[str]) -> list[dict[str, Any]]:
    """Datasets the doomed target connections write to; a dataset another flow writes to is
    kept whatever the user picks."""
    entries = {}
    for target in targets:
        dataset_id = target["dataset_id"]
        if not dataset_id or dataset_id in entries:
            continue
        entries[dataset_id] = {
            "id": dataset_id,
            "name": _dataset_name(client, dataset_id),
            "schema_id": target["schema_id"],
            "shared": target["shared"] or _written_by_others(client, dataset_id, doomed_ids),
        }
    return list(entries.values())


def _written_by_others(client, dataset_id: str, doomed_ids: set[str]) -> bool:
    """Whether a flow outside `doomed_ids` writes to the dataset, through any target."""
    listing = client.flowservice.list_target_connections(
        properties=[f"params.dataSetId=={dataset_id}"]
    )
    target_ids = {t.id for t in listing if t.dataset_id == dataset_id}
    return any(f.id not in doomed_ids for f in _flows_using(client, TARGETS_FILTER, target_ids))


def _dataset_name(client, dataset_id: str) -> str:
    try:
        return client.catalog.get_dataset(dataset_id).name
    except NotFoundError:
        return ""


def _schemas(client, datasets: list[dict]) -> list[dict[str, Any]]:
    """Schemas of the datasets; one is deletable only if no other dataset uses it."""
    schema_ids = {d["schema_id"] for d in datasets if d["schema_id"]}
    if not schema_ids:
        return []
    doomed_datasets = {d["id"] for d in datasets if not d["shared"]}
    users = _schema_users(client, schema_ids)
    return [
        {"id": schema_id, "shared": bool(users[schema_id] - doomed_datasets)}
        for schema_id in sorted(schema_ids)
    ]


def _schema_users(client, schema_ids: set[str]) -> dict[str, set[str]]:
    users: dict[str, set[str]] = {s: set() for s in schema_ids}
    for dataset in client.catalog.list_datasets():
        if dataset.schema_id in users:
            users[dataset.schema_id].add(dataset.id)
    return users


def now_in_use(client: AEPClient, operation_preview: dict[str, Any], *, datasets: bool) -> list:
    """What the preview planned to delete that something outside it uses now.

    A delete is confirmed after its preview, sometimes much later: a dataflow created in the
    meantime may write to a dataset the preview found unused. Checked before anything goes.
    """
    doomed = set(operation_preview.get("flow_ids", []))

    def planned(key: str) -> list[dict[str, Any]]:
        return [e for e in operation_preview.get(key, []) if not e.get("shared")]

    in_use = []
    for key, prop in (
        ("source_connections", SOURCES_FILTER),
        ("target_connections", TARGETS_FILTER),
        ("mapping_sets", MAPPINGS_FILTER),
    ):
        for entry in planned(key):
            if any(f.id not in doomed for f in _flows_using(client, prop, [entry["id"]])):
                in_use.append(entry.get("name") or entry["id"])
    if datasets:
        for entry in planned("datasets"):
            if _written_by_others(client, entry["id"], doomed):
                in_use.append(entry.get("name") or entry["id"])
        planned_datasets = {e["id"] for e in planned("datasets")}
        schemas = planned("schemas")
        users = _schema_users(client, {e["id"] for e in schemas}) if schemas else {}
        for entry in schemas:
            if users[entry["id"]] - planned_datasets:
                in_use.append(entry["id"])
    return in_use


# -- enable preview (mirror) -----------------------------------------------------------------


def schedule_period(dataflow: Dataflow) -> timedelta | None:
    if dataflow.frequency not in UNIT or not dataflow.interval:
        return None
    return UNIT[dataflow.frequency] * dataflow.interval


def observed_period(dataflow: Dataflow) -> timedelta | None:
    """The length of the flow's recent run windows: AEP's next windows continue with it."""
    windows = (
        dataflow.runs.exclude(window_start=None)
        .exclude(window_end=None)
        .filter(window_start__gte=_FIRST_WINDOW_BEFORE)
        .order_by("-created_at")[:10]
    )
    lengths = [
        (run.window_end - run.window_start).total_seconds()
        for run in windows
        if run.window_start and run.window_end and run.window_end > run.window_start
    ]
    return timedelta(seconds=statistics.median(lengths)) if lengths else None


def backfill_estimate(dataflow: Dataflow, now: datetime | None = None) -> dict[str, Any]:
    """The runs AEP will create for the intervals missed while the flow was disabled."""
    now = now or timezone.now()
    period = observed_period(dataflow) or schedule_period(dataflow)
    since = _windows_resume_at(dataflow)
    if period is None or since is None or since >= now:
        return {"count": 0, "windows": [], "since": since, "period": period}
    count = int((now - since) / period)
    windows = [(i + 1, since + period * i, since + period * (i + 1)) for i in range(count)]
    shown = windows if count <= WINDOWS_SHOWN else windows[:3] + windows[-3:]
    return {
        "count": count,
        "windows": shown,
        "hidden": max(0, count - len(shown)),
        "since": since,
        "period": period,
    }


def backfill_runs_per_day(dataflow: Dataflow) -> int:
    """Backfill runs AEP creates on re-enabling for each day the flow stayed disabled."""
    period = observed_period(dataflow) or schedule_period(dataflow)
    return int(timedelta(days=1) / period) if period else 0


def _windows_resume_at(dataflow: Dataflow) -> datetime | None:
    """Where the next window starts: the end of the last window AEP ran."""
    last = (
        dataflow.runs.exclude(window_end=None)
        .order_by("-window_end")
        .values_list("window_end", flat=True)
    ).first()
    return last or dataflow.last_run_at or _disabled_at(dataflow)


def _disabled_at(dataflow: Dataflow) -> datetime | None:
    event = (
        AuditEvent.objects.filter(
            action="dataflow.disable", target_id=dataflow.flow_id, result="succeeded"
        )
        .order_by("-created")
        .first()
    )
    return event.created if event else None


# -- bulk retry (mirror) ---------------------------------------------------------------------


def failed_runs(dataflows: Iterable[Dataflow]) -> list[Run]:
    """Failed runs of the dataflows that have not been re-triggered already."""
    flows = [d for d in dataflows if d.deleted_at is None]
    retried = set(
        AuditEvent.objects.filter(
            action="run.retry",
            result=AuditEvent.Result.SUCCEEDED,
            target_id__in=[d.flow_id for d in flows],
        ).values_list("before__run_id", flat=True)
    )
    runs = Run.objects.filter(dataflow__in=flows).filter(Q(status__iexact="failed"))
    return [run for run in runs.select_related("dataflow") if run.run_id not in retried]
