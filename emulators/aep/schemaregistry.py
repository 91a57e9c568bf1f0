"""Schema Registry (``/data/foundation/schemaregistry``): the tenant container's classes, field
groups and schemas, the ``/stats`` tenant lookup, and the Accept-header rules of its reads.

Resources are addressed by their ``$id`` (URL-encoded) or their ``meta:altId``. Field groups are
still ``mixins`` inside the registry (ids, resource type), as on the platform.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, jsonify, request

from emulators.aep import descriptors
from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.ids import now_ms, schema_hex
from emulators.aep.patching import apply_patch, normalise_operations
from emulators.aep.store import Scope
from emulators.aep.web import read_json, read_json_object, require_string
from emulators.aep.xdm import resolve_schema

blueprint = Blueprint("schemaregistry", __name__, url_prefix="/data/foundation/schemaregistry")

# URL segment -> (stored kind == id segment, meta:resourceType)
RESOURCES = {
    "classes": "classes",
    "fieldgroups": "mixins",
    "mixins": "mixins",
    "schemas": "schemas",
}
BEHAVIOURS = frozenset(
    {
        "https://ns.adobe.com/xdm/data/record",
        "https://ns.adobe.com/xdm/data/time-series",
        "https://ns.adobe.com/xdm/data/adhoc",
    }
)
STANDARD_CLASSES = frozenset(
    {
        "https://ns.adobe.com/xdm/context/profile",
        "https://ns.adobe.com/xdm/context/experienceevent",
    }
)
_ACCEPT = re.compile(
    r"^application/vnd\.adobe\.(xed|xdm)(?P<variant>-id|-full|-notext|-full-notext|-full-desc)?"
    r"\+json"
)
LIST_LIMIT = 300


def _global_class(class_id: str, alt_id: str, title: str, behaviour: str) -> dict[str, Any]:
    return {
        "$id": class_id,
        "meta:altId": alt_id,
        "meta:resourceType": "classes",
        "version": "1.0",
        "title": title,
        "type": "object",
        "meta:extends": [behaviour],
        "meta:containerId": "global",
        "meta:abstract": True,
        "meta:extensible": True,
        "allOf": [{"$ref": behaviour}],
    }


# The read-only global container holds Adobe's standard classes; their fields are not modelled.
GLOBAL_RESOURCES: dict[str, list[dict[str, Any]]] = {
    "classes": [
        _global_class(
            "https://ns.adobe.com/xdm/context/profile",
            "_xdm.context.profile",
            "XDM Individual Profile",
            "https://ns.adobe.com/xdm/data/record",
        ),
        _global_class(
            "https://ns.adobe.com/xdm/context/experienceevent",
            "_xdm.context.experienceevent",
            "XDM ExperienceEvent",
            "https://ns.adobe.com/xdm/data/time-series",
        ),
    ],
    "mixins": [],
    "schemas": [],
}


# -- tenant resources ---------------------------------------------------------------------------


@blueprint.get("/stats")
def stats() -> Response:
    who = caller()
    scope = who.scope
    docs = {kind: emulator().store.list(kind, scope) for kind in ("classes", "mixins", "schemas")}
    every = [d for kind_docs in docs.values() for d in kind_docs]
    created = sorted(every, key=lambda d: d["meta:registryMetadata"]["repo:createdDate"])
    updated = sorted(every, key=lambda d: d["meta:registryMetadata"]["repo:lastModifiedDate"])
    return jsonify(
        {
            "imsOrg": who.org.ims_org_id,
            "tenantId": who.org.tenant_id,
            "counts": {
                "schemas": len(docs["schemas"]),
                "mixins": len(docs["mixins"]),
                "datatypes": 0,
                "classes": len(docs["classes"]),
                "unions": 0,
            },
            "recentlyCreatedResources": [_summary(d) for d in reversed(created[-5:])],
            "recentlyUpdatedResources": [_summary(d) for d in reversed(updated[-5:])],
            "classUsage": _class_usage(docs["schemas"]),
        }
    )


@blueprint.post("/tenant/<resource>")
def create_resource(resource: str):
    kind = _kind(resource)
    body = read_json_object()
    require_string(body, "title")
    tenant = caller().org.tenant_id
    hex_id = schema_hex()
    doc = copy.deepcopy(body)
    doc.update(
        {
            "$id": f"https://ns.adobe.com/{tenant}/{kind}/{hex_id}",
            "meta:altId": f"_{tenant}.{kind}.{hex_id}",
            "meta:resourceType": kind,
            "version": "1.0",
            "type": body.get("type", "object"),
            "meta:containerId": "tenant",
            "meta:tenantNamespace": f"_{tenant}",
            "meta:registryMetadata": _registry_metadata(None),
        }
    )
    doc = _validated(kind, doc)
    emulator().store.insert(
        kind, doc, caller().scope, entity_id=doc["$id"], alt_id=doc["meta:altId"],
        created_at=now_ms(),
    )  # fmt: skip
    return jsonify(doc), 201


@blueprint.get("/tenant/<resource>")
def list_resources(resource: str) -> Response:
    kind = _kind(resource)
    variant = _accept_variant()
    docs = emulator().store.list(kind, caller().scope)
    orderby = request.args.get("orderby", "")
    if orderby:
        field = orderby.lstrip("+- ")
        docs = sorted(docs, key=lambda d: str(d.get(field, "")), reverse=orderby.startswith("-"))
    docs = _filtered(docs)
    start, limit = _start(docs, orderby), _limit()
    page = docs[start : start + limit]
    has_more = start + limit < len(docs)
    results = [_summary(d) if variant == "-id" else _present(d, variant) for d in page]
    next_href = (
        f"/data/foundation/schemaregistry/tenant/{resource}?start={start + limit}&limit={limit}"
        if has_more
        else None
    )
    return jsonify(
        {
            "results": results,
            "_page": {
                "orderby": orderby,
                "next": str(start + limit) if has_more else None,
                "count": len(results),
            },
            "_links": {
                "next": {"href": next_href} if next_href else None,
                "global_schemas": {
                    "href": f"https://platform.adobe.io/data/foundation/schemaregistry/global/{resource}"
                },
            },
        }
    )


@blueprint.get("/tenant/<resource>/<path:ref>")
def get_resource(resource: str, ref: str) -> Response:
    kind = _kind(resource)
    variant = _accept_variant()
    if variant == "-id":
        raise _not_acceptable()
    return jsonify(_present(_load(kind, ref), variant))


@blueprint.patch("/tenant/<resource>/<path:ref>")
def patch_resource(resource: str, ref: str) -> Response:
    kind = _kind(resource)
    store = emulator().store
    with store.transaction():
        doc = _load(kind, ref)
        operations = normalise_operations(read_json())
        patched = apply_patch(doc, operations)
        for fixed in ("$id", "meta:altId", "meta:resourceType", "meta:containerId"):
            if patched.get(fixed) != doc.get(fixed):
                raise ApiError(400, "1012", f"'{fixed}' cannot be changed.")
        patched["version"] = _next_minor(doc.get("version", "1.0"))
        patched["meta:registryMetadata"] = _registry_metadata(doc["meta:registryMetadata"])
        patched = _validated(kind, patched)
        if kind == "schemas":
            descriptors.check_union_tag(doc, patched, caller().scope)
        store.replace(kind, doc["$id"], patched, now_ms())
    return jsonify(patched)


@blueprint.delete("/tenant/<resource>/<path:ref>")
def delete_resource(resource: str, ref: str):
    kind = _kind(resource)
    store = emulator().store
    with store.transaction():
        doc = _load(kind, ref)
        if kind != "schemas" and _referenced_by_schema(doc["$id"]):
            raise ApiError(
                400, "1011", f"{doc['$id']} is used by one or more schemas and cannot be deleted."
            )
        store.delete(kind, doc["$id"])
    return "", 204


# -- global container (read-only) ---------------------------------------------------------------


@blueprint.get("/global/<resource>")
def list_global_resources(resource: str) -> Response:
    variant = _accept_variant()
    docs = GLOBAL_RESOURCES[_kind(resource)]
    results = [_summary(d) if variant == "-id" else d for d in docs]
    return jsonify(
        {
            "results": results,
            "_page": {"orderby": request.args.get("orderby", ""), "next": None,
                      "count": len(results)},
            "_links": {"next": None},
        }
    )  # fmt: skip


@blueprint.get("/global/<resource>/<path:ref>")
def get_global_resource(resource: str, ref: str) -> Response:
    docs = GLOBAL_RESOURCES[_kind(resource)]
    if _accept_variant() == "-id":
        raise _not_acceptable()
    ref = _normalised_ref(ref)
    found = next((d for d in docs if ref in (d["$id"], d["meta:altId"])), None)
    if found is None:
        raise ApiError(404, "1010", f"The requested resource {ref} was not found.")
    return jsonify(found)


# -- validation ---------------------------------------------------------------------------------


def _validated(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    refs = [p["$ref"] for p in doc.get("allOf", []) if isinstance(p, dict) and "$ref" in p]
    external = [r for r in refs if not r.startswith("#/")]
    if kind == "classes":
        doc["meta:extends"] = _unique([r for r in external if r in BEHAVIOURS])
        doc["meta:abstract"] = True
    elif kind == "mixins":
        _check_tenant_fields(doc)
        for class_id in doc.get("meta:intendedToExtend") or []:
            _require_class(class_id)
        doc["meta:abstract"] = True
    else:
        _validate_schema_refs(doc, external)
    doc.setdefault("meta:extensible", kind != "schemas")
    return doc


def _validate_schema_refs(doc: dict[str, Any], refs: list[str]) -> None:
    classes = [r for r in refs if _is_class(r)]
    if len(classes) != 1:
        raise ApiError(
            400,
            "1010",
            f"A schema must reference exactly one class in allOf (found {len(classes)}).",
        )
    class_doc = _find_any(classes[0])
    if class_doc is None and classes[0] not in STANDARD_CLASSES:
        raise ApiError(400, "1010", f"The referenced class '{classes[0]}' does not exist.")
    extends = [classes[0], *(class_doc or {}).get("meta:extends", [])]
    for ref in refs:
        if ref == classes[0]:
            continue
        if ref.startswith(f"https://ns.adobe.com/{caller().org.tenant_id}/"):
            field_group = _find_any(ref)
            if field_group is None:
                raise ApiError(400, "1010", f"The referenced resource '{ref}' does not exist.")
            _check_compatible(field_group, classes[0])
        extends.append(ref)
    doc["meta:class"] = classes[0]
    doc["meta:extends"] = _unique(extends)
    doc["meta:abstract"] = False


def _is_class(ref: str) -> bool:
    return ref in STANDARD_CLASSES or "/classes/" in ref


def _require_class(class_id: str) -> None:
    if class_id in STANDARD_CLASSES or class_id in BEHAVIOURS:
        return
    if _find_any(class_id) is None:
        raise ApiError(
            400, "1010", f"meta:intendedToExtend references '{class_id}', which does not exist."
        )


def _check_compatible(field_group: dict[str, Any], class_id: str) -> None:
    intended = field_group.get("meta:intendedToExtend") or []
    if intended and class_id not in intended:
        raise ApiError(
            400,
            "1010",
            f"The field group {field_group['$id']} is not compatible with class {class_id} "
            "(see its meta:intendedToExtend).",
        )


def _check_tenant_fields(doc: dict[str, Any]) -> None:
    """Custom fields live under ``_{tenantId}``; anything else would clash with Adobe's fields."""
    namespace = f"_{caller().org.tenant_id}"
    for name, definition in (doc.get("definitions") or {}).items():
        for field in (definition or {}).get("properties", {}) or {}:
            if field != namespace:
                raise ApiError(
                    400,
                    "1010",
                    f"Custom field '{field}' in definition '{name}' must be nested under the "
                    f"tenant namespace '{namespace}'.",
                )


