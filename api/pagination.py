"""Cursor pagination over any ordering: the cursor holds the last row's sort values.

A keyset cursor stays right while rows are added or change health between two pages, and its
query uses the list's index instead of an OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import DateTimeField, GeneratedField, Q, QuerySet
from django.utils.dateparse import parse_datetime

from api.problems import Invalid
from core.http import positive_int

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None


def limit_from(query) -> int:
    return min(positive_int(query.get("limit")) or DEFAULT_LIMIT, MAX_LIMIT)


def page(queryset: QuerySet, order: tuple[str, ...], cursor: str | None, limit: int) -> Page:
    """Rows after `cursor` in `order` (fields, "-" for descending; the last one unique)."""
    queryset = queryset.order_by(*order)
    if cursor:
        queryset = queryset.filter(_after(queryset, order, _decode(queryset, order, cursor)))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _encode(rows[-1], order) if more and rows else None)


def _after(queryset: QuerySet, order: tuple[str, ...], values: list[Any]) -> Q:
    condition = Q()
    for index, field in enumerate(order):
        name = field.lstrip("-")
        step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[index]})
        for earlier, value in zip(order[:index], values[:index], strict=True):
            step &= Q(**{earlier.lstrip("-"): value})
        condition |= step
    return condition


def _encode(row: Any, order: tuple[str, ...]) -> str:
    values = [getattr(row, field.lstrip("-")) for field in order]
    raw = json.dumps(values, cls=DjangoJSONEncoder).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(queryset: QuerySet, order: tuple[str, ...], cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != len(order):
        raise Invalid({"cursor": ["This cursor is not valid; start again without one."]})
    return [
        _typed(queryset, field.lstrip("-"), value)
        for field, value in zip(order, values, strict=True)
    ]


def _typed(queryset: QuerySet, name: str, value: Any) -> Any:
    field = queryset.model._meta.get_field(name)
    if isinstance(field, GeneratedField):
        field = field.output_field
    if isinstance(field, DateTimeField):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if not isinstance(parsed, datetime):
            raise Invalid({"cursor": ["This cursor is not valid; start again without one."]})
        return parsed
    if field.get_internal_type() in (
        "BigAutoField",
        "AutoField",
        "PositiveSmallIntegerField",
        "IntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
    ):
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
            raise Invalid({"cursor": ["This cursor is not valid; start again without one."]})
        return value
    if not isinstance(value, str):
        raise Invalid({"cursor": ["This cursor is not valid; start again without one."]})
    return value.replace("\x00", "")
