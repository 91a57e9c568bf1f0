"""The allow-list: every place where our requests knowingly differ from Adobe's OpenAPI specs.

Each entry patches an in-memory copy of a spec so that it also accepts what the service really
takes (as documented in docs/aep-api-notes.md, cited per entry). Nothing else is relaxed: a
request that breaks the spec anywhere else fails the contract tests. `test_requests`
also checks that every entry still changes its spec, so an entry Adobe has fixed upstream
shows up as a failure instead of lingering here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Spec = dict[str, Any]


@dataclass(frozen=True)
class Deviation:
    spec: str  # file name under contracts/adobe
    reason: str  # where the real behaviour is documented
    apply: Callable[[Spec], None]


def _op(spec: Spec, path: str, method: str) -> dict[str, Any]:
    return spec["paths"][path][method]


def _param(spec: Spec, path: str, method: str, name: str) -> dict[str, Any]:
    for param in _op(spec, path, method)["parameters"]:
        if param.get("name") == name:
            return param
    raise KeyError(f"{method.upper()} {path} has no parameter {name}")


def _allow_values(schema: dict[str, Any], *values: str) -> None:
    missing = [value for value in values if value not in schema["enum"]]
    if not missing:
        raise ValueError(f"enum already allows {values}")
    schema["enum"] = [*schema["enum"], *missing]


def _connection_item_without_trailing_slash(spec: Spec) -> None:
    # §9 "Trailing slash": PATCH/DELETE are declared on `/connections/{id}/`; the documented
    # calls (and ours) use `/connections/{id}`.
    slashed = spec["paths"].pop("/connections/{BASE_CONNECTION_ID}/")
    spec["paths"]["/connections/{BASE_CONNECTION_ID}"].update(slashed)


def _connection_patch_is_an_array(spec: Spec) -> None:
    # §9 "PATCH connection body": the spec types the body as one PatchInstruction object; the
    # service takes a JSON-Patch array, like every other Flow Service PATCH.
    media = _op(spec, "/connections/{BASE_CONNECTION_ID}/", "patch")["requestBody"]["content"]
    schema = media["application/json"]["schema"]
    if schema.get("type") == "array":
        raise ValueError("already an array")
    media["application/json"]["schema"] = {"type": "array", "items": schema}


def _patch_ops_lower_case(spec: Spec) -> None:
    # §9 "PATCH op case": spec enum ADD|REPLACE|REMOVE; documented requests use lower case.
    _allow_values(
        spec["components"]["schemas"]["PatchInstruction"]["properties"]["op"],
        "add",
        "replace",
        "remove",
    )


def _patch_value_is_any_json(spec: Spec) -> None:
    # §2.4.8 / §2.5: a JSON-Patch `value` is whatever sits at `path` (a string for `/name`,
    # an object for `/auth/params`); the spec types it as an object only.
    value = spec["components"]["schemas"]["PatchInstruction"]["properties"]["value"]
    if value.get("type") != "object":
        raise ValueError("value is no longer typed as an object")
    spec["components"]["schemas"]["PatchInstruction"]["properties"]["value"] = {}


def _schedule_interval_is_an_integer(spec: Spec) -> None:
    # §9 "scheduleParams" and §2.4.6: the spec types `interval` as a string; the flowSpec's
    # scheduleSpec (what the service validates) and the Stripe tutorial use an integer.
    interval = spec["components"]["schemas"]["ScheduleSpecDTO"]["properties"]["interval"]
    if interval.get("type") != "string":
        raise ValueError("interval is no longer a string")
    interval.pop("type")
    interval["oneOf"] = [{"type": "string"}, {"type": "integer"}]


def _mapping_version_is_an_integer(spec: Spec) -> None:
    # §9 "mappingVersion": spec says string; the Stripe tutorial and update docs send an int.
    version = spec["components"]["schemas"]["TransformationSpecDTO"]["properties"]["mappingVersion"]
    if version.get("type") != "string":
        raise ValueError("mappingVersion is no longer a string")
    version.pop("type")
    version["oneOf"] = [{"type": "string"}, {"type": "integer"}]


def _flow_action_ops_lower_case(spec: Spec) -> None:
    # §9 "Action op case": spec ENABLE|DISABLE; documented calls use `op=enable|disable`.
    _allow_values(
        _param(spec, "/flows/{FLOW_ID}/action", "post", "op")["schema"], "enable", "disable"
    )


def _flow_action_without_sub_op(spec: Spec) -> None:
    # §2.4.8: the documented enable/disable calls carry only `op`; the spec marks `subOp`
    # (a drafts feature) as required.
    sub_op = _param(spec, "/flows/{FLOW_ID}/action", "post", "subOp")
    if not sub_op.get("required"):
        raise ValueError("subOp is no longer required")
    sub_op["required"] = False


def _run_action_op_hyphenated(spec: Spec) -> None:
    # §9 "Action op case": spec RE_TRIGGER; the retry tutorial uses `op=re-trigger`.
    _allow_values(_param(spec, "/runs/{RUN_ID}/action", "post", "op")["schema"], "re-trigger")


def _explore_object_type_lower_case(spec: Spec) -> None:
    # §2.2 / §2.4.2: spec enum ROOT|…|REST; the Stripe tutorial sends `objectType=rest`.
    path = "/connections/{BASE_CONNECTION_ID}/explore"
    _allow_values(_param(spec, path, "get", "objectType")["schema"], "rest")


def _property_filter_repeats(spec: Spec) -> None:
    # §2.3 "Filtering": `property` is repeated for AND (`property=a&property=b`); the spec
    # declares one comma-separated value (form, explode=false), where a comma means OR.
    param = spec["components"]["parameters"]["property"]
    if param.get("explode") is not False:
        raise ValueError("property already explodes")
    param["explode"] = True


def _mapping_set_delete(spec: Spec) -> None:
    # §4 and §7.2: `DELETE /mappingSets/{id}` is missing from the public spec; aepp's
    # dataprep.py calls it. It takes the same path parameter and headers as the GET.
    item = spec["paths"]["/mappingSets/{MAPPING_SET_ID}"]
    if "delete" in item:
        raise ValueError("the spec declares DELETE /mappingSets/{id} now")
    params = [p for p in item["get"]["parameters"] if p.get("in") in ("path", "header")]
    item["delete"] = {
        "operationId": "deleteMappingSet",
        "parameters": params,
        "responses": {"200": {"description": "Deleted"}, "204": {"description": "Deleted"}},
    }


# Applied in this order: the PATCH body fix addresses the spec's slashed path, so it runs
# before that path is folded into the unslashed one.
DEVIATIONS: tuple[Deviation, ...] = (
    Deviation("flow-service.yaml", "§9 PATCH connection body", _connection_patch_is_an_array),
    Deviation("flow-service.yaml", "§9 Trailing slash", _connection_item_without_trailing_slash),
    Deviation("flow-service.yaml", "§9 PATCH op case", _patch_ops_lower_case),
    Deviation("flow-service.yaml", "§2.4.8 PATCH values", _patch_value_is_any_json),
    Deviation("flow-service.yaml", "§9 scheduleParams", _schedule_interval_is_an_integer),
    Deviation("flow-service.yaml", "§9 mappingVersion", _mapping_version_is_an_integer),
    Deviation("flow-service.yaml", "§9 Action op case (flows)", _flow_action_ops_lower_case),
    Deviation("flow-service.yaml", "§2.4.8 enable/disable", _flow_action_without_sub_op),
    Deviation("flow-service.yaml", "§9 Action op case (runs)", _run_action_op_hyphenated),
    Deviation("flow-service.yaml", "§2.4.2 explore", _explore_object_type_lower_case),
    Deviation("flow-service.yaml", "§2.3 property filters", _property_filter_repeats),
    Deviation("data-prep.yaml", "§4 / §7.2 DELETE mapping set", _mapping_set_delete),
)


def apply_deviations(name: str, spec: Spec) -> Spec:
    """A copy of `spec` with every deviation for file `name` applied."""
    patched = copy.deepcopy(spec)
    for deviation in DEVIATIONS:
        if deviation.spec == name:
            deviation.apply(patched)
    return patched
