"""Load Adobe's specs from contracts/adobe and check requests against them."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from tests.contract.deviations import apply_deviations

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = REPO_ROOT / "contracts" / "adobe"
API_NOTES = REPO_ROOT / "docs" / "aep-api-notes.md"

OPENAPI_SPECS = {
    "/data/foundation/flowservice": "flow-service.yaml",
    "/data/foundation/conversion": "data-prep.yaml",
    "/data/foundation/catalog": "catalog.yaml",
}
SWAGGER_SPECS = {"/data/foundation/schemaregistry": "schema-registry.yaml"}


@functools.cache
def raw_spec(name: str) -> dict[str, Any]:
    return _string_keys(yaml.safe_load((CONTRACTS / name).read_text()))


def _string_keys(node: Any) -> Any:
    """YAML reads unquoted response codes (`200:`) as ints; JSON Schema wants strings."""
    if isinstance(node, dict):
        return {str(key): _string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_string_keys(item) for item in node]
    return node


def _absolute_servers(spec: dict[str, Any]) -> dict[str, Any]:
    """The specs declare scheme-relative servers (`//{environment}.adobe.io/…`), which
    openapi-core cannot match against a request URL; the service is HTTPS only."""
    spec = copy.deepcopy(spec)
    for server in spec.get("servers", []):
        if server["url"].startswith("//"):
            server["url"] = "https:" + server["url"]
    return spec


@functools.cache
def openapi(name: str, *, with_deviations: bool = True) -> OpenAPI:
    spec = _absolute_servers(raw_spec(name))
    if with_deviations:
        spec = apply_deviations(name, spec)
    # Adobe's catalog.yaml fails the OpenAPI meta-schema on a route we never call (a parameter
    # listed twice on GET /tags/{tagNamespace}); we validate requests, not the spec itself.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def spec_for(url: str) -> tuple[str, str]:
    """(kind, file name) for a Platform request URL."""
    path = urlsplit(url).path
    for base, name in OPENAPI_SPECS.items():
        if path.startswith(base + "/"):
            return "openapi", name
    for base, name in SWAGGER_SPECS.items():
        if path.startswith(base + "/"):
            return "swagger2", name
    raise LookupError(f"no spec covers {url}")


def openapi_errors(request: requests.PreparedRequest, *, with_deviations: bool = True) -> list[str]:
    """Everything openapi-core finds wrong with `request`, as readable strings."""
    _, name = spec_for(request.url)
    result = openapi(name, with_deviations=with_deviations).unmarshal_request(
        RequestsOpenAPIRequest(request)
    )
    return [_describe(error) for error in result.errors]


def _describe(error: Exception) -> str:
    details = [str(error)]
    cause = error.__cause__
    while cause is not None:
        details.append(str(cause))
        for schema_error in getattr(cause, "schema_errors", ()) or ():
            details.append(f"  - {schema_error.message}")
        cause = cause.__cause__
    return "\n".join(details)


# Swagger 2.0 (Schema Registry) ---------------------------------------------------------------


def _resolve(spec: dict[str, Any], param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in param:
        return spec["parameters"][param["$ref"].rsplit("/", 1)[-1]]
    return param


def _definition(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return spec["definitions"].get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _match_path(template: str, path: str) -> bool:
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path) is not None


def swagger2_operation(
    spec: dict[str, Any], method: str, path: str
) -> tuple[str, dict[str, Any]] | None:
    """The declared (template, operation) for a request path, literal segments first."""
    candidates = [
        template
        for template, item in spec["paths"].items()
        if method in item and _match_path(template, path)
    ]
    if not candidates:
        return None
    template = min(candidates, key=lambda t: t.count("{"))
    return template, spec["paths"][template][method]


def _documented_values(description: str) -> list[str]:
    return re.findall(r"<code>(.*?)</code>", description or "")


def swagger2_errors(request: requests.PreparedRequest) -> list[str]:
    """openapi-core cannot read Swagger 2.0, so check what matters by hand: the operation
    exists, every required header is sent, Accept is one of the documented values, and a
    required body is a JSON object (an array where the spec's body schema is one, as JSON
    Patch bodies are)."""
    _, name = spec_for(request.url)
    spec = raw_spec(name)
    path = urlsplit(request.url).path.removeprefix(spec["basePath"])
    method = request.method.lower()
    found = swagger2_operation(spec, method, path)
    if found is None:
        return [f"{request.method} {path} is not declared in {name}"]
    template, operation = found
    params = [
        _resolve(spec, p)
        for p in [*spec["paths"][template].get("parameters", []), *operation.get("parameters", [])]
    ]
    errors = []
    for param in params:
        if param["in"] == "header" and param.get("required"):
            errors.extend(_header_errors(request, param))
        if param["in"] == "body" and param.get("required"):
            errors.extend(_body_errors(request, _definition(spec, param.get("schema") or {})))
    return errors


def _header_errors(request: requests.PreparedRequest, param: dict[str, Any]) -> list[str]:
    value = request.headers.get(param["name"])
    if not value:
        return [f"missing required header {param['name']}"]
    allowed = _documented_values(param.get("description", ""))
    if param["name"].lower() == "accept" and allowed and value not in allowed:
        return [f"Accept {value!r} is not one of {allowed}"]
    if param["name"].lower() == "content-type" and value != "application/json":
        return [f"Content-Type {value!r} is not application/json"]
    return []


def _body_errors(request: requests.PreparedRequest, schema: dict[str, Any]) -> list[str]:
    if not request.body:
        return ["missing required JSON body"]
    body = json.loads(request.body)
    if schema.get("type") == "array":
        return [] if isinstance(body, list) else ["body is not a JSON array"]
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    return []


def request_errors(request: requests.PreparedRequest) -> list[str]:
    kind, _ = spec_for(request.url)
    return openapi_errors(request) if kind == "openapi" else swagger2_errors(request)
