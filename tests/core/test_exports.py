"""The one CSV/JSON export helper: cells that look like formulas are neutralised, rows stream."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.http import Http404

from core.exports import ROWS_PER_CHUNK, csv_lines, download, json_lines, neutralise


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),  # numbers are numbers, not text a spreadsheet could run
    ],
)
def test_text_that_starts_like_a_formula_is_neutralised(value, expected):
    assert neutralise(value) == expected


def test_csv_rows_are_neutralised_and_typed():
    when = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    text = "".join(csv_lines(["a", "b", "c", "d"], [["=cmd", when, None, {"k": 1}]]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["a", "b", "c", "d"], ["'=cmd", "2026-01-02T03:04:00+00:00", "", '{"k": 1}']]


def test_rows_are_written_in_chunks_as_they_are_read():
    rows = ([i] for i in range(ROWS_PER_CHUNK * 2 + 1))
    chunks = list(csv_lines(["n"], rows))
    assert len(chunks) == 3
    assert "".join(chunks).count("\n") == ROWS_PER_CHUNK * 2 + 2


def test_json_is_an_array_of_objects_with_values_as_they_are():
    text = "".join(json_lines(["a", "b"], [["=x", 1], ["y", None]]))
    assert json.loads(text) == [{"a": "=x", "b": 1}, {"a": "y", "b": None}]
    assert json.loads("".join(json_lines(["a"], []))) == []


def test_a_download_names_its_file_and_refuses_other_formats():
    response = download("alerts", "json", ["a"], [])
    assert response["Content-Disposition"].startswith('attachment; filename="alerts-')
    assert response["Content-Disposition"].endswith('.json"')
    with pytest.raises(Http404):
        download("alerts", "xml", ["a"], [])
