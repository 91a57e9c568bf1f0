"""A dataflow as a JSON plan: every AEP payload needed to build it again, secrets redacted.

Bodies are built by `aep.payloads`, as the wizard's are, and applying a plan sends each step's
body as it stands (ids filled in). Later steps refer to the ids of earlier ones as "{{ref}}"
placeholders, so a plan exported from one sandbox can be applied to another. The Stripe key
never travels in a plan: applying one either reuses a base connection of the target sandbox or
takes the key from the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from aep import AEPClient, payloads, redact
from aep.types import Schedule
from core.mapping import mapping_set_body
from monitoring.audit import record
from monitoring.clients import NoMappingSet, mapping_set_in_use
from monitoring.models import Account, Dataflow, Sandbox
from operations.mapping import text_rules

FORMAT = "stripe-sources-plan/1"
FLOWSERVICE = "/data/foundation/flowservice"
CATALOG = "/data/foundation/catalog"
DATAPREP = "/data/foundation/conversion"
ORDER = ("connection", "source_connection", "dataset", "target_connection", "mapping_set", "flow")


class PlanError(ValueError):
    pass


def export_plan(client: AEPClient, dataflow: Dataflow) -> dict[str, Any]:
    """Read the flow and everything it uses from AEP and describe how to create them."""
    fs = client.flowservice
    flow = fs.get_flow(dataflow.flow_id)
    source = fs.get_source_connection(flow.source_connection_ids[0])
    connection = fs.get_connection(source.base_connection_id or "")
    target = fs.get_target_connection(flow.target_connection_ids[0])
    dataset = client.catalog.get_dataset(target.dataset_id or "")
    try:
        mapping_set = mapping_set_in_use(client, flow)
    except NoMappingSet:
        raise PlanError(
            f"flow {flow.id} has no mapping (a Mapping transformation) to export"
        ) from None
    steps = [
        _step(
            "connection",
            f"{FLOWSERVICE}/connections",
            payloads.base_connection(
                name=connection.name,
                description=connection.description,
                auth_params={"accessToken": ""},
                auth_spec_name=connection.auth_spec_name or payloads.STRIPE_AUTH_SPEC_NAME,
            ),
        ),
        _step(
            "source_connection",
            f"{FLOWSERVICE}/sourceConnections",
            payloads.source_connection(
                name=source.name,
                description=source.description,
                base_connection_id="{{connection}}",
                params=source.params,
                data_format=source.data_format or "json",
            ),
        ),
        _step(
            "dataset",
            f"{CATALOG}/dataSets",
            payloads.dataset(
                name=dataset.name,
                description=dataset.description,
                schema_id=dataset.schema_id or "",
                content_type=dataset.schema_content_type or payloads.XDM_CONTENT_TYPE,
            ),
        ),
        _step(
            "target_connection",
            f"{FLOWSERVICE}/targetConnections",
            payloads.target_connection(
                name=target.name,
                description=target.description,
                dataset_id="{{dataset}}",
                schema_id=target.schema_id or "",
                schema_version=target.schema_version or payloads.XDM_FULL_SCHEMA_VERSION,
                data_format=target.data_format or "parquet_xdm",
            ),
        ),
        _step(
            "mapping_set",
            f"{DATAPREP}/mappingSets",
            mapping_set_body(
                mapping_set.schema_id or target.schema_id or "",
                text_rules(mapping_set.mappings),
            ),
        ),
        _step(
            "flow",
            f"{FLOWSERVICE}/flows",
            # No `state`: Flow Service refuses it on create (1410-400).
            payloads.flow(
                name=flow.name,
                description=flow.description,
                flow_spec_id=flow.flow_spec_id or payloads.STRIPE_FLOW_SPEC_ID,
                source_connection_id="{{source_connection}}",
                target_connection_id="{{target_connection}}",
                mapping_id="{{mapping_set}}",
                mapping_version=0,
                schedule=flow.schedule,
            ),
        ),
    ]
    return {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "from": {
            "org_id": dataflow.sandbox.org_id,
            "sandbox": dataflow.sandbox.sandbox_name,
            "flow_id": flow.id,
            "resource_path": source.resource_path,
        },
        "steps": [redact(step) for step in steps],
    }


def _step(ref: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"ref": ref, "method": "POST", "path": path, "body": body}


@dataclass
class ApplyOptions:
    connection_id: str = ""
    stripe_key: str = field(default="", repr=False)
    dataset_id: str = ""
    schema_id: str = ""
    name: str = ""
    start_now: bool = True


def resolved_steps(plan: dict[str, Any], options: ApplyOptions) -> list[dict[str, Any]]:
    """The plan's steps with the options applied; reused objects are marked `reuse`."""
    if plan.get("format") != FORMAT:
        raise PlanError(f"not a {FORMAT} plan")
    steps = {step["ref"]: _copy(step) for step in plan.get("steps", [])}
    if set(steps) != set(ORDER):
        raise PlanError(f"a plan needs exactly these steps: {', '.join(ORDER)}")
    if options.connection_id:
        steps["connection"]["reuse"] = options.connection_id
    elif not options.stripe_key:
        raise PlanError("give an existing base connection id, or a Stripe key to create one")
    if options.dataset_id:
        steps["dataset"]["reuse"] = options.dataset_id
    if options.schema_id:
        steps["dataset"]["body"]["schemaRef"]["id"] = options.schema_id
        steps["target_connection"]["body"]["data"]["schema"]["id"] = options.schema_id
        steps["mapping_set"]["body"]["outputSchema"]["schemaRef"]["id"] = options.schema_id
    _fill_older_plan_gaps(steps)
    flow = steps["flow"]["body"]
    if options.name:
        flow["name"] = options.name
    if options.start_now and flow.get("scheduleParams"):
        flow["scheduleParams"]["startTime"] = int(timezone.now().timestamp())
    return [steps[ref] for ref in ORDER]


