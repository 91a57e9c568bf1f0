"""The supported subset of Data Prep's mapping functions.

Each function takes already evaluated arguments, except the lazy ones (``iif``), which take
zero-argument callables so that only the chosen branch is evaluated. Most functions return null
for a null input instead of failing, since optional Stripe fields are often null.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from emulators.aep.mapping import dates
from emulators.aep.mapping.expression import ExpressionError, UnsupportedFunctionError
from emulators.aep.mapping.values import (
    EvalError,
    is_number,
    to_json_text,
    to_number,
    to_text,
    to_whole,
    truthy,
    type_name,
)

MAX_PADDED_LENGTH = 65_536


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int | None  # None: any number
    impl: Callable[..., Any]
    lazy: bool = False

    def arity_text(self) -> str:
        if self.max_args == self.min_args:
            count = self.min_args
            return f"{count} argument" + ("" if count == 1 else "s")
        if self.max_args is None:
            return f"at least {self.min_args} argument" + ("" if self.min_args == 1 else "s")
        return f"{self.min_args} to {self.max_args} arguments"


# -- strings -----------------------------------------------------------------------------------


def _concat(*args: Any) -> str | None:
    if all(arg is None for arg in args):
        return None
    return "".join(to_text(arg, "concat") or "" for arg in args)


def _string_op(name: str, operation: Callable[[str], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        text = to_text(value, name)
        return None if text is None else operation(text)

    return apply


def _substr(value: Any, start: Any, length: Any) -> str | None:
    text = to_text(value, "substr")
    if text is None:
        return None
    begin = max(to_whole(start, "substr start index"), 0)
    count = to_whole(length, "substr length")
    return text[begin : begin + count] if count > 0 else ""


def _replacestr(value: Any, find: Any, replacement: Any) -> str | None:
    text = to_text(value, "replacestr")
    needle = to_text(find, "replacestr")
    if text is None or not needle:
        return text
    return text.replace(needle, to_text(replacement, "replacestr") or "")


def _split(value: Any, separator: Any) -> list[str] | None:
    text = to_text(value, "split")
    delimiters = to_text(separator, "split")
    if text is None:
        return None
    if not delimiters:
        return list(text)
    # Several separator characters split on any one of them.
    return re.split("[" + re.escape(delimiters) + "]", text)


def _explode(value: Any, pattern: Any = ",") -> list[str] | None:
    text = to_text(value, "explode")
    if text is None:
        return None
    return re.split(_compile_regex(to_text(pattern, "explode") or ",", "explode"), text)


def _join(separator: Any, *items: Any) -> str:
    values = items[0] if len(items) == 1 and isinstance(items[0], list) else items
    glue = to_text(separator, "join") or ""
    return glue.join(to_text(item, "join") or "" for item in values if item is not None)


def _pad(name: str, left: bool) -> Callable[[Any, Any, Any], str | None]:
    def pad(value: Any, count: Any, padding: Any) -> str | None:
        text = to_text(value, name)
        if text is None:
            return None
        fill = to_text(padding, name) or " "
        size = to_whole(count, f"{name} count")
        if size > MAX_PADDED_LENGTH:
            raise EvalError(f"{name} count {size} is larger than {MAX_PADDED_LENGTH}")
        missing = size - len(text)
        if missing <= 0:
            return text
        extra = (fill * (missing // len(fill) + 1))[:missing]
        return extra + text if left else text + extra

    return pad


def _left(value: Any, count: Any) -> str | None:
    text = to_text(value, "left")
    size = to_whole(count, "left count")
    return None if text is None else text[: max(size, 0)]


def _right(value: Any, count: Any) -> str | None:
    text = to_text(value, "right")
    size = to_whole(count, "right count")
    if text is None:
        return None
    return text[len(text) - size :] if 0 < size < len(text) else (text if size > 0 else "")


def _size_of(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | list | dict):
        return len(value)
    return len(to_text(value, "size_of") or "")


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def _equals(left: Any, right: Any) -> bool:
    return to_text(left, "equals") == to_text(right, "equals")


def _equals_ignore_case(left: Any, right: Any) -> bool:
    first, second = to_text(left, "equalsIgnoreCase"), to_text(right, "equalsIgnoreCase")
    if first is None or second is None:
        return first is second
    return first.casefold() == second.casefold()


def _instr(value: Any, substring: Any, start: Any = 0, occurrence: Any = 1) -> int | None:
    text, needle = to_text(value, "instr"), to_text(substring, "instr")
    if text is None or needle is None:
        return None
    position = to_whole(start, "instr start position") - 1
    for _ in range(max(to_whole(occurrence, "instr occurrence"), 1)):
        position = text.find(needle, position + 1)
        if position < 0:
            return -1
    return position


# -- regular expressions -----------------------------------------------------------------------


def _compile_regex(pattern: str, name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise EvalError(f"{name}: invalid regular expression '{pattern}': {exc}") from exc


def _matches_regex(value: Any, pattern: Any) -> bool | None:
    text = to_text(value, "matches_regex")
    if text is None:
        return None
    regex = _compile_regex(to_text(pattern, "matches_regex") or "", "matches_regex")
    return regex.fullmatch(text) is not None


def _extract_regex(value: Any, pattern: Any) -> list[str | None] | None:
    text = to_text(value, "extract_regex")
    if text is None:
        return None
    match = _compile_regex(to_text(pattern, "extract_regex") or "", "extract_regex").search(text)
    return [match.group(0), *match.groups()] if match else None


# -- hashing -----------------------------------------------------------------------------------


def _encode(value: Any, charset: Any, name: str) -> bytes | None:
    text = to_text(value, name)
    if text is None:
        return None
    encoding = (to_text(charset, name) or "UTF-8").upper()
    if encoding == "UTF-16":
        # Java's UTF-16 encoder writes a big-endian byte order mark first.
        return b"\xfe\xff" + text.encode("utf-16-be")
    codecs = {"UTF-8": "utf-8", "ISO-8859-1": "latin-1", "US-ASCII": "ascii"}
    if encoding not in codecs:
        raise EvalError(f"{name}: unsupported charset '{encoding}'")
    try:
        return text.encode(codecs[encoding])
    except UnicodeEncodeError as exc:
        raise EvalError(f"{name}: text cannot be encoded as {encoding}") from exc


def _digest(name: str) -> Callable[..., str | None]:
    def digest(value: Any, charset: Any = None) -> str | None:
        data = _encode(value, charset, name)
        return None if data is None else hashlib.new(name, data).hexdigest()

    return digest


def _crc32(value: Any, charset: Any = None) -> str | None:
    data = _encode(value, charset, "crc32")
    return None if data is None else format(zlib.crc32(data), "x")


# -- dates -------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _pattern(value: Any, name: str) -> str:
    pattern = to_text(value, name)
    if not pattern:
        raise EvalError(f"{name} needs a format pattern")
    return pattern


def _dformat(timestamp: Any, pattern: Any) -> str | None:
    millis = to_number(timestamp, "dformat timestamp")
    if millis is None:
        return None
    try:
        return dates.format_datetime(dates.from_epoch_millis(millis), _pattern(pattern, "dformat"))
    except (dates.DateFormatError, OverflowError) as exc:
        raise EvalError(f"dformat: {exc}") from exc


def _as_datetime(value: Any, name: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return dates.parse_iso(value)
        except dates.DateFormatError as exc:
            raise EvalError(f"{name}: {exc}") from exc
    raise EvalError(f"{name} expects a date, got {type_name(value)}")


def _format(value: Any, pattern: Any) -> str | None:
    moment = _as_datetime(value, "format")
    if moment is None:
        return None
    try:
        return dates.format_datetime(moment, _pattern(pattern, "format"))
    except dates.DateFormatError as exc:
        raise EvalError(f"format: {exc}") from exc


_NO_DEFAULT = object()


def _date(value: Any, pattern: Any = None, default: Any = _NO_DEFAULT) -> datetime | None:
    text = to_text(value, "date")
    try:
        if text is None or not text.strip():
            return None if default is _NO_DEFAULT else _as_datetime(default, "date")
        if pattern is None:
            return dates.parse_iso(text)
        return dates.parse_datetime(text, _pattern(pattern, "date"))
    except dates.DateFormatError as exc:
        if default is not _NO_DEFAULT:
            return _as_datetime(default, "date")
        raise EvalError(f"date: {exc}") from exc


# -- type conversions --------------------------------------------------------------------------


def _to_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        raise EvalError("to_integer: cannot convert a boolean to an integer")
    if isinstance(value, str) and not re.fullmatch(r"\s*[+-]?\d+\s*", value):
        raise EvalError(f"to_integer: cannot convert '{value}' to an integer")
    number = to_number(value, "to_integer")
    return None if number is None else int(number)


def _to_bigint(value: Any) -> int | None:
    if isinstance(value, bool):
        raise EvalError("to_bigint: cannot convert a boolean to an integer")
    number = to_number(value, "to_bigint")
    return None if number is None else int(number)


def _to_decimal(value: Any) -> float | None:
    if isinstance(value, bool):
        raise EvalError("to_decimal: cannot convert a boolean to a number")
    number = to_number(value, "to_decimal")
    return None if number is None else float(number)


def _to_string(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return to_json_text(value)
    return to_text(value, "to_string")


def _to_boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if is_number(value) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise EvalError(f"to_boolean: cannot convert '{value}' to a boolean")


# -- numbers -----------------------------------------------------------------------------------


def _round(value: Any, digits: Any = 0) -> int | float | None:
    number = to_number(value, "round")
    if number is None:
        return None
    places = to_whole(digits, "round digits")
    scale = Decimal(10) ** places
    # Java's Math.round: halves go up (towards positive infinity).
    rounded = (Decimal(str(number)) * scale + Decimal("0.5")).to_integral_value(ROUND_FLOOR)
    result = rounded / scale
    return int(result) if places <= 0 else float(result)


def _number_op(name: str, operation: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        number = to_number(value, name)
        return None if number is None else operation(number)

    return apply


def _extreme(name: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        values = [arg for arg in args if arg is not None]
        if not values:
            return None
        try:
            return pick(values)
        except TypeError as exc:
            raise EvalError(f"{name}: the values cannot be compared") from exc

    return apply


# -- logic, arrays and objects -----------------------------------------------------------------


def _iif(condition: Callable[[], Any], when_true: Callable[[], Any], when_false: Callable[[], Any]):
    return when_true() if truthy(condition()) else when_false()


def _coalesce(*args: Any) -> Any:
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    return next((value for value in values if value is not None), None)


def _decode(key: Any, *options: Any) -> Any:
    pairs = len(options) // 2
    for position in range(pairs):
        if options[2 * position] == key:
            return options[2 * position + 1]
    return options[-1] if len(options) % 2 else None


def _first(*args: Any) -> Any:
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    return values[0] if values else None


def _last(*args: Any) -> Any:
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    return values[-1] if values else None


def _to_array(include_nulls: Any, *values: Any) -> list:
    keep_nulls = truthy(include_nulls)
    return [value for value in values if keep_nulls or value is not None]


def _add_to_array(array: Any, *values: Any) -> list:
    return [*_as_list(array, "add_to_array"), *values]


def _join_arrays(array: Any, *arrays: Any) -> list:
    joined = list(_as_list(array, "join_arrays"))
    for extra in arrays:
        joined.extend(_as_list(extra, "join_arrays"))
    return joined


def _as_list(value: Any, name: str) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise EvalError(f"{name} expects an array, got {type_name(value)}")


def _uuid() -> str:
    return str(uuid.uuid4())


def _spec(name: str, impl: Callable[..., Any], least: int, most: int | None, **kw) -> FunctionSpec:
    return FunctionSpec(name, least, most, impl, **kw)


_SPECS = [
    _spec("concat", _concat, 1, None),
    _spec("upper", _string_op("upper", str.upper), 1, 1),
    _spec("lower", _string_op("lower", str.lower), 1, 1),
    _spec("trim", _string_op("trim", str.strip), 1, 1),
    _spec("ltrim", _string_op("ltrim", str.lstrip), 1, 1),
    _spec("rtrim", _string_op("rtrim", str.rstrip), 1, 1),
    _spec("substr", _substr, 3, 3),
    _spec("replacestr", _replacestr, 3, 3),
    _spec("split", _split, 2, 2),
    _spec("explode", _explode, 1, 2),
    _spec("join", _join, 2, None),
    _spec("lpad", _pad("lpad", left=True), 3, 3),
    _spec("rpad", _pad("rpad", left=False), 3, 3),
    _spec("left", _left, 2, 2),
    _spec("right", _right, 2, 2),
    _spec("length", _size_of, 1, 1),
    _spec("size_of", _size_of, 1, 1),
    _spec("is_empty", _is_empty, 1, 1),
    _spec("equals", _equals, 2, 2),
    _spec("equalsIgnoreCase", _equals_ignore_case, 2, 2),
    _spec("instr", _instr, 2, 4),
    _spec("matches_regex", _matches_regex, 2, 2),
    _spec("extract_regex", _extract_regex, 2, 2),
    _spec("sha1", _digest("sha1"), 1, 2),
    _spec("sha256", _digest("sha256"), 1, 2),
    _spec("sha512", _digest("sha512"), 1, 2),
    _spec("md5", _digest("md5"), 1, 2),
    _spec("crc32", _crc32, 1, 2),
    _spec("now", _now, 0, 0),
    _spec("timestamp", _timestamp, 0, 0),
    _spec("dformat", _dformat, 2, 2),
    _spec("format", _format, 2, 2),
    _spec("date", _date, 1, 3),
    _spec("to_integer", _to_integer, 1, 1),
    _spec("to_bigint", _to_bigint, 1, 1),
    _spec("to_decimal", _to_decimal, 1, 1),
    _spec("to_float", _to_decimal, 1, 1),
    _spec("to_string", _to_string, 1, 1),
    _spec("to_boolean", _to_boolean, 1, 1),
    _spec("round", _round, 1, 2),
    _spec("floor", _number_op("floor", math.floor), 1, 1),
    _spec("ceil", _number_op("ceil", math.ceil), 1, 1),
    _spec("abs", _number_op("abs", abs), 1, 1),
    _spec("min", _extreme("min", min), 1, None),
    _spec("max", _extreme("max", max), 1, None),
    _spec("iif", _iif, 3, 3, lazy=True),
    _spec("coalesce", _coalesce, 1, None),
    _spec("decode", _decode, 2, None),
    _spec("first", _first, 1, None),
    _spec("last", _last, 1, None),
    _spec("to_array", _to_array, 1, None),
    _spec("add_to_array", _add_to_array, 1, None),
    _spec("join_arrays", _join_arrays, 1, None),
    _spec("uuid", _uuid, 0, 0),
    _spec("nullify", lambda: None, 0, 0),
]
ALIASES = {
    "ucase": "upper",
    "lcase": "lower",
    "isempty": "is_empty",
    "to_double": "to_decimal",
    "guid": "uuid",
}

FUNCTIONS: dict[str, FunctionSpec] = {spec.name: spec for spec in _SPECS}
_BY_LOWER_NAME = {name.lower(): name for name in [*FUNCTIONS, *ALIASES]}
SUPPORTED_FUNCTIONS = tuple(sorted([*FUNCTIONS, *ALIASES], key=str.lower))


def resolve_function(name: str, arg_count: int, position: int | None = None) -> str:
    """Return the canonical name of a supported function, or raise ExpressionError."""
    known = _BY_LOWER_NAME.get(name.lower())
    if known is None:
        raise UnsupportedFunctionError(f"Function '{name}' is not supported", position)
    spec = FUNCTIONS[ALIASES.get(known, known)]
    too_many = spec.max_args is not None and arg_count > spec.max_args
    if arg_count < spec.min_args or too_many:
        raise ExpressionError(
            f"Function '{name}' expects {spec.arity_text()}, got {arg_count}", position
        )
    return spec.name
