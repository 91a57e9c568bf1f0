"""Flow Service list queries: ``property`` filters, ``orderby``, ``limit``, ``count`` and paging.

Filters follow the sort-and-filter guide: ``property=<path><op><value>``, repeated for AND, a
comma-separated value list for OR, ``[]`` after an array field to match any element, dotted paths
into nested objects. Values compare as numbers when both sides are numeric, as booleans against
``true``/``false``, otherwise as case-insensitive strings.

Paging is keyset-based: the continuation token carries the whole query plus the sort key of the
last item returned, so new entities arriving between pages neither repeat nor skip items. Tokens
are base64url without padding, so ``_links.next.href`` contains exactly one ``=``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emulators.aep.errors import ApiError

DEFAULT_LIMIT = 100
OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
RANGE_OPERATORS = (">", "<", ">=", "<=")
_OPERATOR_CHARS = "=!<>~"
_FIELD_PATH = re.compile(r"^[A-Za-z0-9_@:$-]+(\[\])?(\.[A-Za-z0-9_@:$-]+(\[\])?)*$")


@dataclass(frozen=True)
class Condition:
    path: tuple[tuple[str, bool], ...]  # (key, is_array) per segment
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Ordering:
    path: tuple[tuple[str, bool], ...]
    descending: bool


@dataclass(frozen=True)
class ListQuery:
    conditions: tuple[Condition, ...]
    ordering: Ordering
    limit: int
    count: bool
    raw_properties: tuple[str, ...]
    raw_orderby: str
    after: list[Any] | None = None


# -- parsing --------------------------------------------------------------------------------


def parse_list_query(args: Mapping[str, Any], properties: list[str]) -> ListQuery:
    """Build the query from request arguments, or from the continuation token if one is given."""
    token = args.get("continuationToken")
    if token:
        return _query_from_token(token)
    count = _parse_count(args.get("count"))
    limit_text = args.get("limit")
    if count and limit_text is not None:
        raise ApiError(400, "1401", "The query parameters 'limit' and 'count' cannot be combined.")
    limit = _parse_limit(limit_text)
    orderby = args.get("orderby", "") or ""
    return ListQuery(
        conditions=tuple(parse_condition(p) for p in properties if p),
        ordering=parse_orderby(orderby),
        limit=limit,
        count=count,
        raw_properties=tuple(properties),
        raw_orderby=orderby,
    )


def _parse_count(text: str | None) -> bool:
    if text is None:
        return False
    if text.lower() not in ("true", "false"):
        raise ApiError(400, "1444", f"Invalid value '{text}' for the query parameter 'count'.")
    return text.lower() == "true"


def _parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise ApiError(
            400, "1444", f"Invalid value '{text}' for the query parameter 'limit'."
        ) from None
    if limit < 1:
        raise ApiError(400, "1444", "The query parameter 'limit' must be a positive integer.")
    return limit


def parse_condition(text: str) -> Condition:
    start = next((i for i, ch in enumerate(text) if ch in _OPERATOR_CHARS), None)
    if start is None or start == 0:
        raise ApiError(400, "1441", f"Invalid filter expression '{text}'.")
    end = start
    while end < len(text) and text[end] in _OPERATOR_CHARS:
        end += 1
    operator = text[start:end]
    if "~" in operator:
        raise ApiError(400, "1440", f"Operator '{operator}' not implemented")
    if operator not in OPERATORS:
        raise ApiError(400, "1450", f"Invalid operator {operator}")
    values = tuple(v.strip() for v in text[end:].split(","))
    if len(values) > 1 and operator in RANGE_OPERATORS:
        raise ApiError(400, "1443", f"Operator '{operator}' is not allowed for multiple values")
    return Condition(parse_path(text[:start].strip(), code="1441"), operator, values)


def parse_orderby(text: str) -> Ordering:
    if not text:
        return Ordering(parse_path("createdAt", code="1433"), descending=True)
    descending, field = False, text
    # A '+' in a query string arrives as a space once decoded.
    if text[0] in "+ ":
        field = text[1:]
    elif text[0] == "-":
        descending, field = True, text[1:]
    if not field or not (field[0].isalnum() or field[0] == "_"):
        raise ApiError(400, "1432", f"Invalid sort direction in orderby '{text}'.")
    return Ordering(parse_path(field.strip(), code="1433"), descending=descending)


def parse_path(text: str, *, code: str) -> tuple[tuple[str, bool], ...]:
    if not _FIELD_PATH.match(text):
        raise ApiError(400, code, f"Invalid field '{text}'.")
    return tuple(
        (part[:-2], True) if part.endswith("[]") else (part, False) for part in text.split(".")
    )


# -- evaluation -----------------------------------------------------------------------------


def values_at(doc: Any, path: tuple[tuple[str, bool], ...]) -> list[Any]:
    current = [doc]
    for key, is_array in path:
        following: list[Any] = []
        for value in current:
            if isinstance(value, dict) and key in value:
                child = value[key]
                if isinstance(child, list):
                    following.extend(child)
                elif not is_array:
                    following.append(child)
        current = following
    return current


def matches(doc: Mapping[str, Any], condition: Condition) -> bool:
    found = values_at(doc, condition.path)
    if condition.operator == "!=":
        return not any(_compare(v, "==", literal) for v in found for literal in condition.values)
    return any(_compare(v, condition.operator, lit) for v in found for lit in condition.values)


def _compare(value: Any, operator: str, literal: str) -> bool:
    left, right = _coerce(value, literal)
    if left is None or right is None:
        return False
    if operator == "==":
        return left == right
    try:
        return {
            ">": left > right,
            "<": left < right,
            ">=": left >= right,
            "<=": left <= right,
        }[operator]
    except TypeError:
        return False


def _coerce(value: Any, literal: str) -> tuple[Any, Any]:
    if value is None:
        return None, None
    if isinstance(value, bool):
        lowered = literal.lower()
        return (value, lowered == "true") if lowered in ("true", "false") else (None, None)
    number = _number(literal)
    if isinstance(value, int | float):
        return (value, number) if number is not None else (None, None)
    if isinstance(value, str):
        value_number = _number(value)
        if value_number is not None and number is not None:
            return value_number, number
        return value.lower(), literal.lower()
    return None, None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def sort_key(doc: Mapping[str, Any], ordering: Ordering) -> list[Any]:
    found = values_at(doc, ordering.path)
    value = found[0] if found else None
    return [_rank(value), doc.get("createdAt", 0), doc.get("id", "")]


def _rank(value: Any) -> list[Any]:
    if value is None:
        return [9, ""]
    if isinstance(value, bool):
        return [0, int(value)]
    if isinstance(value, int | float):
        return [0, value]
    if isinstance(value, str):
        return [1, value.lower()]
    return [5, json.dumps(value, sort_keys=True)]


# -- running a query --------------------------------------------------------------------------


def run_list_query(
    docs: Iterable[dict[str, Any]], query: ListQuery, collection_path: str
) -> dict[str, Any]:
    """Filter, sort and page ``docs``; returns the Flow Service list body."""
    selected = [d for d in docs if all(matches(d, c) for c in query.conditions)]
    if query.count:
        return {"count": len(selected)}
    keyed = sorted(
        ((sort_key(d, query.ordering), d) for d in selected),
        key=lambda pair: pair[0],
        reverse=query.ordering.descending,
    )
    if query.after is not None:
        keyed = [pair for pair in keyed if _is_after(pair[0], query.after, query.ordering)]
    page = keyed[: query.limit]
    links: dict[str, Any] = {}
    if len(keyed) > query.limit:
        token = _token_for(query, page[-1][0])
        links["next"] = {"href": f"{collection_path}?continuationToken={token}"}
    return {"items": [d for _, d in page], "_links": links}


def _is_after(key: list[Any], last: list[Any], ordering: Ordering) -> bool:
    try:
        return key < last if ordering.descending else key > last
    except TypeError:
        return False


def _token_for(query: ListQuery, last_key: list[Any]) -> str:
    state = {
        "p": list(query.raw_properties),
        "o": query.raw_orderby,
        "l": query.limit,
        "k": last_key,
    }
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _query_from_token(token: str) -> ListQuery:
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
        properties = [str(p) for p in state["p"]]
        orderby = str(state["o"])
        limit = int(state["l"])
        last_key = list(state["k"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ApiError(400, "1445", "The continuationToken is not valid.") from None
    return ListQuery(
        conditions=tuple(parse_condition(p) for p in properties if p),
        ordering=parse_orderby(orderby),
        limit=limit,
        count=False,
        raw_properties=tuple(properties),
        raw_orderby=orderby,
        after=last_key,
    )
