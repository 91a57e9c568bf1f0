"""Base connections (the authenticated Stripe account), their test and explore calls, and the
read-only connection and flow specs."""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from flask import Response, jsonify, request

from emulators.aep.context import emulator
from emulators.aep.errors import ApiError, not_found
from emulators.aep.flowservice import entities as ent
from emulators.aep.flowservice.blueprint import blueprint
from emulators.aep.ids import flow_entity_id
from emulators.aep.inference import explore_response
from emulators.aep.patching import apply_patch, normalise_operations, touched_roots
from emulators.aep.specs import (
    CONNECTION_SPECS,
    FLOW_SPECS,
    STRIPE_RESOURCE_PATHS,
    STRIPE_SPEC_ID,
    auth_spec,
    secret_fields,
)
from emulators.aep.stripe_source import StripeSourceError, as_flow_error, fetch_sample
from emulators.aep.web import invalid, read_json, read_json_object, require_string, spec_ref

MASK = "********"


# -- specs ------------------------------------------------------------------------------------


@blueprint.get("/connectionSpecs")
def list_connection_specs() -> Response:
    return ent.list_response("connectionSpecs", docs=copy.deepcopy(list(CONNECTION_SPECS.values())))


@blueprint.get("/connectionSpecs/<spec_id>")
def get_connection_spec(spec_id: str) -> Response:
    spec = CONNECTION_SPECS.get(spec_id)
    if spec is None:
        raise not_found("connectionSpecs", spec_id)
    return ent.item_response(spec)


@blueprint.get("/flowSpecs")
def list_flow_specs() -> Response:
    return ent.list_response("flowSpecs", docs=copy.deepcopy(list(FLOW_SPECS.values())))


@blueprint.get("/flowSpecs/<spec_id>")
def get_flow_spec(spec_id: str) -> Response:
    spec = FLOW_SPECS.get(spec_id)
    if spec is None:
        raise not_found("flowSpecs", spec_id)
    return ent.item_response(spec)


# -- base connections -------------------------------------------------------------------------


@blueprint.post("/connections")
def create_connection():
    body = read_json_object()
    name = require_string(body, "name")
    spec_info = spec_ref(body, "connectionSpec")
    spec = _known_spec(spec_info["id"])
    doc = ent.metadata(flow_entity_id())
    doc.update(
        {
            "name": name,
            "description": body.get("description", ""),
            "connectionSpec": spec_info,
            "state": "enabled",
            "auth": _validated_auth(body.get("auth"), spec),
        }
    )
    ent.insert(ent.CONNECTIONS, doc)
    return ent.created_response(ent.CONNECTIONS, doc)


@blueprint.get("/connections")
def list_connections() -> Response:
    return ent.list_response(ent.CONNECTIONS, present=present_connection)


@blueprint.get("/connections/<connection_id>")
def get_connection(connection_id: str) -> Response:
    return ent.item_response(present_connection(ent.load(ent.CONNECTIONS, connection_id)))


@blueprint.patch("/connections/<connection_id>")
def patch_connection(connection_id: str) -> Response:
    with emulator().store.transaction():
        doc = ent.load(ent.CONNECTIONS, connection_id)
        ent.check_if_match(doc)
        operations = normalise_operations(read_json())
        roots = touched_roots(operations)
        if "connectionSpec" in roots:
            raise ApiError(400, "1414", "The connection spec of a connection cannot be changed.")
        ent.reject_system_fields(roots, frozenset({"state"}))
        patched = apply_patch(doc, operations)
        require_string(patched, "name")
        spec = _known_spec(doc["connectionSpec"]["id"])
        patched["auth"] = _validated_auth(_keep_masked_secrets(patched.get("auth"), doc), spec)
        ent.save(ent.CONNECTIONS, ent.touch(patched))
    return ent.id_etag(patched)


@blueprint.delete("/connections/<connection_id>")
def delete_connection(connection_id: str):
    with emulator().store.transaction():
        ent.load(ent.CONNECTIONS, connection_id)
        using = ent.flows_using(lambda flow: _flow_uses_base(flow, connection_id))
        if using:
            raise ApiError(
                400,
                "1418",
                f"The connection {connection_id} cannot be deleted because the base connection "
                f"is being used in one or more flows ({', '.join(using)}). Delete the flows "
                "first.",
            )
        emulator().store.delete(ent.CONNECTIONS, connection_id)
    return "", 204


@blueprint.get("/connections/<connection_id>/test")
def test_connection(connection_id: str) -> Response:
    doc = ent.load(ent.CONNECTIONS, connection_id)
    if doc["connectionSpec"]["id"] == STRIPE_SPEC_ID:
        _read_stripe(doc, "charges", limit=1)
    return jsonify({"result": True})