def _fill_older_plan_gaps(steps: dict[str, dict[str, Any]]) -> None:
    """Plans exported by earlier releases copied fields AEP had left empty as null, and a flow
    `state` that Flow Service refuses on create (1410-400); their bodies now go out as stored,
    so fill those gaps with the values the builders use."""
    steps["flow"]["body"].pop("state", None)
    auth = steps["connection"]["body"].get("auth") or {}
    if auth.get("specName") is None and "auth" in steps["connection"]["body"]:
        auth["specName"] = payloads.STRIPE_AUTH_SPEC_NAME
    schema = (steps["target_connection"]["body"].get("data") or {}).get("schema") or {}
    if "id" in schema and schema.get("version") is None:
        schema["version"] = payloads.XDM_FULL_SCHEMA_VERSION
    schema_ref = steps["dataset"]["body"].get("schemaRef") or {}
    if "id" in schema_ref and schema_ref.get("contentType") is None:
        schema_ref["contentType"] = payloads.XDM_CONTENT_TYPE


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{{") and value.endswith("}}"):
        ref = value[2:-2]
        if ref not in ids:
            raise PlanError(f"step refers to {ref!r} before it exists")
        return ids[ref]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


# What each step POSTs: its body as it stands, once the ids are filled in.
CREATORS: dict[str, Callable[[AEPClient, dict[str, Any]], str]] = {
    "connection": lambda c, body: c.flowservice.create_connection(body).id,
    "source_connection": lambda c, body: c.flowservice.create_source_connection(body).id,
    "dataset": lambda c, body: c.catalog.create_dataset(body),
    "target_connection": lambda c, body: c.flowservice.create_target_connection(body).id,
    "mapping_set": lambda c, body: c.dataprep.create_mapping_set(body).id,
    "flow": lambda c, body: c.flowservice.create_flow(body).id,
}


def apply_plan(
    client: AEPClient,
    sandbox: Sandbox,
    steps: Iterable[dict[str, Any]],
    options: ApplyOptions,
    *,
    actor,
    reason: str = "",
    ticket: str = "",
    say: Callable[[str], None] = print,
    via: str = "",
) -> dict[str, str]:
    """Create each object in order, auditing every creation; returns the ids by ref."""
    ids: dict[str, str] = {}
    for step in steps:
        if step.get("reuse"):
            ids[step["ref"]] = step["reuse"]
            say(f"{step['ref']}: reusing {step['reuse']}")
            continue
        body = _fill(step["body"], ids)
        if step["ref"] == "connection":
            body["auth"]["params"] = {"accessToken": options.stripe_key}
        ids[step["ref"]] = CREATORS[step["ref"]](client, body)
        record(
            actor,
            f"{step['ref']}.create",
            target_type=step["ref"],
            target_id=ids[step["ref"]],
            target_label=body.get("name", ""),
            sandbox=sandbox,
            reason=reason,
            ticket=ticket,
            after=body,
            via=via,
        )
        say(f"{step['ref']}: created {ids[step['ref']]}")
    return ids


def mirror_applied(
    sandbox: Sandbox, plan: dict[str, Any], steps: list[dict], ids: dict[str, str], actor
) -> Dataflow:
    """Account and Dataflow rows for what the plan created, so the dashboard shows them."""
    by_ref = {step["ref"]: step for step in steps}
    connection = by_ref["connection"]["body"]
    account, _created = Account.objects.get_or_create(
        sandbox=sandbox,
        connection_id=ids["connection"],
        defaults={
            "name": connection["name"],
            "description": connection.get("description", ""),
            "created_by": actor,
        },
    )
    flow = by_ref["flow"]["body"]
    schedule = Schedule.from_api(flow["scheduleParams"]) if flow.get("scheduleParams") else None
    return Dataflow.objects.create(
        sandbox=sandbox,
        account=account,
        flow_id=ids["flow"],
        name=flow["name"],
        description=flow.get("description", ""),
        resource_path=plan.get("from", {}).get("resource_path") or "",
        source_connection_id=ids["source_connection"],
        target_connection_id=ids["target_connection"],
        dataset_id=ids["dataset"],
        schema_id=by_ref["dataset"]["body"]["schemaRef"]["id"],
        mapping_set_id=ids["mapping_set"],
        mapping_version="0",
        frequency=schedule.frequency if schedule else "once",
        interval=schedule.interval if schedule else None,
        start_time=schedule.start_time if schedule else None,
        owner=actor,
    )
