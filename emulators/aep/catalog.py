"""Catalog (``/data/foundation/catalog``): datasets, and the batches flow runs write into them.

Catalog answers with objects keyed by id (``{"<id>": {...}}``), creates with
``["@/dataSets/<id>"]``, pages with ``limit`` (default 20, at most 100) and ``start``, and trims
fields with ``properties``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulators.aep import descriptors
from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.ids import dataset_id, now_ms
from emulators.aep.web import read_json_object, require_string

blueprint = Blueprint("catalog", __name__, url_prefix="/data/foundation/catalog")

DATASETS = "dataSets"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Query parameters that filter on the top-level field of the same name.
TIME_SERIES = "https://ns.adobe.com/xdm/data/time-series"
TIME_SERIES_CLASSES = frozenset({"https://ns.adobe.com/xdm/context/experienceevent"})
FIELD_FILTERS = ("name", "description", "createdClient", "createdUser", "updatedUser", "state")


@blueprint.post("/dataSets")
def create_dataset():
    body = read_json_object()
    name = require_string(body, "name")
    schema_ref = body.get("schemaRef")
    if not isinstance(schema_ref, dict) or not isinstance(schema_ref.get("id"), str):
        raise ApiError(400, "1020", "'schemaRef.id' is required.")
    scope = caller().scope
    schema = emulator().store.get("schemas", schema_ref["id"], scope)
    if schema is None:
        raise ApiError(
            400, "1021", f"The schema '{schema_ref['id']}' does not exist in this sandbox."
        )
    descriptors.check_profile_dataset(body.get("tags"), schema, scope)
    new_id = dataset_id()
    doc = _dataset_doc(new_id, name, body, schema_ref, schema)
    emulator().store.insert(DATASETS, doc, scope, entity_id=new_id, created_at=doc["created"])
    location = f"{request.host_url.rstrip('/')}/data/foundation/catalog/dataSets/{new_id}"
    return jsonify([f"@/dataSets/{new_id}"]), 201, {"Location": location}


@blueprint.get("/dataSets")
def list_datasets() -> Response:
    docs = emulator().store.list(DATASETS, caller().scope)
    docs = [d for d in docs if _passes_filters(d)]
    docs = _ordered(docs, request.args.get("orderBy", ""))
    start, limit = _int("start", 0, 0), min(_int("limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    page = docs[start : start + limit]
    return jsonify({doc["id"]: _project(doc) for doc in page})


@blueprint.get("/dataSets/<dataset>")
def get_dataset(dataset: str) -> Response:
    doc = _load(dataset)
    return jsonify({dataset: _project(doc)})


@blueprint.delete("/dataSets/<dataset>")
def delete_dataset(dataset: str) -> Response:
    _load(dataset)
    emulator().store.delete(DATASETS, dataset)
    return jsonify([f"@/dataSets/{dataset}"])


def _dataset_doc(
    new_id: str,
    name: str,
    body: dict[str, Any],
    schema_ref: dict[str, Any],
    schema: dict[str, Any],
) -> dict[str, Any]:
    """A dataset as Catalog keeps it: every field of Adobe's documented examples
    (help/catalog/api/update-object.md, help/catalog/datasets/enable-for-profile.md), including
    those Catalog adds itself: the query table tag, the storage format, the classification."""
    who = caller()
    now = now_ms()
    return {
        "id": new_id,
        "name": name,
        "description": body.get("description", ""),
        "imsOrg": who.org.ims_org_id,
        "sandboxId": who.sandbox.id,
        "tags": {**_system_tags(name, now), **(body.get("tags") or {})},
        "classification": {
            "dataBehavior": _data_behavior(schema),
            "managedBy": "CUSTOMER",
        },
        "extensions": {"adobe_lakeHouse": {}, "adobe_unifiedProfile": {}},
        "version": "1.0.0",
        "created": now,
        "updated": now,
        "createdClient": who.client_id,
        "createdUser": who.principal,
        "updatedUser": who.principal,
        "viewId": dataset_id(),
        "basePath": f"adl://emulator/{who.org.ims_org_id}/{who.sandbox.id}/{new_id}",
        "fileDescription": {},
        "files": f"@/dataSetFiles?dataSetId={new_id}",
        "schemaRef": {
            "id": schema_ref["id"],
            "contentType": schema_ref.get("contentType")
            or "application/vnd.adobe.xed+json;version=1",
        },
        "enableErrorDiagnostics": bool(body.get("enableErrorDiagnostics", False)),
        "state": "DRAFT",
    }


def _system_tags(name: str, created_ms: int) -> dict[str, list[str]]:
    """The tags Catalog gives every dataset: its Query Service table, named after the dataset
    with the creation time appended (`acme_sales_20250127_113331_106`), and its format."""
    stamp = datetime.fromtimestamp(created_ms / 1000, UTC)
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "dataset"
    table = f"{slug}_{stamp:%Y%m%d_%H%M%S}_{created_ms % 1000:03d}"
    return {"adobe/pqs/table": [table], "adobe/siphon/table/format": ["delta"]}


def _data_behavior(schema: dict[str, Any]) -> str:
    """`time-series` or `record`, from the behaviour the dataset's schema extends."""
    extends = schema.get("meta:extends") or []
    if TIME_SERIES in extends or schema.get("meta:class") in TIME_SERIES_CLASSES:
        return "time-series"
    return "record"


def _load(dataset: str) -> dict[str, Any]:
    doc = emulator().store.get(DATASETS, dataset, caller().scope)
    if doc is None:
        raise ApiError(404, "1024", f"Dataset '{dataset}' was not found.")
    return doc


def _project(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k != "id"}
    wanted = request.args.get("properties")
    if not wanted:
        return shown
    fields = {f.strip() for f in wanted.split(",") if f.strip()}
    return {k: v for k, v in shown.items() if k in fields}


def _passes_filters(doc: dict[str, Any]) -> bool:
    for field in FIELD_FILTERS:
        wanted = request.args.get(field)
        if wanted is not None and str(doc.get(field, "")) != wanted:
            return False
    return True


def _ordered(docs: list[dict[str, Any]], order_by: str) -> list[dict[str, Any]]:
    """``orderBy=asc:created`` / ``desc:updated``; insertion order otherwise."""
    if not order_by:
        return docs
    direction, _, field = order_by.partition(":")
    if not field:
        direction, field = "asc", direction
    first = field.split(",")[0]
    return sorted(docs, key=lambda d: _sortable(d.get(first)), reverse=direction.lower() == "desc")


def _sortable(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, "" if value is None else str(value))


def _int(name: str, default: int, minimum: int) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    if not text.lstrip("-").isdigit() or int(text) < minimum:
        raise ApiError(400, "1022", f"'{name}' must be an integer of at least {minimum}.")
    return int(text)
