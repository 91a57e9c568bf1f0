"""The Flask application: Stripe's read API for six resources plus emulator admin endpoints."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from emulators.stripe import errors, store
from emulators.stripe.accounts import KEY_PREFIXES, ApiKey, key_from_authorization, redact
from emulators.stripe.expand import check_paths, expand
from emulators.stripe.params import parse_expand, parse_list_query, reject_empty, split_key
from emulators.stripe.ratelimit import RateLimiter
from emulators.stripe.resources import RESOURCES, Resource, permission_name

log = logging.getLogger("emulators.stripe")
REQUEST_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass
class StandInState:
    db_path: str
    pool: store.ConnectionPool
    limiter: RateLimiter
    default_rps: float | None


def state() -> StandInState:
    return current_app.extensions["stripe_stand_in"]


def create_app(db_path: str | Path, rate_limit: float | None = None) -> Flask:
    """The stand-in app over the SQLite file ``db_path`` (schema and demo keys created here)."""
    store.init_db(db_path)
    app = Flask("emulators.stripe")
    app.extensions["stripe_stand_in"] = StandInState(
        str(db_path), store.ConnectionPool(db_path), RateLimiter(rate_limit), rate_limit
    )
    app.before_request(_assign_request_id)
    app.after_request(_add_request_id)
    app.register_error_handler(errors.StripeError, _stripe_error)
    app.register_error_handler(HTTPException, _http_error)
    app.add_url_rule("/v1/<resource>", view_func=list_objects, methods=["GET"])
    app.add_url_rule("/v1/<resource>/<object_id>", view_func=retrieve_object, methods=["GET"])

    from emulators.stripe.admin import admin

    app.register_blueprint(admin)
    return app


# ---- request plumbing ----------------------------------------------------------------------


def _assign_request_id() -> None:
    g.request_id = "req_" + "".join(secrets.choice(REQUEST_ID_ALPHABET) for _ in range(14))


def _add_request_id(response: Response) -> Response:
    response.headers["Request-Id"] = g.get("request_id") or "req_unassigned"
    return response


def json_text(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="application/json")


def json_body(data: Any, status: int = 200) -> Response:
    return json_text(json.dumps(data, indent=2), status)


def _stripe_error(error: errors.StripeError) -> Response:
    return json_body(error.body(), error.status)


def _http_error(error: HTTPException) -> Response:
    if error.code == 405:
        return _stripe_error(
            errors.StripeError(
                405,
                f"The Stripe stand-in only answers GET on {request.path}; "
                f"{request.method} is not available.",
            )
        )
    if error.code == 404:
        return _stripe_error(errors.unrecognized_url(request.method, request.path))
    return _stripe_error(errors.StripeError(error.code or 500, error.description or "Error"))


# ---- authentication ------------------------------------------------------------------------


def authenticate(conn: sqlite3.Connection) -> ApiKey:
    """The request's valid API key, or the Stripe error for a missing, unknown or expired one."""
    raw = key_from_authorization(request.headers.get("Authorization"))
    if raw is None:
        raise errors.missing_key()
    key = store.find_key(conn, raw) if raw.startswith(KEY_PREFIXES) else None
    if key is None:
        log.warning("rejected unknown API key %s", redact(raw))
        raise errors.invalid_key(redact(raw))
    if key.is_expired(int(time.time())):
        log.warning("rejected expired API key %s", key.redacted)
        raise errors.expired_key(key.redacted)
    connected = request.headers.get("Stripe-Account")
    if connected and connected != key.account:
        raise errors.no_account_access(key.redacted, connected)
    if not state().limiter.allow(key.key):
        raise errors.rate_limited(key.livemode)
    return key


def authorize(conn: sqlite3.Connection, resource: Resource) -> ApiKey:
    key = authenticate(conn)
    require_read(key, resource.path)
    return key


def require_read(key: ApiKey, resource_path: str) -> None:
    if not key.can_read(resource_path):
        raise errors.missing_permission(
            key.redacted, key.account, permission_name(RESOURCES[resource_path])
        )


def find_resource(path: str) -> Resource:
    resource = RESOURCES.get(path)
    if resource is None:
        raise errors.unrecognized_url(request.method, request.path)
    return resource


# ---- the API -------------------------------------------------------------------------------


def list_objects(resource: str) -> Response:
    res = find_resource(resource)
    with state().pool.connection() as conn:
        key = authorize(conn, res)
        query = parse_list_query(res.path, list(request.args.items(multi=True)))
        expand_parts = check_paths(query.expand, in_list=True)
        after = _cursor(conn, key, res, query.starting_after, "starting_after")
        before = _cursor(conn, key, res, query.ending_before, "ending_before")
        page = store.list_page(
            conn,
            key.account,
            res.path,
            limit=query.limit,
            created=query.created,
            after=after,
            before=before,
            extra_sql=query.filter_sql,
            extra_args=query.filter_args,
        )
        bodies = page.bodies
        if expand_parts:
            bodies = [_expanded(conn, key, body, expand_parts) for body in bodies]
    # Stored bodies are already JSON: splice them in rather than parse and re-encode.
    text = (
        '{"object":"list","data":['
        + ",".join(bodies)
        + '],"has_more":'
        + ("true" if page.has_more else "false")
        + f',"url":"/v1/{res.path}"}}'
    )
    return json_text(text)


def _cursor(
    conn: sqlite3.Connection, key: ApiKey, res: Resource, object_id: str | None, param: str
) -> tuple[int, str] | None:
    if object_id is None:
        return None
    position = store.get_position(conn, key.account, res.path, object_id)
    if position is None:
        raise errors.resource_missing(res.label, object_id, param=param, status=400)
    return position


def retrieve_object(resource: str, object_id: str) -> Response:
    res = find_resource(resource)
    with state().pool.connection() as conn:
        key = authorize(conn, res)
        items = list(request.args.items(multi=True))
        reject_empty(items)
        for name, _ in items:
            if split_key(name)[0] != "expand":
                raise errors.invalid_request(f"Received unknown parameter: {name}", param=name)
        expand_parts = check_paths(parse_expand(items), in_list=False)
        body = store.get_body(conn, key.account, res.path, object_id)
        if body is None:
            raise errors.resource_missing(res.label, object_id, param="id", status=404)
        if expand_parts:
            body = _expanded(conn, key, body, expand_parts)
    return json_text(body)


def _expanded(
    conn: sqlite3.Connection, key: ApiKey, body: str, expand_parts: list[list[str]]
) -> str:
    obj = json.loads(body)

    def lookup(resource_path: str, object_id: str) -> dict[str, Any] | None:
        found = store.get_body(conn, key.account, resource_path, object_id)
        return None if found is None else json.loads(found)

    for parts in expand_parts:
        expand(obj, parts, lookup, lambda path: require_read(key, path))
    return json.dumps(obj, separators=(",", ":"))