# -- helpers ------------------------------------------------------------------------------------


def _kind(resource: str) -> str:
    kind = RESOURCES.get(resource)
    if kind is None:
        raise ApiError(404, "1010", f"Unknown tenant resource type '{resource}'.")
    return kind


def _accept_variant() -> str:
    accept = request.headers.get("Accept", "")
    match = _ACCEPT.match(accept.strip())
    if match is None:
        raise _not_acceptable()
    return match.group("variant") or ""


def _not_acceptable() -> ApiError:
    return ApiError(
        406,
        "1006",
        f"The Accept header '{request.headers.get('Accept', '')}' is not supported here; use "
        "application/vnd.adobe.xed-id+json to list or "
        "application/vnd.adobe.xed+json; version=1 to look up.",
    )


def _load(kind: str, ref: str) -> dict[str, Any]:
    ref = _normalised_ref(ref)
    scope = caller().scope
    store = emulator().store
    doc = store.get(kind, ref, scope) or store.get_by_alt(kind, ref, scope)
    if doc is None:
        raise ApiError(404, "1010", f"The requested resource {ref} was not found.")
    return doc


def _normalised_ref(ref: str) -> str:
    ref = unquote(ref)
    # Proxies and WSGI servers collapse the double slash of an un-encoded https:// id.
    return re.sub(r"^(https?):/(?!/)", r"\1://", ref)


