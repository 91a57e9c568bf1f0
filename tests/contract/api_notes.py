"""Read the JSON examples out of docs/aep-api-notes.md, section by section."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from tests.contract.specs import API_NOTES

_HEADING = re.compile(r"^(#{2,4}) (\S+)", re.MULTILINE)
_FENCED_JSON = re.compile(r"```json\n(.*?)```", re.DOTALL)
# Inline examples, optionally after a status code: `201 {"id": …}` or `["@/dataSets/…"]`.
_INLINE_JSON = re.compile(r"`(?:\d{3} )?([\[{][^`]*[\]}])`")
# Request samples start with their request line inside the JSON fence.
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+\n")


@functools.cache
def _notes() -> str:
    return API_NOTES.read_text()


def section(number: str) -> str:
    """The text of section `number` (e.g. "2.4.7"), without its subsections' siblings."""
    notes = _notes()
    for match in _HEADING.finditer(notes):
        if match.group(2).rstrip(".") == number:
            level = len(match.group(1))
            end = re.compile(rf"^#{{2,{level}}} ", re.MULTILINE).search(notes, match.end())
            return notes[match.start() : end.start() if end else len(notes)]
    raise LookupError(f"aep-api-notes.md has no section {number}")


def json_blocks(number: str) -> list[Any]:
    """Fenced JSON examples of a section, request lines stripped; invalid ones are skipped
    (the notes keep a few deliberately abridged samples)."""
    parsed = []
    for block in _FENCED_JSON.findall(section(number)):
        try:
            parsed.append(json.loads(_REQUEST_LINE.sub("", block)))
        except json.JSONDecodeError:
            continue
    return parsed


def inline_json(number: str) -> list[Any]:
    """Inline `…` code spans of a section that are complete JSON objects or arrays."""
    parsed = []
    for span in _INLINE_JSON.findall(section(number)):
        try:
            parsed.append(json.loads(span))
        except json.JSONDecodeError:
            continue
    return parsed
