"""The emulator's Flow Service responses against Adobe's OpenAPI spec (openapi-core).

Every documented deviation is one entry of ALLOWED_DEVIATIONS (tests/emulators/aep/flow_spec.py),
which patches an in-memory copy of the spec and cites where the real behaviour is documented
(docs/aep-api-notes.md). Nothing else is relaxed. Error responses are not declared by the
spec at all (notes §9 "Error bodies"), so they are also checked against the documented problem
shape here.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from emulators.aep.testing import (
    FLOW_SERVICE,
    FLOW_SPEC_ID,
    STRIPE_SPEC_ID,
    PlatformSession,
    build_stripe_pipeline,
    create_base_connection,
    create_flow,
    expect,
    run_status,
)
from tests.emulators.aep.flow_spec import ALLOWED_DEVIATIONS, patched_spec, raw_spec


def _spec_for(base_url: str) -> OpenAPI:
    spec = patched_spec(f"{base_url}{FLOW_SERVICE}")
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


# -- the calls under test --------------------------------------------------------------------------


SUCCESS_CALLS = [
    "create connection",
    "list connections",
    "list connections paged",
    "get connection",
    "patch connection",
    "test connection",
    "explore connection",
    "explore connection preview",
    "list connection specs",
    "get connection spec",
    "list flow specs",
    "get flow spec",
    "list source connections",
    "get source connection",
    "patch source connection",
    "list target connections",
    "get target connection",
    "patch target connection",
    "create flow",
    "list flows",
    "get flow",
    "patch flow",
    "disable flow",
    "enable flow",
    "list runs",
    "get successful run",
    "get failed run",
    "count runs",
    "create run",
    "re-trigger run",
    "delete flow",
    "delete source connection",
    "delete target connection",
    "delete connection",
]
ERROR_CALLS = [
    "flow not found",
    "stale etag",
    "missing if-match",
    "connection in use",
    "bad filter",
]


@pytest.fixture(scope="module")
def exchanges(aep_server, stripe_server) -> Iterator[dict[str, requests.Response]]:
    """Walk the whole Stripe pipeline once, keeping every response by name."""
    requests.post(f"{aep_server.url}/__emulator__/reset", timeout=10).raise_for_status()
    with PlatformSession(aep_server.url) as aep:
        yield _walk(aep, aep_server.url, stripe_server.secret_key)


def _walk(aep: PlatformSession, base_url: str, stripe_key: str) -> dict[str, requests.Response]:
    seen: dict[str, requests.Response] = {}
    fs = FLOW_SERVICE

    def call(name: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        seen[name] = aep.request(method, f"{fs}{path}", **kwargs)
        return seen[name]

    def etag(path: str) -> str:
        return expect(aep.get(f"{fs}{path}"), 200)["items"][0]["etag"]

    rename = [{"op": "replace", "path": "/name", "value": "renamed"}]
    pipeline = build_stripe_pipeline(aep, stripe_key)
    base = f"/connections/{pipeline.base_connection_id}"
    extra = expect(
        call(
            "create connection",
            "POST",
            "/connections",
            json={
                "name": "spare",
                "connectionSpec": {"id": STRIPE_SPEC_ID, "version": "1.0"},
                "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": stripe_key}},
            },
        ),
        201,
    )
    call("list connections", "GET", "/connections")
    call("list connections paged", "GET", "/connections", params={"limit": 1})
    call("get connection", "GET", base)
    call("patch connection", "PATCH", f"{base}/", json=rename, headers={"If-Match": etag(base)})
    call("test connection", "GET", f"{base}/test")
    source_params = base64.b64encode(json.dumps({"resourcePath": "charges"}).encode()).decode()
    explore = {
        "objectType": "rest",
        "object": "json",
        "fileType": "json",
        "sourceParams": source_params,
    }
    call("explore connection", "GET", f"{base}/explore", params={**explore, "preview": "false"})
    call(
        "explore connection preview",
        "GET",
        f"{base}/explore",
        params={**explore, "preview": "true"},
    )
    call("list connection specs", "GET", "/connectionSpecs")
    call("get connection spec", "GET", f"/connectionSpecs/{STRIPE_SPEC_ID}")
    call("list flow specs", "GET", "/flowSpecs")
    call("get flow spec", "GET", f"/flowSpecs/{FLOW_SPEC_ID}")
    source = f"/sourceConnections/{pipeline.source_connection_id}"
    target = f"/targetConnections/{pipeline.target_connection_id}"
    call("list source connections", "GET", "/sourceConnections")
    call("get source connection", "GET", source)
    call(
        "patch source connection", "PATCH", source, json=rename, headers={"If-Match": etag(source)}
    )
    call("list target connections", "GET", "/targetConnections")
    call("get target connection", "GET", target)
    call(
        "patch target connection", "PATCH", target, json=rename, headers={"If-Match": etag(target)}
    )

    schedule = {"startTime": str(int(time.time())), "frequency": "day", "interval": 1}
    flow_id = create_flow(aep, pipeline, schedule)
    seen["create flow"] = seen_create_flow(aep, pipeline, schedule)
    flow = f"/flows/{flow_id}"
    call("list flows", "GET", "/flows")
    call("get flow", "GET", flow)
    stale = etag(flow)
    call("patch flow", "PATCH", flow, json=rename, headers={"If-Match": stale})
    call("stale etag", "PATCH", flow, json=rename, headers={"If-Match": stale})
    call("missing if-match", "PATCH", flow, json=rename)
    call("disable flow", "POST", f"{flow}/action", params={"op": "disable"})
    call("enable flow", "POST", f"{flow}/action", params={"op": "enable"})

    successful = _first_finished_run(aep, flow_id)
    _set_token(aep, base, "sk_test_revoked_key_00000000")
    failed = expect(
        requests.post(f"{base_url}/__emulator__/flows/{flow_id}/run-now", timeout=30), 201
    )
    _set_token(aep, base, stripe_key)
    call("list runs", "GET", "/runs", params={"property": f"flowId=={flow_id}"})
    call("get successful run", "GET", f"/runs/{successful['id']}")
    call("get failed run", "GET", f"/runs/{failed['id']}")
    call("count runs", "GET", "/runs", params={"count": "true"})
    call(
        "create run", "POST", "/runs", json={"flowId": flow_id, "params": {"windowStartTime": "0"}}
    )
    call("re-trigger run", "POST", f"/runs/{failed['id']}/action", params={"op": "re-trigger"})
    call("flow not found", "GET", "/flows/00000000-0000-0000-0000-000000000000")
    call("bad filter", "GET", "/flows", params={"property": "name~x"})
    call("connection in use", "DELETE", f"{base}/")

    for created_flow in expect(aep.get(f"{fs}/flows"), 200)["items"]:
        call("delete flow", "DELETE", f"/flows/{created_flow['id']}")
    call("delete source connection", "DELETE", source)
    call("delete target connection", "DELETE", target)
    call("delete connection", "DELETE", f"/connections/{extra['id']}/")
    return seen


def seen_create_flow(aep: PlatformSession, pipeline, schedule: dict) -> requests.Response:
    body = {
        "name": "second flow",
        "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [pipeline.source_connection_id],
        "targetConnectionIds": [pipeline.target_connection_id],
        "transformations": [
            {
                "name": "Mapping",
                "params": {"mappingId": pipeline.mapping_set_id, "mappingVersion": 0},
            }
        ],
        "scheduleParams": {**schedule, "startTime": str(int(time.time()) + 86400)},
    }
    return aep.post(f"{FLOW_SERVICE}/flows", json=body)


def _first_finished_run(aep: PlatformSession, flow_id: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = expect(
            aep.get(f"{FLOW_SERVICE}/runs", params={"property": f"flowId=={flow_id}"}), 200
        )
        done = [r for r in runs["items"] if run_status(r) == "success"]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError("the flow never completed a run")


def _set_token(aep: PlatformSession, path: str, token: str) -> None:
    current = expect(aep.get(f"{FLOW_SERVICE}{path}"), 200)["items"][0]["etag"]
    ops = [{"op": "replace", "path": "/auth/params", "value": {"accessToken": token}}]
    expect(aep.patch(f"{FLOW_SERVICE}{path}", json=ops, headers={"If-Match": current}), 200)


# -- checks --------------------------------------------------------------------------------------


def _spec_errors(openapi: OpenAPI, response: requests.Response) -> list[str]:
    result = openapi.unmarshal_response(
        RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
    )
    messages = []
    for error in result.errors:
        cause = error.__cause__
        details = [f"{e.message} at {'/'.join(map(str, e.absolute_path))}"
                   for e in getattr(cause, "schema_errors", None) or []]  # fmt: skip
        messages.append(f"{type(error).__name__}: {'; '.join(details) or cause}")
    return messages


@pytest.fixture(scope="module")
def openapi(aep_server) -> OpenAPI:
    return _spec_for(aep_server.url)


@pytest.mark.parametrize("name", SUCCESS_CALLS)
def test_successful_responses_match_the_spec(exchanges, openapi, name):
    response = exchanges[name]

    assert response.status_code < 300, response.text[:500]
    assert _spec_errors(openapi, response) == []


@pytest.mark.parametrize("name", ERROR_CALLS)
def test_error_responses_have_the_documented_problem_shape(exchanges, name):
    response = exchanges[name]
    body = response.json()

    assert response.status_code >= 400
    assert body["type"].startswith("https://ns.adobe.com/aep/errors/FLOW-")
    assert body["type"].endswith(f"-{response.status_code}")
    assert body["status"] == response.status_code
    assert body["title"]
    assert body["report"]["detailed-message"] == body["errorMessage"] == body["errorDetails"]
    assert body["report"]["request-id"] == response.headers["x-request-id"]


def test_each_call_was_made(exchanges):
    assert set(SUCCESS_CALLS + ERROR_CALLS) <= set(exchanges)


@pytest.mark.parametrize("name", sorted(ALLOWED_DEVIATIONS))
def test_every_allowed_deviation_still_changes_the_spec(name):
    spec = copy.deepcopy(raw_spec())
    before = json.dumps(spec, sort_keys=True)

    ALLOWED_DEVIATIONS[name].apply(spec)

    assert json.dumps(spec, sort_keys=True) != before


def test_without_the_deviations_the_spec_rejects_what_the_service_really_sends(
    exchanges, aep_server
):
    spec = patched_spec(f"{aep_server.url}{FLOW_SERVICE}", only=("empty-content",))
    strict = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))

    assert _spec_errors(strict, exchanges["get flow"])
    assert _spec_errors(strict, exchanges["explore connection"])
    assert _spec_errors(strict, exchanges["get flow spec"])


def test_a_base_connection_of_the_other_sandbox_is_not_listed(aep_server, stripe_server):
    with PlatformSession(aep_server.url, sandbox="dev") as dev:
        connection_id = create_base_connection(dev, stripe_server.secret_key, name="dev only")
        with PlatformSession(aep_server.url) as prod:
            listed = expect(prod.get(f"{FLOW_SERVICE}/connections"), 200)["items"]
        assert connection_id not in {c["id"] for c in listed}
