"""Identity Service namespaces (``/data/core/idnamespace/identities``).

Adobe's Identity Service API reference (and aepp's ``Identity.getIdentities`` /
``createIdentity``): the list is a JSON array of namespaces, Adobe's standard ones and the
sandbox's custom ones; ``POST`` creates a custom namespace from ``name``, ``code`` and
``idType`` and answers it. Codes are unique, compared case-insensitively; namespaces cannot be
deleted (identity-service/features/namespaces.md).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.ids import now_ms
from emulators.aep.store import Scope
from emulators.aep.web import read_json_object, require_string

blueprint = Blueprint("identity", __name__, url_prefix="/data/core/idnamespace")

NAMESPACES = "idnamespaces"
ID_TYPES = ("COOKIE", "CROSS_DEVICE", "DEVICE", "EMAIL", "MOBILE", "NON_PEOPLE", "PHONE")
FIRST_CUSTOM_ID = 10_000_000
_EPOCH = 1_500_000_000_000


def _standard(ns_id: int, code: str, name: str, id_type: str, description: str) -> dict[str, Any]:
    return {
        "updateTime": _EPOCH,
        "code": code,
        "status": "ACTIVE",
        "description": description,
        "id": ns_id,
        "createTime": _EPOCH,
        "idType": id_type,
        "namespaceType": "Standard",
        "name": name,
        "custom": False,
    }


# A few of Adobe's standard namespaces (identity-service/features/namespaces.md).
STANDARD = (
    _standard(4, "ECID", "ECID", "COOKIE", "Adobe Experience Cloud ID"),
    _standard(6, "Email", "Email", "EMAIL", "Email address"),
    _standard(7, "Phone", "Phone", "PHONE", "Phone number"),
    _standard(11, "Email_LC_SHA256", "Emails (SHA256, lowercased)", "EMAIL", "SHA256 of an email"),
    _standard(411, "AdCloud", "AdCloud", "COOKIE", "Adobe Advertising Cloud"),
)


@blueprint.get("/identities")
def list_namespaces() -> Response:
    return jsonify(namespaces(caller().scope))


@blueprint.post("/identities")
def create_namespace():
    body = read_json_object()
    name = require_string(body, "name")
    code = require_string(body, "code")
    id_type = str(body.get("idType") or "").upper()
    if id_type not in ID_TYPES:
        raise ApiError(400, "1001", f"'idType' must be one of {', '.join(ID_TYPES)}.")
    if not code.replace("_", "").isalnum():
        raise ApiError(400, "1001", "'code' may hold only letters, digits and underscores.")
    scope = caller().scope
    existing = namespaces(scope)
    if any(ns["code"].lower() == code.lower() for ns in existing):
        raise ApiError(400, "1002", f"A namespace with the code '{code}' already exists.")
    now = now_ms()
    custom = [ns for ns in existing if ns["custom"]]
    doc = {
        "updateTime": now,
        "code": code,
        "status": "ACTIVE",
        "description": str(body.get("description") or ""),
        "id": FIRST_CUSTOM_ID + len(custom),
        "createTime": now,
        "idType": id_type,
        "namespaceType": "Custom",
        "name": name,
        "custom": True,
    }
    entity_id = f"{scope.org}/{scope.sandbox}/{code}"
    emulator().store.insert(NAMESPACES, doc, scope, entity_id=entity_id, created_at=now)
    return jsonify(doc), 201


def namespaces(scope: Scope) -> list[dict[str, Any]]:
    return [*STANDARD, *emulator().store.list(NAMESPACES, scope)]


def namespace_exists(value: Any, prop: str, scope: Scope) -> bool:
    key = "id" if prop == "xdm:id" else "code"
    return any(str(ns[key]) == str(value) for ns in namespaces(scope))
