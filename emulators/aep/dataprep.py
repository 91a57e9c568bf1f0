"""Data Prep (``/data/foundation/conversion``): mapping sets, their versions, validate, preview.

Both request shapes are accepted: the modern ``outputSchema.schemaRef`` + ``source``/
``destination``/``sourceType`` and the legacy ``xdmSchema`` + ``sourceAttribute``/
``destinationXdmPath`` the Stripe tutorial sends. GET returns both naming sets per mapping.
Every version is kept: ``PUT`` adds one, ``GET ?version=N`` reads an older one, and flows pin
the version they run.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.ids import mapping_set_id, now_ms
from emulators.aep.mapping import (
    STORED_SOURCE_TYPES,
    MappingValidationError,
    compile_mappings,
    normalise_mappings,
    preview,
    validate_mappings,
)
from emulators.aep.store import Scope, Store
from emulators.aep.variance import MAPPING_SET_DELETE_REFUSED
from emulators.aep.web import invalid, read_json_object
from emulators.aep.xdm import resolve_schema

blueprint = Blueprint("dataprep", __name__, url_prefix="/data/foundation/conversion")

MAPPING_SETS = "mappingSets"
VERSIONS = "mappingSetVersions"
OUTPUT_CONTENT_TYPE = "application/vnd.adobe.xed-full+json;version=1"
DEFAULT_LIMIT = 10


# -- storage helpers used by flows and runs -----------------------------------------------------


def version_key(mapping_id: str, version: int) -> str:
    return f"{mapping_id}@{version}"


def load_version(
    store: Store, mapping_id: str, version: int, scope: Scope
) -> dict[str, Any] | None:
    return store.get(VERSIONS, version_key(mapping_id, version), scope)


def load_latest(store: Store, mapping_id: str, scope: Scope) -> dict[str, Any] | None:
    return store.get(MAPPING_SETS, mapping_id, scope)


def output_schema_id(mapping_set: dict[str, Any]) -> str | None:
    return mapping_set.get("outputSchema", {}).get("schemaRef", {}).get("id")


# -- routes -------------------------------------------------------------------------------------


@blueprint.post("/mappingSets")
def create_mapping_set() -> Response:
    body = read_json_object()
    schema_id, mappings = _validated_body(body)
    now = now_ms()
    doc = _version_doc(mapping_set_id(), 0, schema_id, mappings, body, now, now)
    _store_version(doc, created=True)
    return jsonify({key: doc[key] for key in _SUMMARY_FIELDS})


@blueprint.get("/mappingSets")
def list_mapping_sets() -> Response:
    limit = _int_arg("limit", DEFAULT_LIMIT, minimum=1)
    start = _int_arg("start", 0, minimum=0)
    docs = emulator().store.list(MAPPING_SETS, caller().scope)
    name = request.args.get("name")
    if name:
        docs = [d for d in docs if d.get("name") == name]
    docs = _ordered(docs, request.args.get("orderBy") or request.args.get("orderby") or "")
    page = docs[start : start + limit]
    body: dict[str, Any] = {"data": page, "_page": {"count": len(page), "limit": limit}}
    if start + limit < len(docs):
        body["_links"] = {
            "next": {
                "href": f"/mappingSets?limit={limit}&start={start + limit}",
                "templated": False,
            }
        }
    return jsonify(body)


@blueprint.get("/mappingSets/<mapping_id>")
def get_mapping_set(mapping_id: str) -> Response:
    doc = _load(mapping_id, request.args.get("version"))
    if request.args.get("expandSchema", "").lower() == "true":
        doc = _with_expanded_schema(doc)
    return jsonify(doc)


@blueprint.put("/mappingSets/<mapping_id>")
def update_mapping_set(mapping_id: str) -> Response:
    body = read_json_object()
    with emulator().store.transaction():
        latest = _load(mapping_id, None)
        schema_id, mappings = _validated_body(body)
        doc = _version_doc(
            mapping_id,
            latest["version"] + 1,
            schema_id,
            mappings,
            {"name": latest.get("name"), **body},
            latest["createdDate"],
            now_ms(),
            created_by=latest["createdBy"],
        )
        _store_version(doc, created=False)
    return jsonify(doc)


@blueprint.delete("/mappingSets/<mapping_id>")
def delete_mapping_set(mapping_id: str):
    if emulator().variance.on(MAPPING_SET_DELETE_REFUSED):
        raise ApiError(
            405, "1100", "DELETE /mappingSets/{id} is not supported: mapping sets are kept."
        )
    store = emulator().store
    with store.transaction():
        _load(mapping_id, None)
        store.delete(MAPPING_SETS, mapping_id)
        store.delete_children(VERSIONS, mapping_id)
    return "", 204


@blueprint.get("/mappingSets/<mapping_id>/mappings")
def list_mappings(mapping_id: str) -> Response:
    return jsonify(_load(mapping_id, request.args.get("version"))["mappings"])


@blueprint.get("/mappingSets/<mapping_id>/mappings/<item_id>")
def get_mapping(mapping_id: str, item_id: str) -> Response:
    doc = _load(mapping_id, request.args.get("version"))
    found = next((m for m in doc["mappings"] if m["id"] == item_id), None)
    if found is None:
        raise ApiError(404, "1101", f"Mapping {item_id} not found in mapping set {mapping_id}.")
    return jsonify(found)


@blueprint.post("/mappingSets/validate")
def validate_mapping_set() -> Response:
    body = read_json_object()
    schema = _resolved_output_schema(_schema_id(body, required=False))
    mappings = body.get("mappings")
    if not isinstance(mappings, list):
        raise invalid("'mappings' must be a list.")
    return jsonify({"validationResponse": validate_mappings(mappings, schema)})


@blueprint.post("/mappingSets/preview")
def preview_mapping_set() -> Response:
    body = read_json_object()
    mapping_set = body.get("mappingSet")
    if not isinstance(mapping_set, dict) or not isinstance(mapping_set.get("mappings"), list):
        raise invalid("'mappingSet.mappings' is required.")
    records = body.get("data")
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise invalid("'data' must be a list of sample records.")
    schema = _resolved_output_schema(_schema_id(mapping_set, required=False))
    try:
        return jsonify(preview(mapping_set["mappings"], records, schema))
    except MappingValidationError as exc:
        raise _mapping_error(exc) from exc


# -- request validation -------------------------------------------------------------------------


def _validated_body(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    schema_id = _schema_id(body, required=True)
    assert schema_id is not None
    raw_mappings = body.get("mappings")
    if not isinstance(raw_mappings, list) or not raw_mappings:
        raise invalid("'mappings' must be a non-empty list.")
    schema = _resolved_output_schema(schema_id)
    try:
        compile_mappings(raw_mappings, schema)
    except MappingValidationError as exc:
        raise _mapping_error(exc) from exc
    return schema_id, raw_mappings


def _schema_id(body: dict[str, Any], *, required: bool) -> str | None:
    output = body.get("outputSchema")
    schema_id = None
    if isinstance(output, dict):
        schema_id = (output.get("schemaRef") or {}).get("id")
    schema_id = schema_id or body.get("xdmSchema")
    if required and not isinstance(schema_id, str):
        raise invalid(
            "The target schema is required: 'outputSchema.schemaRef.id' (or legacy 'xdmSchema')."
        )
    return schema_id if isinstance(schema_id, str) else None


def _resolved_output_schema(schema_id: str | None) -> dict[str, Any] | None:
    if schema_id is None:
        return None
    scope = caller().scope
    schema = emulator().store.get("schemas", schema_id, scope)
    if schema is None:
        raise invalid(f"The output schema '{schema_id}' does not exist in this sandbox.")
    return resolve_schema(schema, emulator().executor.schema_lookup(scope))


def _mapping_error(error: MappingValidationError) -> ApiError:
    first = error.errors[0]
    code = first.code.split("-")[1] if first.code.count("-") == 2 else "1000"
    details = "; ".join(
        f"mapping {issue.index} ({issue.source or '?'} -> {issue.destination or '?'}): "
        f"{issue.message}"
        for issue in error.errors
    )
    return ApiError(
        400,
        code,
        f"The mapping set is invalid: {details}",
        report={
            "sub-errors": [
                {
                    "code": issue.code,
                    "message": issue.message,
                    "index": issue.index,
                    "source": issue.source,
                    "destination": issue.destination,
                }
                for issue in error.errors
            ]
        },
    )


# -- documents ----------------------------------------------------------------------------------

_SUMMARY_FIELDS = ("id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy")


def _version_doc(
    mapping_id: str,
    version: int,
    schema_id: str,
    raw_mappings: list[dict[str, Any]],
    body: dict[str, Any],
    created: int,
    modified: int,
    *,
    created_by: str | None = None,
) -> dict[str, Any]:
    who = caller().principal
    schema_ref = {"id": schema_id, "contentType": OUTPUT_CONTENT_TYPE}
    doc: dict[str, Any] = {
        "id": mapping_id,
        "version": version,
        "createdDate": created,
        "modifiedDate": modified,
        "createdBy": created_by or who,
        "modifiedBy": who,
    }
    if body.get("name"):
        doc["name"] = body["name"]
    doc.update(
        {
            "status": "PUBLISHED",
            "strictMapping": False,
            "allowNullValues": bool(body.get("allowNullValues", False)),
            "supportVersion": "1.1",
            "inputSchema": None,
            "outputSchema": {"id": mapping_set_id(), "version": version, "schemaRef": schema_ref},
            "mappings": [
                _mapping_doc(m, version, modified, who) for m in normalise_mappings(raw_mappings)
            ],
            "xdmVersion": str(body.get("xdmVersion") or "1.0"),
            "schemaRef": schema_ref,
            "xdmSchema": schema_id,
        }
    )
    return doc


def _mapping_doc(mapping: dict[str, Any], version: int, now: int, who: str) -> dict[str, Any]:
    source_type = STORED_SOURCE_TYPES.get(mapping["sourceType"], mapping["sourceType"])
    doc = {
        "id": mapping_set_id(),
        "version": version,
        "createdDate": now,
        "modifiedDate": now,
        "createdBy": who,
        "modifiedBy": who,
        "sourceType": source_type,
        "source": mapping["source"],
        "destination": mapping["destination"],
        "identity": mapping.get("identity", False),
        "primaryIdentity": mapping.get("primaryIdentity", False),
        "matchScore": 0.0,
        "functionVersion": 1,
        "sourceAttribute": mapping["source"],
        "destinationXdmPath": mapping["destination"],
    }
    for optional in ("name", "description"):
        if optional in mapping:
            doc[optional] = mapping[optional]
    return doc


def _store_version(doc: dict[str, Any], *, created: bool) -> None:
    store = emulator().store
    scope = caller().scope
    with store.transaction():
        store.insert(
            VERSIONS,
            doc,
            scope,
            entity_id=version_key(doc["id"], doc["version"]),
            parent_id=doc["id"],
            created_at=doc["modifiedDate"],
        )
        if created:
            store.insert(MAPPING_SETS, doc, scope, created_at=doc["createdDate"])
        else:
            store.replace(MAPPING_SETS, doc["id"], doc, doc["modifiedDate"])


def _load(mapping_id: str, version: str | None) -> dict[str, Any]:
    store = emulator().store
    scope = caller().scope
    if version is None or version == "":
        doc = load_latest(store, mapping_id, scope)
    else:
        if not version.isdigit():
            raise invalid(f"version '{version}' must be a non-negative integer.")
        doc = load_version(store, mapping_id, int(version), scope)
    if doc is None:
        suffix = f" version {version}" if version else ""
        raise ApiError(404, "1101", f"Mapping set {mapping_id}{suffix} not found.")
    return doc


def _with_expanded_schema(doc: dict[str, Any]) -> dict[str, Any]:
    schema = _resolved_output_schema(output_schema_id(doc))
    return {**doc, "outputSchema": {**doc["outputSchema"], "jsonSchema": schema}}


def _ordered(docs: list[dict[str, Any]], order_by: str) -> list[dict[str, Any]]:
    text = order_by.strip() or "-modifiedDate"
    descending = text.startswith("-")
    field = text.lstrip("+- ")
    field = {"updatedDate": "modifiedDate", "lastUpdateDate": "modifiedDate"}.get(field, field)
    if field not in ("createdDate", "modifiedDate"):
        raise invalid(f"orderBy '{order_by}' is not supported; use createdDate or updatedDate.")
    return sorted(docs, key=lambda d: d.get(field, 0), reverse=descending)


def _int_arg(name: str, default: int, *, minimum: int) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise invalid(f"'{name}' must be an integer.") from None
    if value < minimum:
        raise invalid(f"'{name}' must be at least {minimum}.")
    return value