@blueprint.get("/connections/<connection_id>/explore")
def explore_connection(connection_id: str) -> Response:
    doc = ent.load(ent.CONNECTIONS, connection_id)
    object_type = request.args.get("objectType", "").lower()
    if object_type != "rest":
        raise invalid(
            f"objectType '{request.args.get('objectType', '')}' is not supported for this "
            "source; use objectType=rest."
        )
    resource_path = _resource_path(request.args.get("sourceParams"))
    preview = request.args.get("preview", "false").lower() == "true"
    records = _read_stripe(doc, resource_path)
    return jsonify(explore_response(records, preview))


# -- helpers ----------------------------------------------------------------------------------


def present_connection(doc: dict[str, Any]) -> dict[str, Any]:
    """The connection as GET returns it: secret auth params masked."""
    shown = copy.deepcopy(doc)
    params = shown.get("auth", {}).get("params")
    if isinstance(params, dict):
        secrets = secret_fields(CONNECTION_SPECS.get(doc["connectionSpec"]["id"]))
        for key in params:
            if key in secrets and params[key] is not None:
                params[key] = MASK
    return shown


def _known_spec(spec_id: str) -> dict[str, Any]:
    spec = CONNECTION_SPECS.get(spec_id)
    if spec is None:
        raise ApiError(400, "1413", f"The connection spec id '{spec_id}' is not valid.")
    return spec


def _validated_auth(auth: Any, spec: dict[str, Any]) -> dict[str, Any] | None:
    if not spec.get("authSpec"):
        return auth if isinstance(auth, dict) else None
    if not isinstance(auth, dict) or not isinstance(auth.get("specName"), str):
        raise invalid("'auth.specName' is required.")
    chosen = auth_spec(spec, auth["specName"])
    if chosen is None:
        names = ", ".join(a["name"] for a in spec["authSpec"])
        raise ApiError(
            400,
            "1415",
            f"The auth spec '{auth['specName']}' is not supported by connection spec "
            f"'{spec['id']}' (supported: {names}).",
        )
    params = auth.get("params")
    if not isinstance(params, dict):
        raise invalid("'auth.params' is required and must be an object.")
    for field in chosen["spec"].get("required", []):
        if not isinstance(params.get(field), str) or not params[field].strip():
            raise invalid(f"'auth.params.{field}' is required.")
    return {"specName": auth["specName"], "params": params}


def _keep_masked_secrets(auth: Any, original: dict[str, Any]) -> Any:
    """A client that echoes the masked value back means 'unchanged', not a new secret."""
    if not isinstance(auth, dict) or not isinstance(auth.get("params"), dict):
        return auth
    old_params = original.get("auth", {}).get("params", {})
    for key, value in auth["params"].items():
        if value == MASK and key in old_params:
            auth["params"][key] = old_params[key]
    return auth


def _flow_uses_base(flow: dict[str, Any], connection_id: str) -> bool:
    sources = flow.get("inheritedAttributes", {}).get("sourceConnections", [])
    return any(s.get("baseConnection", {}).get("id") == connection_id for s in sources)


def _resource_path(source_params: str | None) -> str:
    if not source_params:
        raise invalid("The query parameter 'sourceParams' is required for REST sources.")
    try:
        # An unencoded '+' in a query string arrives as a space.
        text = source_params.strip().replace(" ", "+")
        padded = text + "=" * (-len(text) % 4)
        decoded = json.loads(base64.b64decode(padded, altchars=b"-_", validate=False))
    except (binascii.Error, ValueError) as exc:
        raise invalid(
            'sourceParams must be Base64-encoded JSON such as {"resourcePath":"charges"}.'
        ) from exc
    path = decoded.get("resourcePath") if isinstance(decoded, dict) else None
    if path not in STRIPE_RESOURCE_PATHS:
        raise invalid(
            f"resourcePath '{path}' is not supported; use one of "
            f"{', '.join(STRIPE_RESOURCE_PATHS)}."
        )
    return path


def _read_stripe(doc: dict[str, Any], resource_path: str, limit: int = 100) -> list[dict]:
    settings = emulator().settings
    token = doc.get("auth", {}).get("params", {}).get("accessToken", "")
    try:
        return fetch_sample(
            settings.stripe_api_base,
            token,
            resource_path,
            timeout=settings.stripe_timeout,
            limit=limit,
        )
    except StripeSourceError as exc:
        raise as_flow_error(exc, resource_path) from exc
