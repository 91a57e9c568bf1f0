"""``expand[]``: replace id references with the objects they point to (up to four levels)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulators.stripe.errors import invalid_request
from emulators.stripe.resources import resource_for_id

MAX_DEPTH = 4

# object type -> expandable field -> resource path (None: decided by the id's prefix).
EXPANDABLE: dict[str, dict[str, str | None]] = {
    "charge": {"customer": "customers", "balance_transaction": "balance_transactions"},
    "refund": {"charge": "charges", "balance_transaction": "balance_transactions"},
    "balance_transaction": {"source": None},
    "subscription": {"customer": "customers"},
    "customer": {},
    "price": {},
}

Lookup = Callable[[str, str], dict[str, Any] | None]
Check = Callable[[str], None]


def check_paths(paths: list[str], *, in_list: bool) -> list[list[str]]:
    """Split and validate expand paths; list paths must start with ``data.``."""
    split = []
    for path in paths:
        parts = path.split(".")
        if in_list:
            if parts[0] != "data" or len(parts) < 2:
                raise invalid_request(
                    f"This property cannot be expanded ({path}). You may want to try expanding "
                    f"'data.{path}' instead.",
                    param="expand",
                )
            parts = parts[1:]
        if len(path.split(".")) > MAX_DEPTH:
            raise invalid_request(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        split.append(parts)
    return split


def expand(obj: dict[str, Any], parts: list[str], lookup: Lookup, check: Check) -> None:
    """Expand ``parts`` (e.g. ``["source", "customer"]``) in place on ``obj``."""
    name = parts[0]
    targets = EXPANDABLE.get(obj.get("object", ""), {})
    if name not in targets:
        raise invalid_request(f"This property cannot be expanded ({name}).", param="expand")
    value = obj.get(name)
    if isinstance(value, str):
        resource = targets[name] or _resource_path(value)
        check(resource)
        found = lookup(resource, value)
        if found is not None:
            obj[name] = value = found
    if isinstance(value, dict) and len(parts) > 1:
        expand(value, parts[1:], lookup, check)


def _resource_path(object_id: str) -> str:
    resource = resource_for_id(object_id)
    if resource is None:
        raise invalid_request(f"This property cannot be expanded ({object_id}).", param="expand")
    return resource.path
