"""Data Prep attribute paths: ``a.b[0].c``, ``a\\.b`` for a dot inside a name, ``items[*].id``.

A path is parsed once into segments. Reading a path never fails: a missing key, an index out of
range or a step into a scalar yields ``None``, because Stripe objects omit or null many fields.
Writing creates the objects and arrays along the way.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

WILDCARD = "*"


class PathError(ValueError):
    """The text is not a valid attribute path."""


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    position: int  # a non-negative array index


@dataclass(frozen=True)
class Each:
    """``[*]``: every element of an array."""


Segment = Key | Index | Each


def parse_path(text: str) -> tuple[Segment, ...]:
    if not text or not text.strip():
        raise PathError("Path is empty")
    segments: list[Segment] = []
    for raw_name, brackets in _split_names(text):
        if not raw_name:
            raise PathError(f"Path '{text}' has an empty field name")
        segments.append(Key(raw_name))
        segments.extend(_parse_brackets(text, brackets))
    return tuple(segments)


def _split_names(text: str) -> list[tuple[str, str]]:
    """Split on unescaped dots; return (field name, trailing bracket text) per part."""
    parts: list[tuple[str, str]] = []
    name: list[str] = []
    brackets: list[str] = []
    in_brackets = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            (brackets if in_brackets else name).append(text[i + 1])
            i += 2
            continue
        if char == "." and not in_brackets:
            parts.append(("".join(name), "".join(brackets)))
            name, brackets = [], []
        elif char == "[":
            in_brackets = True
            brackets.append(char)
        elif char == "]":
            in_brackets = False
            brackets.append(char)
        elif brackets and not in_brackets:
            raise PathError(f"Path '{text}' has text after ']' that is not preceded by '.'")
        else:
            (brackets if in_brackets else name).append(char)
        i += 1
    if in_brackets:
        raise PathError(f"Path '{text}' has an unclosed '['")
    parts.append(("".join(name), "".join(brackets)))
    return parts


def _parse_brackets(text: str, brackets: str) -> list[Segment]:
    segments: list[Segment] = []
    for chunk in brackets.split("]")[:-1]:
        inner = chunk.lstrip("[").strip()
        if inner == WILDCARD:
            segments.append(Each())
        elif inner.isdigit():
            segments.append(Index(int(inner)))
        else:
            raise PathError(f"Path '{text}' has an invalid index '[{inner}]'")
    return segments


def format_path(segments: tuple[Segment, ...]) -> str:
    out = ""
    for segment in segments:
        if isinstance(segment, Key):
            escaped = segment.name.replace("\\", "\\\\").replace(".", "\\.")
            out = f"{out}.{escaped}" if out else escaped
        elif isinstance(segment, Index):
            out += f"[{segment.position}]"
        else:
            out += "[*]"
    return out


def read_path(value: Any, segments: tuple[Segment, ...]) -> Any:
    """Return the value at the path, a list for ``[*]`` steps, or None when absent."""
    for position, segment in enumerate(segments):
        if value is None:
            return None
        if isinstance(segment, Key):
            value = value.get(segment.name) if isinstance(value, dict) else None
        elif isinstance(segment, Index):
            in_range = isinstance(value, list) and segment.position < len(value)
            value = value[segment.position] if in_range else None
        else:
            if not isinstance(value, list):
                return None
            rest = segments[position + 1 :]
            return [read_path(item, rest) for item in value]
    return value


def write_path(target: dict, segments: tuple[Segment, ...], value: Any) -> None:
    """Set ``value`` at the path inside ``target``, merging into objects already there."""
    _write(target, segments, copy.deepcopy(value))


def _write(container: Any, segments: tuple[Segment, ...], value: Any) -> Any:
    if not segments:
        return _merge(container, value)
    segment, rest = segments[0], segments[1:]
    if isinstance(segment, Key):
        node = container if isinstance(container, dict) else {}
        node[segment.name] = _write(node.get(segment.name), rest, value)
        return node
    node = container if isinstance(container, list) else []
    if isinstance(segment, Index):
        _grow(node, segment.position + 1)
        node[segment.position] = _write(node[segment.position], rest, value)
        return node
    items = value if isinstance(value, list) else [value]
    _grow(node, len(items))
    for position, item in enumerate(items):
        node[position] = _write(node[position], rest, item)
    return node


def _grow(items: list, size: int) -> None:
    items.extend([None] * (size - len(items)))


def _merge(existing: Any, value: Any) -> Any:
    """A whole object mapped next to mappings of its own sub-fields: keep both."""
    if isinstance(existing, dict) and isinstance(value, dict):
        merged = dict(existing)
        for key, item in value.items():
            merged[key] = _merge(merged.get(key), item)
        return merged
    return value
