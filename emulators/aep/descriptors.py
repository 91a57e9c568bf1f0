"""Schema Registry descriptors (``/data/foundation/schemaregistry/tenant/descriptors``) and the
rules of Real-Time Customer Profile that rest on them.

Shapes follow Adobe's xdm/api/descriptors.md: create answers 201 with the descriptor and its
``@id``; the list groups descriptors by ``@type`` in the form the ``Accept`` header names
(``xdm-id``, ``xdm-link``, ``xdm``; the ``-v2`` forms page with ``results``); lookup by ``@id``;
delete answers 204. Identity descriptors are checked as the registry checks them: the schema
exists, the property is a field of it, the namespace is one Identity Service knows, and a
schema has at most one primary identity.

Profile (xdm/troubleshooting-guide.md, "Does my schema need a primary identity?"; xdm/api/
schemas.md#union; catalog/datasets/enable-for-profile.md): a schema is enabled for Profile by
the ``union`` tag in ``meta:immutableTags``, which it may carry only with a primary identity,
and a dataset may be tagged ``unifiedProfile``/``unifiedIdentity`` ``enabled:true`` only when
its schema is enabled.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulators.aep import identity
from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.ids import now_ms
from emulators.aep.store import Scope
from emulators.aep.web import read_json_object
from emulators.aep.xdm import resolve_schema

blueprint = Blueprint("descriptors", __name__, url_prefix="/data/foundation/schemaregistry")

DESCRIPTORS = "descriptors"
IDENTITY = "xdm:descriptorIdentity"
UNION_TAG = "union"
_ACCEPT = re.compile(r"^application/vnd\.adobe\.xdm(?P<v2>-v2)?(?P<variant>-id|-link)?\+json")


@blueprint.post("/tenant/descriptors")
def create_descriptor():
    body = read_json_object()
    kind = body.get("@type")
    if not isinstance(kind, str) or not kind.startswith("xdm:"):
        raise ApiError(400, "1010", "'@type' is required and must name a descriptor type.")
    scope = caller().scope
    schema = _source_schema(body, scope)
    if kind == IDENTITY:
        _check_identity(body, schema, scope)
    doc = dict(body)
    doc.update(
        {
            "@id": secrets.token_hex(20),  # 40 hex characters, as in Adobe's examples
            "meta:containerId": "tenant",
            "imsOrg": caller().org.ims_org_id,
            "createdUser": caller().principal,
            "updatedUser": caller().principal,
            "createdClient": caller().client_id,
            "created": now_ms(),
            "updated": now_ms(),
        }
    )
    emulator().store.insert(
        DESCRIPTORS, doc, scope, entity_id=doc["@id"], parent_id=schema["$id"],
        created_at=doc["created"],
    )  # fmt: skip
    return jsonify(doc), 201


@blueprint.get("/tenant/descriptors")
def list_descriptors() -> Response:
    match = _ACCEPT.match(request.headers.get("Accept", "").strip())
    if match is None:
        raise ApiError(
            406,
            "1006",
            "Descriptors take an xdm Accept header, e.g. application/vnd.adobe.xdm-link+json.",
        )
    docs = emulator().store.list(DESCRIPTORS, caller().scope)
    variant = match.group("variant") or ""
    if match.group("v2"):
        return jsonify(
            {
                "results": [_shown(d, variant) for d in docs],
                "_page": {"count": len(docs), "next": None},
                "_links": {},
            }
        )
    grouped: dict[str, list[Any]] = {}
    for doc in docs:
        grouped.setdefault(doc["@type"], []).append(_shown(doc, variant))
    return jsonify(grouped)


@blueprint.get("/tenant/descriptors/<descriptor_id>")
def get_descriptor(descriptor_id: str) -> Response:
    return jsonify(_load(descriptor_id))


@blueprint.delete("/tenant/descriptors/<descriptor_id>")
def delete_descriptor(descriptor_id: str):
    doc = _load(descriptor_id)
    emulator().store.delete(DESCRIPTORS, doc["@id"])
    return "", 204


# -- Profile rules --------------------------------------------------------------------------


def has_primary_identity(schema_id: str, scope: Scope) -> bool:
    return any(
        d.get("@type") == IDENTITY and d.get("xdm:isPrimary") is True
        for d in emulator().store.list(DESCRIPTORS, scope, parent_id=schema_id)
    )


def check_union_tag(before: dict[str, Any], after: dict[str, Any], scope: Scope) -> None:
    """A PATCHed schema keeps its immutable tags, and takes ``union`` only with a primary
    identity (xdm/api/schemas.md#union; xdm/troubleshooting-guide.md)."""
    old = set(before.get("meta:immutableTags") or [])
    new = set(after.get("meta:immutableTags") or [])
    if not old <= new:
        raise ApiError(400, "1012", "Immutable tags can be added to a schema but never removed.")
    if UNION_TAG in new - old and not has_primary_identity(after["$id"], scope):
        raise ApiError(
            400,
            "1010",
            f"The schema {after['$id']} has no primary identity: create an identity descriptor "
            "with xdm:isPrimary true before enabling the schema for Profile (union tag).",
        )


def check_profile_dataset(tags: Any, schema: dict[str, Any], scope: Scope) -> None:
    """A dataset tagged for Profile or Identity Service needs a Profile-enabled schema: the
    ``union`` tag and a primary identity (catalog/datasets/enable-for-profile.md)."""
    if not isinstance(tags, dict):
        return
    enabled = [name for name in ("unifiedProfile", "unifiedIdentity") if _enabled(tags.get(name))]
    if not enabled:
        return
    missing = []
    if UNION_TAG not in (schema.get("meta:immutableTags") or []):
        missing.append("the union tag (meta:immutableTags)")
    if not has_primary_identity(schema["$id"], scope):
        missing.append("a primary identity descriptor")
    if missing:
        raise ApiError(
            400,
            "1030",
            f"The dataset cannot be enabled for {' and '.join(enabled)}: its schema "
            f"{schema['$id']} is not enabled for Profile; it needs {' and '.join(missing)}.",
        )


def _enabled(values: Any) -> bool:
    """Catalog's examples spell the tag both ``enabled:true`` and ``enabled: true``."""
    if not isinstance(values, list):
        return False
    return any(isinstance(v, str) and v.replace(" ", "").lower() == "enabled:true" for v in values)


# -- helpers --------------------------------------------------------------------------------


def _source_schema(body: dict[str, Any], scope: Scope) -> dict[str, Any]:
    schema_id = body.get("xdm:sourceSchema")
    if not isinstance(schema_id, str) or not schema_id:
        raise ApiError(400, "1010", "'xdm:sourceSchema' is required.")
    schema = emulator().store.get("schemas", schema_id, scope)
    if schema is None:
        raise ApiError(400, "1010", f"The schema '{schema_id}' does not exist in this sandbox.")
    if not isinstance(body.get("xdm:sourceVersion"), int):
        raise ApiError(400, "1010", "'xdm:sourceVersion' is required (the schema's major version).")
    return schema


def _check_identity(body: dict[str, Any], schema: dict[str, Any], scope: Scope) -> None:
    pointer = body.get("xdm:sourceProperty")
    if not isinstance(pointer, str) or not pointer.startswith("/") or pointer.endswith("/"):
        raise ApiError(
            400, "1010", "'xdm:sourceProperty' must be a path that starts with '/', e.g. /a/b."
        )
    if not _has_field(schema, pointer, scope):
        raise ApiError(400, "1010", f"'{pointer}' is not a field of the schema {schema['$id']}.")
    namespace = body.get("xdm:namespace")
    if body.get("xdm:property", "xdm:code") not in ("xdm:code", "xdm:id"):
        raise ApiError(400, "1010", "'xdm:property' must be xdm:code or xdm:id.")
    if not identity.namespace_exists(namespace, body.get("xdm:property", "xdm:code"), scope):
        raise ApiError(400, "1010", f"'{namespace}' is not an identity namespace of this sandbox.")
    if body.get("xdm:isPrimary") is True and has_primary_identity(schema["$id"], scope):
        raise ApiError(400, "1010", f"The schema {schema['$id']} already has a primary identity.")


def _has_field(schema: dict[str, Any], pointer: str, scope: Scope) -> bool:
    node: Any = resolve_schema(schema, emulator().executor.schema_lookup(scope))
    for part in pointer.strip("/").split("/"):
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or part not in properties:
            return False
        node = properties[part]
    return True


def _shown(doc: dict[str, Any], variant: str) -> Any:
    if variant == "-id":
        return doc["@id"]
    if variant == "-link":
        return f"/tenant/descriptors/{doc['@id']}"
    return doc


def _load(descriptor_id: str) -> dict[str, Any]:
    doc = emulator().store.get(DESCRIPTORS, descriptor_id, caller().scope)
    if doc is None:
        raise ApiError(404, "1010", f"The descriptor {descriptor_id} was not found.")
    return doc
