"""JSON Patch (RFC 6902 ``add``/``replace``/``remove``) as Flow Service applies it.

Operation names are accepted in any case (docs send ``replace``, the spec ``REPLACE``, aepp
``Add``). The body may be an array of operations or a single operation object.
"""

from __future__ import annotations

import copy
from typing import Any

from emulators.aep.errors import ApiError

SUPPORTED = ("add", "replace", "remove")


def normalise_operations(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not body:
        raise ApiError(400, "1405", "The request body must be a non-empty JSON Patch array.")
    operations = []
    for raw in body:
        if not isinstance(raw, dict) or "op" not in raw or "path" not in raw:
            raise ApiError(
                400,
                "1455",
                "An error has occurred while validating patch instructions: "
                "each instruction needs 'op' and 'path'.",
            )
        op = str(raw["op"]).lower()
        if op not in SUPPORTED:
            raise ApiError(400, "1434", f"Unsupported operation '{raw['op']}' received")
        if op != "remove" and "value" not in raw:
            raise ApiError(
                400,
                "1455",
                f"An error has occurred while validating patch instructions: "
                f"'{op}' at {raw['path']} needs a value.",
            )
        operations.append({**raw, "op": op})
    return operations


def apply_patch(doc: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a patched copy of ``doc``; the original is left untouched."""
    patched = copy.deepcopy(doc)
    for operation in operations:
        _apply_one(patched, operation)
    return patched


def pointer_segments(path: str) -> list[str]:
    if not path.startswith("/"):
        raise _path_error(f'Invalid path "{path}"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _apply_one(doc: dict[str, Any], operation: dict[str, Any]) -> None:
    segments = pointer_segments(operation["path"])
    parent = _walk(doc, segments[:-1], operation["path"])
    last = segments[-1]
    op = operation["op"]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(parent, list):
        _apply_to_list(parent, last, op, value, operation["path"])
    elif isinstance(parent, dict):
        _apply_to_dict(parent, last, op, value)
    else:
        raise _path_error(f'Missing field "{last}"')


def _walk(doc: Any, segments: list[str], path: str) -> Any:
    current = doc
    for segment in segments:
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            raise _path_error(f'Missing field "{segment}"')
    return current


def _apply_to_dict(parent: dict[str, Any], key: str, op: str, value: Any) -> None:
    if op == "add":
        parent[key] = value
    elif key not in parent:
        raise _path_error(f'Missing field "{key}"')
    elif op == "replace":
        parent[key] = value
    else:
        del parent[key]


def _apply_to_list(parent: list[Any], key: str, op: str, value: Any, path: str) -> None:
    if key == "-" and op == "add":
        parent.append(value)
        return
    if not key.isdigit():
        raise _path_error(f'Invalid array index "{key}" in {path}')
    index = int(key)
    limit = len(parent) if op == "add" else len(parent) - 1
    if index > limit:
        raise _path_error(f"Array index {index} out of range in {path}")
    if op == "add":
        parent.insert(index, value)
    elif op == "replace":
        parent[index] = value
    else:
        del parent[index]


def _path_error(detail: str) -> ApiError:
    return ApiError(
        400, "1455", f"An error has occurred while validating patch instructions: {detail}"
    )


def touched_roots(operations: list[dict[str, Any]]) -> set[str]:
    """Top-level fields the operations change (``/scheduleParams/interval`` -> scheduleParams)."""
    return {pointer_segments(op["path"])[0] for op in operations}
