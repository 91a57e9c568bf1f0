"""Identifiers and timestamps in the shapes AEP uses."""

from __future__ import annotations

import secrets
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def now_ms() -> int:
    return int(time.time() * 1000)


def flow_entity_id() -> str:
    """Flow Service ids are UUIDs (connections, flows, runs)."""
    return str(uuid.uuid4())


def mapping_set_id() -> str:
    """Data Prep ids are 32 lower-case hex characters."""
    return uuid.uuid4().hex


def dataset_id() -> str:
    """Catalog ids are 24 hex characters (Mongo-style object ids)."""
    return secrets.token_hex(12)


def schema_hex() -> str:
    return secrets.token_hex(24)


def batch_id() -> str:
    """Catalog batch ids are 26-character ULIDs."""
    millis = now_ms()
    chars = []
    for _ in range(10):
        chars.append(_CROCKFORD[millis % 32])
        millis //= 32
    head = "".join(reversed(chars))
    return head + "".join(secrets.choice(_CROCKFORD) for _ in range(16))


def new_etag() -> str:
    """A quoted GUID-like value, as Flow Service returns it (the quotes are part of the value)."""
    seconds = int(time.time())
    return f'"{secrets.token_hex(4)}-0000-0200-0000-{seconds:08x}0000"'


def strip_quotes(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')
