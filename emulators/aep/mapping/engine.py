"""Compile Data Prep mapping sets and apply them to source records.

A mapping set compiles once (paths parsed, expressions parsed, functions checked) and then maps
any number of records. Problems with the mapping set itself are :class:`MappingIssue`\\ s raised
together in :class:`MappingValidationError`; problems with one record's values are that record's
errors and never stop the other records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from emulators.aep.mapping.coerce import coerce_through, find_node
from emulators.aep.mapping.evaluator import evaluate
from emulators.aep.mapping.expression import ExpressionError, UnsupportedFunctionError, parse
from emulators.aep.mapping.functions import resolve_function
from emulators.aep.mapping.paths import Each, PathError, Segment, parse_path, read_path, write_path
from emulators.aep.mapping.values import EvalError, to_output

ATTRIBUTE, EXPRESSION, STATIC = "ATTRIBUTE", "EXPRESSION", "STATIC"
SOURCE_TYPES = (ATTRIBUTE, EXPRESSION, STATIC)
# How Data Prep stores and returns each sourceType.
STORED_SOURCE_TYPES = {
    ATTRIBUTE: "text/x.schema-path",
    EXPRESSION: "text/x.aep-xl",
    STATIC: "text/plain",
}
_FROM_STORED = {stored: plain for plain, stored in STORED_SOURCE_TYPES.items()}
_PASSED_THROUGH = ("name", "description", "primaryIdentity")

# Codes of mapping-set validation errors, and of a record that failed to map.
CODE_SOURCE_TYPE = "MAPPER-1001-400"
CODE_SOURCE_PATH = "MAPPER-1002-400"
CODE_DESTINATION_PATH = "MAPPER-1003-400"
CODE_EXPRESSION = "MAPPER-1004-400"
CODE_FUNCTION = "MAPPER-1005-400"
CODE_NOT_IN_SCHEMA = "MAPPER-1006-400"
CODE_DUPLICATE = "MAPPER-1007-400"
CODE_TRANSFORM = "MAPPER-3700-400"


@dataclass(frozen=True)
class MappingIssue:
    index: int
    source: str
    destination: str
    message: str
    code: str = CODE_EXPRESSION


class MappingValidationError(ValueError):
    def __init__(self, errors: list[MappingIssue]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"mapping {e.index}: {e.message}" for e in errors))


@dataclass
class MappedRecord:
    output: dict
    errors: list[str]
    # The same errors in the shape of Data Prep's TransformErrorInfo, for previews and diagnostics.
    details: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class CompiledMapping:
    index: int
    source_type: str
    source: str
    destination: str
    identity: bool
    target: tuple[Segment, ...]
    read: Callable[[dict], Any]
    target_node: dict | None


@dataclass(frozen=True)
class CompiledMappingSet:
    mappings: tuple[CompiledMapping, ...]

    def apply(self, record: dict) -> MappedRecord:
        result = MappedRecord(output={}, errors=[])
        for mapping in self.mappings:
            try:
                value = _mapped_value(mapping, record)
            except EvalError as exc:
                _record_failure(result, mapping, str(exc))
                continue
            except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
                # One odd value must not stop a run: anything the functions did not foresee
                # still fails only this record.
                _record_failure(result, mapping, f"{type(exc).__name__}: {exc}")
                continue
            if value is not None:
                write_path(result.output, mapping.target, value)
        return result


def _mapped_value(mapping: CompiledMapping, record: dict) -> Any:
    value = to_output(mapping.read(record))
    if mapping.target_node is None:
        return value
    depth = sum(isinstance(segment, Each) for segment in mapping.target)
    return coerce_through(value, mapping.target_node, depth)


def _record_failure(result: MappedRecord, mapping: CompiledMapping, message: str) -> None:
    result.errors.append(f"{mapping.destination}: {message}")
    result.details.append(
        {
            "code": CODE_TRANSFORM,
            "message": message,
            "source": mapping.source,
            "destination": mapping.destination,
            "sourceType": mapping.source_type,
        }
    )


# -- normalising request bodies ----------------------------------------------------------------


def normalise_mappings(body_mappings: Iterable[Any] | None) -> list[dict]:
    """Accept the modern (source/destination/sourceType) and the legacy
    (sourceAttribute/destinationXdmPath) request shapes and the stored sourceType forms."""
    return [_normalise_one(item) for item in body_mappings or []]


def _normalise_one(item: Any) -> dict:
    if not isinstance(item, dict):
        return {"sourceType": ATTRIBUTE, "source": "", "destination": "", "identity": False}
    source = item.get("source")
    if source is None:
        source = item.get("sourceAttribute")
    destination = item.get("destination")
    if destination is None:
        destination = item.get("destinationXdmPath")
    normalised = {
        "sourceType": _canonical_source_type(item.get("sourceType")),
        "source": "" if source is None else str(source),
        "destination": "" if destination is None else str(destination),
        "identity": bool(item.get("identity", False)),
    }
    normalised.update({key: item[key] for key in _PASSED_THROUGH if key in item})
    return normalised


def _canonical_source_type(value: Any) -> str:
    if value is None or value == "":
        return ATTRIBUTE  # the legacy shape has no sourceType: it maps attributes
    text = str(value).strip()
    if text in _FROM_STORED:
        return _FROM_STORED[text]
    return text.upper() if text.upper() in SOURCE_TYPES else text


# -- compiling ---------------------------------------------------------------------------------


def compile_mappings(
    mappings: Iterable[Any], output_schema: dict | None = None
) -> CompiledMappingSet:
    """Compile a mapping set; raise MappingValidationError listing every problem found.

    ``output_schema`` is the resolved target schema (see ``emulators.aep.xdm.resolve_schema``).
    With it, destinations must exist in the schema and mapped values are converted to the
    destination's type.
    """
    compiled, issues = _compile_all(normalise_mappings(mappings), output_schema)
    if issues:
        raise MappingValidationError(issues)
    return CompiledMappingSet(tuple(compiled))


def _compile_all(
    normalised: list[dict], output_schema: dict | None
) -> tuple[list[CompiledMapping], list[MappingIssue]]:
    compiled: list[CompiledMapping] = []
    issues: list[MappingIssue] = []
    seen_destinations: set[str] = set()
    for index, mapping in enumerate(normalised):
        try:
            item = _compile_one(index, mapping, output_schema)
        except _Invalid as invalid:
            issues.append(_issue(index, mapping, invalid.message, invalid.code))
            continue
        if item.destination in seen_destinations:
            message = f"Destination '{item.destination}' is mapped more than once"
            issues.append(_issue(index, mapping, message, CODE_DUPLICATE))
            continue
        seen_destinations.add(item.destination)
        compiled.append(item)
    return compiled, issues


class _Invalid(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _issue(index: int, mapping: dict, message: str, code: str) -> MappingIssue:
    return MappingIssue(index, mapping["source"], mapping["destination"], message, code)


def _compile_one(index: int, mapping: dict, output_schema: dict | None) -> CompiledMapping:
    source_type = mapping["sourceType"]
    if source_type not in SOURCE_TYPES:
        raise _Invalid(f"Unsupported sourceType '{source_type}'", CODE_SOURCE_TYPE)
    target = _destination_segments(mapping["destination"])
    target_node = None
    if output_schema is not None:
        target_node = find_node(output_schema, target)
        if target_node is None:
            message = f"Destination '{mapping['destination']}' is not defined in the target schema"
            raise _Invalid(message, CODE_NOT_IN_SCHEMA)
    return CompiledMapping(
        index=index,
        source_type=source_type,
        source=mapping["source"],
        destination=mapping["destination"],
        identity=mapping["identity"],
        target=target,
        read=_reader(source_type, mapping["source"]),
        target_node=target_node,
    )


def _destination_segments(destination: str) -> tuple[Segment, ...]:
    try:
        return parse_path(destination)
    except PathError as exc:
        raise _Invalid(f"Invalid destination path: {exc}", CODE_DESTINATION_PATH) from exc


def _reader(source_type: str, source: str) -> Callable[[dict], Any]:
    if source_type == STATIC:
        return lambda record: source
    if source_type == ATTRIBUTE:
        try:
            segments = parse_path(source)
        except PathError as exc:
            raise _Invalid(f"Invalid source path: {exc}", CODE_SOURCE_PATH) from exc
        return lambda record: read_path(record, segments)
    try:
        tree = parse(source, resolve_function)
    except UnsupportedFunctionError as exc:
        raise _Invalid(exc.message, CODE_FUNCTION) from exc
    except ExpressionError as exc:
        raise _Invalid(f"Invalid expression: {exc.message}", CODE_EXPRESSION) from exc
    return lambda record: evaluate(tree, record)


# -- Data Prep response shapes -----------------------------------------------------------------


def validate_mappings(mappings: Iterable[Any], output_schema: dict | None = None) -> list[dict]:
    """One ``{"status", "errors"}`` entry per mapping, as ``POST /mappingSets/validate`` returns
    inside ``validationResponse``."""
    normalised = normalise_mappings(mappings)
    _, issues = _compile_all(normalised, output_schema)
    by_index: dict[int, list[MappingIssue]] = {}
    for issue in issues:
        by_index.setdefault(issue.index, []).append(issue)
    return [
        _validation_entry(mapping, by_index.get(index, []))
        for index, mapping in enumerate(normalised)
    ]


def _validation_entry(mapping: dict, issues: list[MappingIssue]) -> dict:
    if not issues:
        return {"status": "SUCCESS", "errors": None}
    errors = [
        {
            "code": issue.code,
            "message": issue.message,
            "source": mapping["source"],
            "destination": mapping["destination"],
            "sourceType": mapping["sourceType"],
        }
        for issue in issues
    ]
    return {"status": "FAILED", "errors": errors}


def preview(
    mappings: Iterable[Any], records: Iterable[dict], output_schema: dict | None = None
) -> list[dict]:
    """Map sample records as ``POST /mappingSets/preview`` does: ``[{"data", "errors"}]``.

    Raises MappingValidationError when the mapping set itself is invalid.
    """
    compiled = compile_mappings(mappings, output_schema)
    results = []
    for record in records:
        mapped = compiled.apply(record if isinstance(record, dict) else {})
        results.append({"data": mapped.output, "errors": mapped.details or None})
    return results


def validate_expression(expression: str) -> list[str]:
    """Problems with one calculated-field expression (empty list when it is valid)."""
    try:
        parse(expression, resolve_function)
    except ExpressionError as exc:
        return [exc.message]
    return []
