"""Emulator-only endpoints under ``/__stripe__/`` (no authentication): seed, add, keys, limits,
and field changes that play a Stripe API upgrade (a field appears or goes away).

Keys are never echoed back in full; responses show them redacted like Stripe's messages do.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from flask import Blueprint, Response, request

from emulators.stripe import errors, store
from emulators.stripe.accounts import KEY_PREFIXES, RESTRICTED_PREFIXES, ApiKey
from emulators.stripe.app import json_body, state
from emulators.stripe.live import add_objects
from emulators.stripe.params import parse_created_args
from emulators.stripe.resources import RESOURCES
from emulators.stripe.seed import (
    DEFAULT_DAYS,
    DEFAULT_END,
    DEFAULT_RNG_SEED,
    seed,
    seed_demo_accounts,
)

admin = Blueprint("stripe_admin", __name__, url_prefix="/__stripe__")

MAX_ADD = 10_000
FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# What lists, cursors and expansion rely on; changing these would break the stand-in itself.
FIXED_FIELDS = frozenset({"id", "object", "created", "livemode"})


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        data = request.form.to_dict()
    if not isinstance(data, dict):
        raise errors.invalid_request("Expected a JSON object body.")
    return data


def _int(data: dict[str, Any], name: str, default: int | None = None) -> int:
    value = data.get(name, default)
    if value is None:
        raise errors.invalid_request(f"Missing required param: {name}.", param=name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.invalid_request(f"Invalid integer: {value}", param=name) from None


def _account(data: dict[str, Any]) -> str:
    account = str(data.get("account") or "acct_demo")
    with state().pool.connection() as conn:
        if store.account_livemode(conn, account) is None:
            raise errors.invalid_request(f"No such account: '{account}'", param="account")
    return account


def _resource(data: dict[str, Any], required: bool = True) -> str | None:
    resource = data.get("resource")
    if resource is None and not required:
        return None
    if resource not in RESOURCES:
        raise errors.invalid_request(
            f"resource must be one of {', '.join(RESOURCES)}", param="resource"
        )
    return resource


def _key_summary(key: ApiKey) -> dict[str, Any]:
    return {
        "key": key.redacted,
        "account": key.account,
        "livemode": key.livemode,
        "restricted": key.restricted,
        "permissions": None if key.permissions is None else sorted(key.permissions),
        "revoked": key.revoked_at is not None,
        "expires_at": key.expires_at,
    }


@admin.get("/health")
def health() -> Response:
    return json_body({"status": "ok"})


@admin.get("/accounts")
def accounts() -> Response:
    with state().pool.connection() as conn:
        keys = store.list_keys(conn)
        listed = [
            {
                "id": account,
                "livemode": livemode,
                "keys": [_key_summary(k) for k in keys if k.account == account],
                "counts": store.count(conn, account, None, store.CreatedRange()),
            }
            for account, livemode in store.list_accounts(conn)
        ]
    return json_body({"data": listed})


@admin.post("/seed")
def seed_account() -> Response:
    data = _payload()
    account = str(data.get("account") or "acct_demo")
    livemode = data.get("livemode")
    result = seed(
        state().db_path,
        _int(data, "charges", 1000),
        account=account,
        livemode=None if livemode is None else bool(livemode),
        rng_seed=_int(data, "rng_seed", DEFAULT_RNG_SEED),
        end=_int(data, "end", DEFAULT_END),
        days=_int(data, "days", DEFAULT_DAYS),
    )
    return json_body(
        {"account": account, "counts": result.counts, "seconds": round(result.seconds, 3)}
    )


@admin.post("/objects")
def add_now() -> Response:
    data = _payload()
    account = _account(data)
    resource = _resource(data)
    count = _int(data, "count", 1)
    if not 1 <= count <= MAX_ADD:
        raise errors.invalid_request(f"count must be between 1 and {MAX_ADD}", param="count")
    now = int(time.time())
    with state().pool.connection() as conn:
        created = add_objects(conn, account, str(resource), count, now)
    return json_body({"account": account, "created_at": now, "created": created})


@admin.post("/fields")
def change_fields() -> Response:
    """Set ({"set": {"outcome.risk_score": 12}}) or remove ({"remove": ["metadata.order_id"]})
    dotted fields on every stored object of one resource of one account."""
    data = _payload()
    account = _account(data)
    resource = str(_resource(data))
    to_set = _field_values(data.get("set", {}))
    to_remove = _field_paths(data.get("remove", []))
    if not to_set and not to_remove:
        raise errors.invalid_request("Give fields to set or to remove.", param="set")
    updated = 0
    with state().pool.connection() as conn, store.transaction(conn):
        rows = conn.execute(
            "SELECT id, status, body FROM objects WHERE account = ? AND resource = ?",
            (account, resource),
        ).fetchall()
        for object_id, status, body in rows:
            obj = json.loads(body)
            for path, value in to_set.items():
                _set_path(obj, path.split("."), value)
            for path in to_remove:
                _remove_path(obj, path.split("."))
            store.replace_body(conn, object_id, json.dumps(obj), status)
            updated += 1
    return json_body({"account": account, "resource": resource, "updated": updated})


def _field_paths(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise errors.invalid_request("remove must be a list of field paths.", param="remove")
    for path in value:
        _check_path(path, "remove")
    return value


def _field_values(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.invalid_request("set must be an object of {path: value}.", param="set")
    for path in value:
        _check_path(path, "set")
    return value


def _check_path(path: str, param: str) -> None:
    if not FIELD_PATH.match(path):
        raise errors.invalid_request(f"Invalid field path: {path!r}", param=param)
    if path.split(".")[0] in FIXED_FIELDS:
        raise errors.invalid_request(f"{path} cannot be changed.", param=param)


def _set_path(obj: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        child = obj.get(part)
        if not isinstance(child, dict):
            child = obj[part] = {}
        obj = child
    obj[parts[-1]] = value


def _remove_path(obj: Any, parts: list[str]) -> None:
    for part in parts[:-1]:
        obj = obj.get(part) if isinstance(obj, dict) else None
    if isinstance(obj, dict):
        obj.pop(parts[-1], None)


@admin.post("/keys")
def put_key() -> Response:
    """Add or update a key ({key, account, permissions, expires_at}); {key, revoke} revokes."""
    data = _payload()
    raw = str(data.get("key") or "")
    if not raw.startswith(KEY_PREFIXES) or len(raw) < 16:
        raise errors.invalid_request(
            "key must start with sk_test_, sk_live_, rk_test_ or rk_live_ and have at least "
            "16 characters",
            param="key",
        )
    now = int(time.time())
    with state().pool.connection() as conn, store.transaction(conn):
        existing = store.find_key(conn, raw)
        if data.get("revoke"):
            if existing is None:
                raise errors.invalid_request("No such key.", param="key")
            key = ApiKey(raw, existing.account, existing.permissions, now, existing.expires_at)
        else:
            key = _new_key(conn, raw, data, now)
        store.put_key(conn, key, now)
    return json_body(_key_summary(key))


def _new_key(conn, raw: str, data: dict[str, Any], now: int) -> ApiKey:
    account = str(data.get("account") or "acct_demo")
    candidate = ApiKey(raw, account, _permissions(raw, data.get("permissions")))
    livemode = store.account_livemode(conn, account)
    if livemode is None:
        store.ensure_account(conn, account, candidate.livemode, now)
    elif livemode != candidate.livemode:
        mode = "live" if livemode else "test"
        raise errors.invalid_request(
            f"Account '{account}' holds {mode}-mode data; use a {mode}-mode key.", param="key"
        )
    expires_at = data.get("expires_at")
    return ApiKey(
        raw,
        account,
        candidate.permissions,
        None,
        None if expires_at is None else _int(data, "expires_at"),
    )


def _permissions(raw: str, value: Any) -> frozenset[str] | None:
    """Restricted keys take a list of readable resources or {resource: none|read|write}."""
    if not raw.startswith(RESTRICTED_PREFIXES):
        if value is not None:
            raise errors.invalid_request(
                "Secret keys can read every resource; permissions apply to rk_ keys only.",
                param="permissions",
            )
        return None
    if isinstance(value, dict):
        readable = {r for r, level in value.items() if level in ("read", "write")}
    elif isinstance(value, list):
        readable = set(value)
    else:
        raise errors.invalid_request(
            "Restricted keys need permissions: a list of resources or {resource: level}.",
            param="permissions",
        )
    unknown = readable - RESOURCES.keys()
    if unknown:
        raise errors.invalid_request(
            f"Unknown resources in permissions: {', '.join(sorted(unknown))}",
            param="permissions",
        )
    return frozenset(readable)


@admin.get("/keys")
def keys() -> Response:
    with state().pool.connection() as conn:
        return json_body({"data": [_key_summary(k) for k in store.list_keys(conn)]})


@admin.post("/rate-limit")
def rate_limit() -> Response:
    data = _payload()
    rps = data.get("rps")
    try:
        rps = None if rps in (None, "", 0) else float(rps)
    except (TypeError, ValueError):
        raise errors.invalid_request(f"Invalid number: {rps}", param="rps") from None
    state().limiter.configure(rps)
    return json_body({"rps": state().limiter.rps})


@admin.post("/reset")
def reset() -> Response:
    """Delete every object and key, restore the demo accounts; optionally seed {"charges": N}."""
    data = _payload()
    with state().pool.connection() as conn, store.transaction(conn):
        store.wipe(conn)
        store.ensure_demo_accounts(conn)
    state().limiter.configure(state().default_rps)
    counts = {}
    charges = data.get("charges")
    if charges:
        counts = seed_demo_accounts(state().db_path, _int(data, "charges"))
    return json_body({"reset": True, "counts": counts})


@admin.get("/count")
def count() -> Response:
    args = request.args.to_dict()
    account = _account(args)
    resource = _resource(args, required=False)
    created = parse_created_args(args)
    with state().pool.connection() as conn:
        by_resource = store.count(conn, account, resource, created, args.get("status"))
    body: dict[str, Any] = {"account": account, "count": sum(by_resource.values())}
    if resource:
        body["resource"] = resource
    else:
        body["by_resource"] = by_resource
    return json_body(body)