def _find_any(ref: str) -> dict[str, Any] | None:
    scope: Scope = caller().scope
    for kind in ("classes", "mixins", "schemas"):
        doc = emulator().store.get(kind, ref, scope)
        if doc is not None:
            return doc
    return None


def _referenced_by_schema(resource_id: str) -> bool:
    schemas = emulator().store.list("schemas", caller().scope)
    return any(resource_id in s.get("meta:extends", []) for s in schemas)


def _present(doc: dict[str, Any], variant: str) -> dict[str, Any]:
    if variant.startswith("-full"):
        resolved = resolve_schema(doc, emulator().executor.schema_lookup(caller().scope))
        full = {k: v for k, v in doc.items() if k not in ("allOf", "definitions")}
        full["properties"] = resolved.get("properties", {})
        return full
    return doc


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "$id": doc["$id"],
        "meta:altId": doc["meta:altId"],
        "version": doc["version"],
        "title": doc.get("title"),
        "meta:resourceType": doc["meta:resourceType"],
    }


def _class_usage(schemas: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    usage: dict[str, list[dict[str, Any]]] = {}
    for schema in schemas:
        usage.setdefault(schema.get("meta:class", ""), []).append(
            {"$id": schema["$id"], "title": schema.get("title")}
        )
    return usage


def _registry_metadata(previous: dict[str, Any] | None) -> dict[str, Any]:
    now = now_ms()
    client = caller().client_id
    created = previous or {
        "repo:createdDate": now,
        "xdm:createdClientId": client,
        "xdm:createdUserId": caller().principal,
    }
    return {
        "repo:createdDate": created["repo:createdDate"],
        "repo:lastModifiedDate": now,
        "xdm:createdClientId": created["xdm:createdClientId"],
        "xdm:lastModifiedClientId": client,
        "xdm:createdUserId": created["xdm:createdUserId"],
        "xdm:lastModifiedUserId": caller().principal,
        "eTag": schema_hex()[:32],
        "meta:globalLibVersion": "1.52.1",
    }


def _filtered(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``property=field==value`` filters (the registry's own, simpler syntax)."""
    for expression in request.args.getlist("property"):
        field, _, value = expression.partition("==")
        if value:
            docs = [d for d in docs if _matches(d.get(field.strip()), value.strip())]
    return docs


def _matches(value: Any, wanted: str) -> bool:
    if isinstance(value, list):
        return wanted in value
    return str(value) == wanted


def _start(docs: list[dict[str, Any]], orderby: str) -> int:
    text = request.args.get("start", "")
    if not text:
        return 0
    if text.isdigit():
        return int(text)
    # A non-numeric start is a value of the orderby field to continue after.
    field = orderby.lstrip("+- ") or "title"
    return next((i for i, d in enumerate(docs) if str(d.get(field, "")) > text), len(docs))


def _limit() -> int:
    text = request.args.get("limit", "")
    if not text:
        return LIST_LIMIT
    if not text.isdigit() or not 0 < int(text) <= 500:
        raise ApiError(400, "1013", "limit must be an integer between 1 and 500.")
    return min(int(text), LIST_LIMIT)


def _next_minor(version: str) -> str:
    major, _, minor = version.partition(".")
    return f"{major}.{int(minor or 0) + 1}"


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
