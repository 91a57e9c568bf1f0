"""Java ``DateTimeFormatter`` patterns as used by ``dformat``, ``format`` and ``date``.

Supported letters: ``y`` year, ``M`` month (``MMM`` short and ``MMMM`` full English name), ``d``
day, ``D`` day of year, ``H``/``h`` hour (24/12), ``a`` AM/PM, ``m`` minute, ``s`` second, ``S``
fraction of a second, ``E`` weekday name, ``X``/``x``/``Z`` zone offset. ``'text'`` is a literal
and ``''`` a single quote; other non-letters are literal. Any other letter is an error, as it is
in Java.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

SUPPORTED_LETTERS = frozenset("yMdDHhamsSEXxZ")
MONTHS = list(calendar.month_name)[1:]
WEEKDAYS = list(calendar.day_name)


class DateFormatError(ValueError):
    """The pattern is not supported, or the text does not match it."""


@dataclass(frozen=True)
class Field:
    letter: str
    width: int


Token = Field | str  # a str is literal text


def tokenize(pattern: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            literal, i = _read_quoted(pattern, i)
            tokens.append(literal)
        elif char.isascii() and char.isalpha():
            width = _run_length(pattern, i)
            if char not in SUPPORTED_LETTERS:
                raise DateFormatError(f"Unsupported pattern letter '{char}' in '{pattern}'")
            tokens.append(Field(char, width))
            i += width
        else:
            tokens.append(char)
            i += 1
    return tokens


def _read_quoted(pattern: str, start: int) -> tuple[str, int]:
    if pattern.startswith("''", start):
        return "'", start + 2
    end = start + 1
    text: list[str] = []
    while end < len(pattern):
        if pattern.startswith("''", end):
            text.append("'")
            end += 2
        elif pattern[end] == "'":
            return "".join(text), end + 1
        else:
            text.append(pattern[end])
            end += 1
    raise DateFormatError(f"Unclosed quote in pattern '{pattern}'")


def _run_length(pattern: str, start: int) -> int:
    end = start
    while end < len(pattern) and pattern[end] == pattern[start]:
        end += 1
    return end - start


def format_datetime(moment: datetime, pattern: str) -> str:
    return "".join(
        token if isinstance(token, str) else _format_field(moment, token)
        for token in tokenize(pattern)
    )


def _format_field(moment: datetime, field: Field) -> str:
    letter, width = field.letter, field.width
    if letter == "y":
        return f"{moment.year % 100:02d}" if width == 2 else f"{moment.year:0{width}d}"
    if letter == "M":
        if width >= 3:
            name = MONTHS[moment.month - 1]
            return name if width >= 4 else name[:3]
        return f"{moment.month:0{width}d}"
    if letter == "E":
        name = WEEKDAYS[moment.weekday()]
        return name if width >= 4 else name[:3]
    if letter == "S":
        return f"{moment.microsecond:06d}000"[:width].ljust(width, "0")
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter in "XxZ":
        return _format_offset(moment, field)
    return f"{_numeric_value(moment, letter):0{width}d}"


def _numeric_value(moment: datetime, letter: str) -> int:
    values = {
        "d": moment.day,
        "D": moment.timetuple().tm_yday,
        "H": moment.hour,
        "h": (moment.hour % 12) or 12,
        "m": moment.minute,
        "s": moment.second,
    }
    return values[letter]


def _format_offset(moment: datetime, field: Field) -> str:
    offset = moment.utcoffset() or timedelta(0)
    if field.letter == "X" and not offset:
        return "Z"
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    if field.letter == "Z":
        return f"{sign}{hours:02d}{minutes:02d}"
    if field.width == 1:
        return f"{sign}{hours:02d}" + (f"{minutes:02d}" if minutes else "")
    separator = ":" if field.width >= 3 else ""
    return f"{sign}{hours:02d}{separator}{minutes:02d}"


def parse_datetime(text: str, pattern: str) -> datetime:
    tokens = tokenize(pattern)
    match = re.fullmatch("".join(_regex_for(token) for token in tokens), text.strip())
    if not match:
        raise DateFormatError(f"Text '{text}' does not match the format '{pattern}'")
    fields = [token for token in tokens if isinstance(token, Field)]
    return _build(dict(zip(fields, match.groups(), strict=True)), text)


def _regex_for(token: Token) -> str:
    if isinstance(token, str):
        return re.escape(token)
    letter, width = token.letter, token.width
    if (letter == "M" and width >= 3) or letter in "Ea":
        return r"([A-Za-z]+)"
    if letter in "XxZ":
        return r"(Z|[+-]\d{2}(?::?\d{2})?)"
    if letter == "y" and width != 2:
        return r"(\d{4,9})" if width >= 4 else r"(\d{1,9})"
    if width == 1:
        return r"(\d{1,3})" if letter == "D" else r"(\d{1,2})"
    return rf"(\d{{{width}}})"


def _build(values: dict[Field, str], text: str) -> datetime:
    parts = {"year": 1970, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
    micro, zone, pm, day_of_year = 0, UTC, None, None
    for field, raw in values.items():
        letter = field.letter
        if letter == "y":
            parts["year"] = 2000 + int(raw) if field.width == 2 else int(raw)
        elif letter == "M":
            parts["month"] = _month_number(raw) if field.width >= 3 else int(raw)
        elif letter in "dmsH":
            key = {"d": "day", "m": "minute", "s": "second", "H": "hour"}[letter]
            parts[key] = int(raw)
        elif letter == "h":
            parts["hour"] = int(raw) % 12
        elif letter == "a":
            pm = raw.upper() == "PM"
        elif letter == "S":
            micro = int(raw.ljust(6, "0")[:6])
        elif letter == "D":
            day_of_year = int(raw)
        elif letter in "XxZ":
            zone = _parse_offset(raw)
    if pm:
        parts["hour"] += 12
    try:
        moment = datetime(**parts, microsecond=micro, tzinfo=zone)
    except ValueError as exc:
        raise DateFormatError(f"Text '{text}' is not a valid date: {exc}") from exc
    if day_of_year:
        moment = moment.replace(month=1, day=1) + timedelta(days=day_of_year - 1)
    return moment


def _month_number(name: str) -> int:
    for number, month in enumerate(MONTHS, start=1):
        if name.lower() in (month.lower(), month[:3].lower()):
            return number
    raise DateFormatError(f"Unknown month name '{name}'")


def _parse_offset(raw: str) -> timezone:
    if raw == "Z":
        return UTC
    digits = raw[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
    return timezone(timedelta(minutes=-minutes if raw[0] == "-" else minutes))


def parse_iso(text: str) -> datetime:
    """Parse the ISO 8601 forms ``date(STRING)`` accepts; naive values are UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise DateFormatError(f"Text '{text}' is not an ISO 8601 date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_epoch_millis(millis: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)


def to_iso(moment: datetime) -> str:
    """Render a date value the way Data Prep writes ZonedDateTime: ``2019-10-23T11:24:35Z``."""
    pattern = "yyyy-MM-dd'T'HH:mm:ss" + (".SSS" if moment.microsecond else "") + "XXX"
    return format_datetime(moment, pattern)
