"""What every Flow Service entity shares: metadata, etags, If-Match, list and item envelopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError, not_found
from emulators.aep.flowservice.blueprint import BASE_PATH
from emulators.aep.ids import new_etag, now_ms, strip_quotes
from emulators.aep.querying import ListQuery, parse_list_query, run_list_query
from emulators.aep.store import Scope
from emulators.aep.variance import NOT_FOUND_AS_400
from emulators.aep.web import multi_args

CONNECTIONS = "connections"
SOURCE_CONNECTIONS = "sourceConnections"
TARGET_CONNECTIONS = "targetConnections"
FLOWS = "flows"
RUNS = "runs"

# Fields the platform owns: a PATCH may not touch them.
SYSTEM_FIELDS = frozenset(
    {
        "id",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "createdClient",
        "updatedClient",
        "sandboxId",
        "sandboxName",
        "imsOrgId",
        "etag",
        "version",
        "inheritedAttributes",
    }
)

Presenter = Callable[[dict[str, Any]], dict[str, Any]]


def metadata(entity_id: str, *, now: int | None = None) -> dict[str, Any]:
    who = caller()
    now = now or now_ms()
    etag = new_etag()
    return {
        "id": entity_id,
        "createdAt": now,
        "updatedAt": now,
        "createdBy": who.principal,
        "updatedBy": who.principal,
        "createdClient": who.client_id,
        "updatedClient": who.client_id,
        "sandboxId": who.sandbox.id,
        "sandboxName": who.sandbox.name,
        "imsOrgId": who.org.ims_org_id,
        "version": etag,
        "etag": etag,
    }


def touch(doc: dict[str, Any]) -> dict[str, Any]:
    """Stamp an update: new etag (== version), updatedAt/By/Client."""
    who = caller()
    etag = new_etag()
    doc.update(
        {
            "updatedAt": now_ms(),
            "updatedBy": who.principal,
            "updatedClient": who.client_id,
            "version": etag,
            "etag": etag,
        }
    )
    return doc


def load(kind: str, entity_id: str, scope: Scope | None = None) -> dict[str, Any]:
    """The entity, or "not found": 404 for reads; for changes (PATCH, DELETE, actions) 400
    with code 1439 while that variance is on (variance.NOT_FOUND_AS_400)."""
    doc = emulator().store.get(kind, entity_id, scope or caller().scope)
    if doc is None:
        as_400 = request.method != "GET" and emulator().variance.on(NOT_FOUND_AS_400)
        raise not_found(kind, entity_id, as_400=as_400)
    return doc


def find(kind: str, entity_id: str) -> dict[str, Any] | None:
    return emulator().store.get(kind, entity_id, caller().scope)


def check_if_match(doc: dict[str, Any], *, required: bool = True) -> None:
    supplied = request.headers.get("If-Match")
    if supplied is None or not supplied.strip():
        if required:
            raise ApiError(400, "1403", "The header 'If-Match' is missing in the request.")
        return
    if strip_quotes(supplied) != strip_quotes(doc["etag"]):
        raise ApiError(
            412,
            "1404",
            f"The supplied version '{supplied}' does not match the current version on entity "
            f"'{strip_quotes(doc['etag'])}'. Fetch the entity again and retry with its etag.",
        )


def reject_system_fields(roots: set[str], extra: frozenset[str] = frozenset()) -> None:
    reject_fields(roots & (SYSTEM_FIELDS | extra))


def reject_fields(fields: set[str]) -> None:
    blocked = sorted(fields)
    if blocked:
        raise ApiError(
            400,
            "1455",
            "An error has occurred while validating patch instructions: "
            f"field '{blocked[0]}' cannot be updated.",
        )


def insert(kind: str, doc: dict[str, Any], *, parent_id: str | None = None) -> None:
    emulator().store.insert(
        kind, doc, caller().scope, parent_id=parent_id, created_at=doc["createdAt"]
    )


def save(kind: str, doc: dict[str, Any]) -> None:
    emulator().store.replace(kind, doc["id"], doc, doc.get("updatedAt", 0))


def list_response(
    kind: str,
    *,
    present: Presenter | None = None,
    docs: list[dict[str, Any]] | None = None,
    parent_id: str | None = None,
    present_items: Presenter | None = None,
) -> Response:
    """Apply property/orderby/limit/count/continuationToken to the caller's entities.

    `present` shapes every entity before the filters apply; `present_items` only the items
    of the answered page (how a value is spelled in the answer, not what the filters see).
    """
    query = parse_list_query(request.args, multi_args("property"))
    parent_ids = [parent_id] if parent_id is not None else None
    if kind == RUNS and parent_ids is None:
        parent_ids = _flow_filter(query)
    if docs is None:
        docs = emulator().store.list(kind, caller().scope, parent_ids=parent_ids)
    if present is not None:
        docs = [present(d) for d in docs]
    body = run_list_query(docs, query, f"/{kind}")
    if present_items is not None and "items" in body:
        body["items"] = [present_items(d) for d in body["items"]]
    return jsonify(body)


def _flow_filter(query: ListQuery) -> list[str] | None:
    """``flowId==<id>`` or ``flowId==<a>,<b>`` (the sort-and-filter guide's comma-separated
    OR), the monitoring queries, read those flows' runs through the parent index instead of
    every run of the sandbox."""
    for condition in query.conditions:
        if condition.path == (("flowId", False),) and condition.operator == "==":
            return list(condition.values)
    return None


def item_response(doc: dict[str, Any]) -> Response:
    return jsonify({"items": [doc]})


def created_response(kind: str, doc: dict[str, Any]) -> tuple[Response, int, dict[str, str]]:
    location = f"{request.host_url.rstrip('/')}{BASE_PATH}/{kind}/{doc['id']}"
    return jsonify({"id": doc["id"], "etag": doc["etag"]}), 201, {"Location": location}


def id_etag(doc: dict[str, Any]) -> Response:
    return jsonify({"id": doc["id"], "etag": doc["etag"]})


def flows_using(predicate: Callable[[dict[str, Any]], bool]) -> list[str]:
    flows = emulator().store.list(FLOWS, caller().scope)
    return [flow["id"] for flow in flows if predicate(flow)]
