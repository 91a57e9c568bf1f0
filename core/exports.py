"""Every download of a list (CSV and JSON), streamed row by row, and CSV made safe to open.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return
that hides one) as a formula; text from AEP, Stripe or a person could do that, so every CSV
export writes its cells through `neutralise`, which prefixes such a cell with a quote.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone

FORMATS = ("csv", "json")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows are written in batches: one chunk per few hundred rows, not one per row.
ROWS_PER_CHUNK = 500


def neutralise(value: Any) -> Any:
    """The cell as a spreadsheet shows it, never runs it: text like a formula gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def cell(value: Any) -> Any:
    """A value as a CSV cell: times in ISO 8601 (UTC), nothing as empty, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, cls=DjangoJSONEncoder)
    return neutralise(value)


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, value: str) -> None:
        self.parts.append(value)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = _Buffer()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(value) for value in row])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.take()
    yield buffer.take()


def json_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A JSON array of objects keyed by the columns (values as they are, not neutralised)."""
    encoder = DjangoJSONEncoder()
    parts = ["["]
    for count, row in enumerate(rows):
        parts.append(
            ("," if count else "") + "\n" + encoder.encode(dict(zip(columns, row, strict=True)))
        )
        if len(parts) >= ROWS_PER_CHUNK:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n")
    yield "".join(parts)


def download(
    name: str, fmt: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """`name`-YYYYmmdd-HHMM.csv or .json, streamed as the rows are read."""
    if fmt not in FORMATS:
        raise Http404
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "json":
        response = StreamingHttpResponse(
            json_lines(columns, rows), content_type="application/json; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(
            csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response
