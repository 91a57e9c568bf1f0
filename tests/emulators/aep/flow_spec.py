"""Adobe's Flow Service OpenAPI spec and the one allow-list of documented deviations from it.

Every documented deviation is one entry of ALLOWED_DEVIATIONS, which patches an in-memory copy
of the spec and cites where the real behaviour is documented (docs/aep-api-notes.md).
Nothing else is relaxed. Both the openapi-core conformance tests and the schemathesis run read
the spec through ``patched_spec()``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE = Path(__file__).resolve().parents[3] / "contracts" / "adobe" / "flow-service.yaml"
Spec = dict[str, Any]


@dataclass(frozen=True)
class Deviation:
    reason: str
    apply: Callable[[Spec], None]


def _schemas(spec: Spec) -> Spec:
    return spec["components"]["schemas"]


def _operations(spec: Spec) -> list[Spec]:
    return [
        operation
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]


def _flow_spec_transformations_are_a_list(spec: Spec) -> None:
    item = _schemas(spec)["FlowSpecItemDTO"]["properties"]["transformationSpecs"]
    if item.get("type") == "array":
        raise ValueError("already an array")
    _schemas(spec)["FlowSpecItemDTO"]["properties"]["transformationSpecs"] = {
        "type": "array",
        "items": item,
    }


def _schedule_params_are_strings(spec: Spec) -> None:
    properties = _schemas(spec)["ScheduleSpecDTO"]["properties"]
    if properties["startTime"].get("type") != "integer":
        raise ValueError("startTime is no longer an integer")
    properties["startTime"] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    properties["backfill"] = {"anyOf": [{"type": "boolean"}, {"type": "string"}]}


def _rest_explore_is_an_object(spec: Spec) -> None:
    schema = _schemas(spec)["ExploreConnectionResponse"]
    if schema.get("type") != "array":
        raise ValueError("explore is no longer an array")
    _schemas(spec)["ExploreConnectionResponse"] = {
        "type": "object",
        "required": ["format", "schema"],
        "properties": {
            "format": {"type": "string"},
            "schema": {"type": "object"},
            "data": {"type": "array", "items": {"type": "object"}},
        },
    }


def _empty_content_means_no_body(spec: Spec) -> None:
    # `content: {}` on 204 (and error) responses means "no body"; openapi-core reads it as a
    # body of no declared type and then requires one.
    emptied = 0
    for operation in _operations(spec):
        for response in operation["responses"].values():
            if isinstance(response, dict) and response.get("content") == {}:
                del response["content"]
                emptied += 1
    if not emptied:
        raise ValueError("no empty content left")


# The three documented error bodies: Flow Service problem (notes §2.6), Adobe I/O gateway
# (§2.6) and the content-type check (§1.2).
ERROR_BODY = {
    "anyOf": [
        {
            "type": "object",
            "required": ["type", "title", "status", "report", "errorMessage", "errorDetails"],
            "properties": {
                "type": {"type": "string", "pattern": "^https://ns.adobe.com/aep/errors/FLOW-"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 499},
                "report": {"type": "object", "required": ["detailed-message", "request-id"]},
                "errorMessage": {"type": "string"},
                "errorDetails": {"type": "string"},
            },
        },
        {
            "type": "object",
            "required": ["error_code", "message"],
            "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
        },
        {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {"type": {"const": "/placeholder/type/uri"}, "status": {"const": 400}},
        },
    ]
}


def _client_errors_have_documented_bodies(spec: Spec) -> None:
    declared = 0
    for operation in _operations(spec):
        if "4XX" in operation["responses"]:
            raise ValueError("the spec declares 4XX responses now")
        operation["responses"]["4XX"] = {
            "description": "A documented error body",
            "content": {"application/json": {"schema": ERROR_BODY}},
        }
        declared += 1
    if not declared:
        raise ValueError("no operations")


ALLOWED_DEVIATIONS = {
    "flow-spec-transformations": Deviation(
        "notes §2.4.6: flowSpec transformationSpecs is a list of {name, spec}",
        _flow_spec_transformations_are_a_list,
    ),
    "schedule-params-strings": Deviation(
        "notes §2.4.7 and §9 'scheduleParams': GET returns every scheduleParams value as a string",
        _schedule_params_are_strings,
    ),
    "rest-explore-object": Deviation(
        "notes §2.4.2: REST sources answer explore with {format, schema[, data]}, not a list",
        _rest_explore_is_an_object,
    ),
    "empty-content": Deviation(
        "notes §2.2: DELETE answers 204 with an empty body", _empty_content_means_no_body
    ),
    "client-error-bodies": Deviation(
        "notes §9 'Error bodies' and §2.6: the spec declares no 400/404/412 at all; the service "
        "answers them with the documented problem, gateway or content-type bodies",
        _client_errors_have_documented_bodies,
    ),
}


def _string_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(key): _string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_string_keys(item) for item in node]
    return node


@functools.cache
def raw_spec() -> Spec:
    """The spec as published (YAML status keys such as 200 turned into strings)."""
    return _string_keys(yaml.safe_load(SPEC_FILE.read_text()))


def patched_spec(base_url: str | None = None, *, only: tuple[str, ...] | None = None) -> Spec:
    """A fresh copy with the allowed deviations (all, or the names in ``only``) applied and,
    when given, ``servers`` pointing at ``base_url``."""
    spec = copy.deepcopy(raw_spec())
    for name, deviation in ALLOWED_DEVIATIONS.items():
        if only is None or name in only:
            deviation.apply(spec)
    if base_url is not None:
        spec["servers"] = [{"url": base_url}]
    return spec
