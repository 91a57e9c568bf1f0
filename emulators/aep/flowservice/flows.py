"""Flows (dataflows): create with validation against the RestStorageToAEP flow spec, update with
JSON Patch, enable/disable, delete. Creating or changing a flow (re)arms its schedule."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, request

from emulators.aep import dataprep
from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.flowservice import entities as ent
from emulators.aep.flowservice.blueprint import blueprint
from emulators.aep.ids import flow_entity_id, now_ms
from emulators.aep.patching import apply_patch, normalise_operations, touched_roots
from emulators.aep.schedule import parse_schedule, schedule_doc
from emulators.aep.specs import FLOW_SPECS
from emulators.aep.web import (
    check_shape,
    invalid,
    read_json,
    read_json_object,
    require_string,
    spec_ref,
)

# Where the flow spec lists the connection specs each side may use.
SPEC_IDS_FIELD = {
    ent.SOURCE_CONNECTIONS: "sourceConnectionSpecIds",
    ent.TARGET_CONNECTIONS: "targetConnectionSpecIds",
}
OPTION_FIELDS = ("errorDiagnosticsEnabled", "partialIngestionPercent", "isSampleDataflow")
STATUS_VALUES = ("IN_PROGRESS", "COMPLETED", "SUCCESS", "PARTIAL_SUCCESS", "FAILED",
                 "PARTIAL_FAILURE", "QUEUED", "SCHEDULED")  # fmt: skip
# The optional body of POST /flows/{id}/action (StateActionDTO in Adobe's spec). It reports the
# progress of draft operations the emulator does not have, so it is checked and then ignored.
STATE_ACTION = {
    "type": "object",
    "properties": {
        "percentCompleted": {"type": "number"},
        "status": {
            "type": "object",
            "properties": {
                "value": {"type": "string", "enum": STATUS_VALUES},
                "properties": {"type": "object"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "message": {"type": "string"},
                            "code": {"type": "string"},
                            "details": {"type": "object"},
                        },
                    },
                },
            },
        },
        "recordTypes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "extensions"],
                "properties": {"type": {"type": "string"}, "extensions": {"type": "object"}},
            },
        },
    },
}
SUB_OPERATIONS = ("APPLY", "ROLLBACK", "PROGRESS")
# Fields a PATCH may change; anything else belongs to the platform or to /action.
PATCHABLE = frozenset(
    {
        "name",
        "description",
        "sourceConnectionIds",
        "targetConnectionIds",
        "transformations",
        "scheduleParams",
        "options",
        "labels",
    }
)


@blueprint.post("/flows")
def create_flow():
    body = read_json_object()
    if "state" in body:
        raise ApiError(
            400,
            "1410",
            "The field 'state' cannot be set when creating a flow; flows start enabled.",
        )
    flow_spec = spec_ref(body, "flowSpec")
    if flow_spec["id"] not in FLOW_SPECS:
        raise ApiError(400, "1413", f"The flow spec id '{flow_spec['id']}' is not valid.")
    doc = ent.metadata(flow_entity_id())
    doc.update(
        {
            "name": require_string(body, "name"),
            "description": body.get("description", ""),
            "flowSpec": flow_spec,
            "state": "enabled",
            "sourceConnectionIds": body.get("sourceConnectionIds"),
            "targetConnectionIds": body.get("targetConnectionIds"),
            "transformations": body.get("transformations"),
            "scheduleParams": body.get("scheduleParams")
            or {"startTime": int(time.time()), "frequency": "once"},
        }
    )
    for optional in ("options", "labels"):
        if optional in body:
            doc[optional] = body[optional]
    doc = _validated(doc)
    doc["runs"] = f"/runs?property=flowId=={doc['id']}"
    doc["lastOperation"] = _operation("create", [])
    ent.insert(ent.FLOWS, doc)
    emulator().scheduler.flow_created(doc, caller().scope)
    return ent.created_response(ent.FLOWS, doc)


@blueprint.get("/flows")
def list_flows() -> Response:
    return ent.list_response(ent.FLOWS)


@blueprint.get("/flows/<flow_id>")
def get_flow(flow_id: str) -> Response:
    return ent.item_response(ent.load(ent.FLOWS, flow_id))


@blueprint.patch("/flows/<flow_id>")
def patch_flow(flow_id: str) -> Response:
    with emulator().store.transaction():
        doc = ent.load(ent.FLOWS, flow_id)
        ent.check_if_match(doc)
        operations = normalise_operations(read_json())
        roots = touched_roots(operations)
        if "state" in roots:
            raise ApiError(
                400,
                "1455",
                "An error has occurred while validating patch instructions: 'state' cannot be "
                f"patched; use POST /flows/{flow_id}/action?op=enable|disable.",
            )
        ent.reject_fields(roots - PATCHABLE)
        patched = _validated(apply_patch(doc, operations))
        if "scheduleParams" in roots:
            _check_start_time_change(doc, patched)
        patched["lastOperation"] = _operation("update", operations)
        ent.save(ent.FLOWS, ent.touch(patched))
        if "scheduleParams" in roots:
            emulator().scheduler.schedule_changed(patched)
    return ent.id_etag(patched)


@blueprint.delete("/flows/<flow_id>")
def delete_flow(flow_id: str):
    with emulator().store.transaction():
        ent.load(ent.FLOWS, flow_id)
        emulator().store.delete(ent.FLOWS, flow_id)
        emulator().scheduler.flow_deleted(flow_id)
    return "", 204


@blueprint.post("/flows/<flow_id>/action")
def flow_action(flow_id: str) -> Response:
    op = request.args.get("op", "").strip().lower().replace("_", "-")
    if op not in ("enable", "disable"):
        raise ApiError(
            400, "1422", f"The action '{request.args.get('op', '')}' is not supported for flows."
        )
    with emulator().store.transaction():
        doc = ent.load(ent.FLOWS, flow_id)
        ent.check_if_match(doc, required=False)
        _check_action_request()
        target_state = "enabled" if op == "enable" else "disabled"
        if doc["state"] == target_state:
            raise ApiError(
                400,
                "1422",
                f"The action {op} cannot be applied on the current state {doc['state']}",
            )
        doc["state"] = target_state
        doc["lastOperation"] = _operation(op, [])
        ent.save(ent.FLOWS, ent.touch(doc))
        emulator().scheduler.state_changed(flow_id, target_state == "enabled")
    return ent.id_etag(doc)


def _check_action_request() -> None:
    for sub_op in ",".join(request.args.getlist("subOp")).split(","):
        if sub_op and sub_op.strip().upper() not in SUB_OPERATIONS:
            raise invalid(f"subOp '{sub_op}' is not supported; use {', '.join(SUB_OPERATIONS)}.")
    body = read_json(required=False)
    if body is not None:
        check_shape(body, STATE_ACTION, "body")


@blueprint.get("/flows/<flow_id>/runs")
def list_flow_runs(flow_id: str) -> Response:
    ent.load(ent.FLOWS, flow_id)
    return ent.list_response(ent.RUNS, parent_id=flow_id)


# -- validation -------------------------------------------------------------------------------


def _validated(doc: dict[str, Any]) -> dict[str, Any]:
    """Check references and parameters; returns the doc in its stored (GET) form."""
    require_string(doc, "name")
    spec = FLOW_SPECS[doc["flowSpec"]["id"]]
    sources = _connections(doc, "sourceConnectionIds", ent.SOURCE_CONNECTIONS, spec)
    targets = _connections(doc, "targetConnectionIds", ent.TARGET_CONNECTIONS, spec)
    doc["transformations"] = _validated_transformations(doc.get("transformations"), targets)
    doc["scheduleParams"] = schedule_doc(parse_schedule(doc.get("scheduleParams")))
    if "options" in doc:
        doc["options"] = _validated_options(doc["options"])
    if "labels" in doc and not _is_string_list(doc["labels"]):
        raise invalid("'labels' must be a list of strings.")
    doc["inheritedAttributes"] = _inherited_attributes(sources, targets)
    return doc


def _connections(
    doc: dict[str, Any], field: str, kind: str, spec: dict[str, Any]
) -> list[dict[str, Any]]:
    ids = doc.get(field)
    if not _is_string_list(ids) or not ids:
        raise invalid(f"'{field}' must be a non-empty list of ids.")
    allowed = spec[SPEC_IDS_FIELD[kind]]
    found = []
    for entity_id in ids:
        connection = ent.find(kind, entity_id)
        if connection is None:
            raise invalid(f"The {kind[:-1]} '{entity_id}' does not exist in this sandbox.")
        if connection["connectionSpec"]["id"] not in allowed:
            raise invalid(
                f"The {kind[:-1]} '{entity_id}' (connection spec "
                f"{connection['connectionSpec']['id']}) is not supported by flow spec "
                f"{spec['name']}."
            )
        found.append(connection)
    return found


def _validated_transformations(raw: Any, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise invalid("'transformations' must list the Mapping transformation.")
    result = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise invalid("Each transformation needs a 'name' and 'params'.")
        params = dict(item.get("params") or {})
        if item["name"] == "Mapping":
            params = _validated_mapping_params(params, targets)
        result.append({"name": item["name"], "params": params})
    if sum(1 for t in result if t["name"] == "Mapping") != 1:
        raise invalid("Exactly one 'Mapping' transformation is required.")
    return result


def _validated_mapping_params(params: dict[str, Any], targets: list[dict]) -> dict[str, Any]:
    mapping_id = params.get("mappingId")
    if not isinstance(mapping_id, str) or not mapping_id:
        raise invalid("The Mapping transformation needs 'params.mappingId'.")
    raw_version = params.get("mappingVersion", 0)
    version = _integer(raw_version)
    store, scope = emulator().store, caller().scope
    if dataprep.load_latest(store, mapping_id, scope) is None:
        raise ApiError(400, "1412", f"The mapping set '{mapping_id}' does not exist.")
    mapping = None if version is None else dataprep.load_version(store, mapping_id, version, scope)
    if mapping is None:
        raise ApiError(
            400,
            "1412",
            f"The mapping version '{raw_version}' of mapping set {mapping_id} is not valid.",
        )
    mapping_schema = dataprep.output_schema_id(mapping)
    for target in targets:
        dataset_id = target["params"]["dataSetId"]
        dataset = emulator().store.get("dataSets", dataset_id, caller().scope) or {}
        dataset_schema = dataset.get("schemaRef", {}).get("id")
        if mapping_schema != dataset_schema:
            raise ApiError(
                400,
                "1425",
                f"Error while matching schema in target dataset {dataset_id} ({dataset_schema}) "
                f"with schema in mapping {mapping_id} ({mapping_schema}).",
            )
    return {**params, "mappingId": mapping_id, "mappingVersion": str(version)}


def _validated_options(options: Any) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise invalid("'options' must be an object.")
    unknown = set(options) - set(OPTION_FIELDS)
    if unknown:
        raise invalid(f"'options' has unknown field(s): {', '.join(sorted(unknown))}.")
    result = dict(options)
    for flag in ("errorDiagnosticsEnabled", "isSampleDataflow"):
        if flag in result and not isinstance(result[flag], bool):
            raise invalid(f"options.{flag} must be a boolean.")
    if "partialIngestionPercent" in result:
        percent = _number(result["partialIngestionPercent"])
        if percent is None or percent <= 0 or percent > 100:
            raise invalid("options.partialIngestionPercent must be a number in (0, 100].")
        result["partialIngestionPercent"] = int(percent) if percent.is_integer() else percent
    return result


def _check_start_time_change(before: dict[str, Any], after: dict[str, Any]) -> None:
    old_start = int(before["scheduleParams"]["startTime"])
    new_start = int(after["scheduleParams"]["startTime"])
    if new_start != old_start and old_start <= time.time():
        raise invalid(
            "You cannot update the startTime of a dataflow if the initially scheduled "
            "startTime has already occurred."
        )


def _inherited_attributes(sources: list[dict], targets: list[dict]) -> dict[str, Any]:
    return {
        "sourceConnections": [
            {
                "id": source["id"],
                "connectionSpec": source["connectionSpec"],
                "baseConnection": source.get("inheritedAttributes", {}).get("baseConnection", {}),
            }
            for source in sources
        ],
        "targetConnections": [
            {"id": target["id"], "connectionSpec": target["connectionSpec"]} for target in targets
        ],
        "properties": {"isSourceFlow": True, "isDestinationFlow": False},
    }


def _operation(name: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    now = now_ms()
    return {
        "started": now,
        "updated": now,
        "percentCompleted": 100.0,
        "status": {"value": "completed", "errors": []},
        "ops": operations,
        "operation": name,
    }


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
