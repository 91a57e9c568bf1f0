"""Mask secrets in payloads before they are shown (audit log, review pages) or logged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "••••"
_SECRET_KEYS = frozenset({"accesstoken", "client_secret", "authorization", "x-api-key"})
_SECRET_FRAGMENTS = ("token", "secret", "password")


def is_secret_key(key: Any) -> bool:
    lowered = str(key).lower()
    return lowered in _SECRET_KEYS or any(fragment in lowered for fragment in _SECRET_FRAGMENTS)


def redact(payload: Any) -> Any:
    """A copy of `payload` with every secret-looking value replaced by "••••".

    Walks dicts, lists and tuples; a secret key hides its whole value, however nested.
    Empty values stay empty so the display still shows that nothing was set.
    """
    if isinstance(payload, Mapping):
        return {key: _redact_value(key, value) for key, value in payload.items()}
    if isinstance(payload, list | tuple):
        return type(payload)(redact(item) for item in payload)
    return payload


def _redact_value(key: Any, value: Any) -> Any:
    if is_secret_key(key) and value not in (None, ""):
        return MASK
    return redact(value)
