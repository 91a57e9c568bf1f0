"""Source connections (which Stripe resource) and target connections (which dataset)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response

from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.flowservice import entities as ent
from emulators.aep.flowservice.blueprint import blueprint
from emulators.aep.ids import flow_entity_id
from emulators.aep.patching import apply_patch, normalise_operations, touched_roots
from emulators.aep.specs import CONNECTION_SPECS, DATA_LAKE_SPEC_ID
from emulators.aep.web import invalid, read_json, read_json_object, require_string, spec_ref

DATASETS = "dataSets"
Validator = Callable[[dict[str, Any]], dict[str, Any]]


# -- source connections -----------------------------------------------------------------------


@blueprint.post("/sourceConnections")
def create_source_connection():
    body = read_json_object()
    doc = ent.metadata(flow_entity_id())
    doc.update(
        {
            "name": require_string(body, "name"),
            "description": body.get("description", ""),
            "baseConnectionId": body.get("baseConnectionId"),
            "state": "enabled",
            "data": body.get("data"),
            "connectionSpec": spec_ref(body, "connectionSpec"),
            "params": body.get("params") or {},
        }
    )
    doc = _validated_source(doc)
    ent.insert(ent.SOURCE_CONNECTIONS, doc)
    return ent.created_response(ent.SOURCE_CONNECTIONS, doc)


def _validated_source(doc: dict[str, Any]) -> dict[str, Any]:
    spec = CONNECTION_SPECS.get(doc["connectionSpec"]["id"])
    if spec is None or "sourceSpec" not in spec:
        raise ApiError(
            400, "1413", f"The connection spec id '{doc['connectionSpec']['id']}' is not valid."
        )
    base_id = doc.get("baseConnectionId")
    if not isinstance(base_id, str) or not base_id:
        raise invalid("'baseConnectionId' is required for this source.")
    base = ent.find(ent.CONNECTIONS, base_id)
    if base is None:
        raise invalid(f"The base connection '{base_id}' does not exist in this sandbox.")
    if base["connectionSpec"]["id"] != spec["id"]:
        raise invalid(
            f"The base connection '{base_id}' uses connection spec "
            f"'{base['connectionSpec']['id']}', not '{spec['id']}'."
        )
    _validate_data_format(doc.get("data"))
    _validate_params(doc.get("params"), spec["sourceSpec"]["spec"])
    doc["inheritedAttributes"] = {
        "baseConnection": {"id": base_id, "connectionSpec": base["connectionSpec"]}
    }
    return doc


def _validate_data_format(data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("format"), str):
        raise invalid("'data.format' is required.")
    if data["format"].lower() != "json":
        raise invalid(
            f"data.format '{data['format']}' is not supported by the Stripe source; use 'json'."
        )


def _validate_params(params: Any, spec: dict[str, Any]) -> None:
    if not isinstance(params, dict):
        raise invalid("'params' must be an object.")
    for field in spec.get("required", []):
        if field not in params:
            raise invalid(f"'params.{field}' is required.")
    for field, rule in spec.get("properties", {}).items():
        if field in params and "enum" in rule and params[field] not in rule["enum"]:
            raise invalid(
                f"params.{field} '{params[field]}' is not supported; use one of "
                f"{', '.join(rule['enum'])}."
            )


@blueprint.get("/sourceConnections")
def list_source_connections() -> Response:
    return ent.list_response(ent.SOURCE_CONNECTIONS)


@blueprint.get("/sourceConnections/<connection_id>")
def get_source_connection(connection_id: str) -> Response:
    return ent.item_response(ent.load(ent.SOURCE_CONNECTIONS, connection_id))


@blueprint.patch("/sourceConnections/<connection_id>")
def patch_source_connection(connection_id: str) -> Response:
    return _patch(ent.SOURCE_CONNECTIONS, connection_id, _validated_source)


@blueprint.delete("/sourceConnections/<connection_id>")
def delete_source_connection(connection_id: str):
    return _delete(
        ent.SOURCE_CONNECTIONS,
        connection_id,
        lambda flow: connection_id in flow.get("sourceConnectionIds", []),
    )


# -- target connections -----------------------------------------------------------------------


@blueprint.post("/targetConnections")
def create_target_connection():
    body = read_json_object()
    doc = ent.metadata(flow_entity_id())
    doc.update(
        {
            "name": body.get("name") or "",
            "description": body.get("description", ""),
            "state": "enabled",
            "data": body.get("data"),
            "connectionSpec": spec_ref(body, "connectionSpec"),
            "params": body.get("params") or {},
        }
    )
    doc = _validated_target(doc)
    ent.insert(ent.TARGET_CONNECTIONS, doc)
    return ent.created_response(ent.TARGET_CONNECTIONS, doc)


def _validated_target(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["connectionSpec"]["id"] != DATA_LAKE_SPEC_ID:
        raise ApiError(
            400,
            "1413",
            f"The connection spec id '{doc['connectionSpec']['id']}' is not a valid target; "
            f"use the data lake spec {DATA_LAKE_SPEC_ID}.",
        )
    data = doc.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("format"), str):
        raise invalid("'data.format' is required.")
    params = doc.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("dataSetId"), str):
        raise invalid("'params.dataSetId' is required.")
    dataset = emulator().store.get(DATASETS, params["dataSetId"], caller().scope)
    if dataset is None:
        raise invalid(f"The dataset '{params['dataSetId']}' does not exist in this sandbox.")
    schema = data.get("schema")
    dataset_schema = dataset.get("schemaRef", {}).get("id")
    if isinstance(schema, dict) and schema.get("id") and schema["id"] != dataset_schema:
        raise ApiError(
            400,
            "1425",
            f"Error while matching schema in target dataset {params['dataSetId']} "
            f"({dataset_schema}) with schema in target connection ({schema['id']}).",
        )
    return doc


@blueprint.get("/targetConnections")
def list_target_connections() -> Response:
    return ent.list_response(ent.TARGET_CONNECTIONS)


@blueprint.get("/targetConnections/<connection_id>")
def get_target_connection(connection_id: str) -> Response:
    return ent.item_response(ent.load(ent.TARGET_CONNECTIONS, connection_id))


@blueprint.patch("/targetConnections/<connection_id>")
def patch_target_connection(connection_id: str) -> Response:
    return _patch(ent.TARGET_CONNECTIONS, connection_id, _validated_target)


@blueprint.delete("/targetConnections/<connection_id>")
def delete_target_connection(connection_id: str):
    return _delete(
        ent.TARGET_CONNECTIONS,
        connection_id,
        lambda flow: connection_id in flow.get("targetConnectionIds", []),
    )


# -- shared -----------------------------------------------------------------------------------


def _patch(kind: str, entity_id: str, validate: Validator) -> Response:
    with emulator().store.transaction():
        doc = ent.load(kind, entity_id)
        ent.check_if_match(doc)
        operations = normalise_operations(read_json())
        roots = touched_roots(operations)
        if "connectionSpec" in roots:
            raise ApiError(400, "1414", "The connection spec of a connection cannot be changed.")
        ent.reject_system_fields(roots, frozenset({"state"}))
        patched = validate(apply_patch(doc, operations))
        ent.save(kind, ent.touch(patched))
    return ent.id_etag(patched)


def _delete(kind: str, entity_id: str, used_by: Callable[[dict[str, Any]], bool]):
    with emulator().store.transaction():
        ent.load(kind, entity_id)
        using = ent.flows_using(used_by)
        if using:
            raise ApiError(
                400,
                "1418",
                f"The {kind[:-1]} {entity_id} cannot be deleted because it is being used in one "
                f"or more flows ({', '.join(using)}). Delete the flows first.",
            )
        emulator().store.delete(kind, entity_id)
    return "", 204
