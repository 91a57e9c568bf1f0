"""Injected faults: each kind, count and rate, path globs and regexes, listing and reset."""

from __future__ import annotations

import time

import pytest
import requests

from emulators.aep.testing import (
    CATALOG,
    FLOW_SERVICE,
    create_base_connection,
    expect,
)


@pytest.fixture
def faults(aep_server):
    url = f"{aep_server.url}/__emulator__/faults"

    def add(**spec) -> dict:
        return expect(requests.post(url, json=spec, timeout=10), 201)

    yield add
    requests.delete(url, timeout=10)


def test_429_with_retry_after_for_the_next_count_calls(aep, faults):
    faults(method="GET", path=f"{FLOW_SERVICE}/flows*", kind="429", count=2, retry_after=3)

    first = aep.get(f"{FLOW_SERVICE}/flows")
    second = aep.get(f"{FLOW_SERVICE}/flows")
    third = aep.get(f"{FLOW_SERVICE}/flows")

    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["Retry-After"] == "3"
    assert first.json() == {"error_code": "429050", "message": "Too many requests"}


@pytest.mark.parametrize(("kind", "status", "code"), [("500", 500, "1102"), ("503", 503, "1103")])
def test_server_errors_use_the_service_problem_body(aep, faults, kind, status, code):
    faults(path=f"{FLOW_SERVICE}/connections", kind=kind)

    response = aep.get(f"{FLOW_SERVICE}/connections")

    assert response.status_code == status
    body = response.json()
    assert body["type"] == f"https://ns.adobe.com/aep/errors/FLOW-{code}-{status}"
    assert body["report"]["request-id"] == response.headers["x-request-id"]
    assert aep.get(f"{FLOW_SERVICE}/connections").status_code == 200


def test_delay_slows_the_call_down(aep, faults):
    faults(path=f"{CATALOG}/dataSets", kind="delay", delay_seconds=0.6)

    started = time.monotonic()
    response = aep.get(f"{CATALOG}/dataSets")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.6
    started = time.monotonic()
    aep.get(f"{CATALOG}/dataSets")
    assert time.monotonic() - started < 0.5


def test_412_on_patch_even_with_the_current_etag(aep, faults, stripe_server):
    connection_id = create_base_connection(aep, stripe_server.secret_key)
    etag = expect(aep.get(f"{FLOW_SERVICE}/connections/{connection_id}"), 200)["items"][0]["etag"]
    faults(method="PATCH", path=f"{FLOW_SERVICE}/connections/*", kind="412")
    ops = [{"op": "replace", "path": "/name", "value": "x"}]

    refused = aep.patch(
        f"{FLOW_SERVICE}/connections/{connection_id}", json=ops, headers={"If-Match": etag}
    )
    accepted = aep.patch(
        f"{FLOW_SERVICE}/connections/{connection_id}", json=ops, headers={"If-Match": etag}
    )

    assert refused.status_code == 412
    assert refused.json()["type"].endswith("FLOW-1404-412")
    assert accepted.status_code == 200


def test_expired_token(aep, faults):
    faults(path="/data/foundation/*", kind="expired_token")

    response = aep.get(f"{FLOW_SERVICE}/flows")

    assert response.status_code == 401
    assert response.json() == {"error_code": "401013", "message": "Oauth token is not valid"}
    assert aep.get(f"{FLOW_SERVICE}/flows").status_code == 200


def test_403_refuses_one_api_as_a_missing_permission(aep, faults):
    faults(path=f"{CATALOG}/*", kind="403", rate=1.0)

    refused = aep.get(f"{CATALOG}/dataSets")

    assert refused.status_code == 403
    assert refused.json()["type"].endswith("-2120-403")
    assert "sufficient permissions" in refused.json()["report"]["detailed-message"]
    assert aep.get(f"{CATALOG}/dataSets").status_code == 403
    assert aep.get(f"{FLOW_SERVICE}/flows").status_code == 200


def test_rate_one_fires_every_time_and_regex_paths_match(aep, faults):
    fault = faults(path=r"^/data/foundation/flowservice/(flows|runs)$", kind="503", rate=1.0)

    assert aep.get(f"{FLOW_SERVICE}/runs").status_code == 503
    assert aep.get(f"{FLOW_SERVICE}/flows").status_code == 503
    assert aep.get(f"{FLOW_SERVICE}/flows").status_code == 503
    assert aep.get(f"{FLOW_SERVICE}/connections").status_code == 200
    listed = expect(requests.get(f"{aep.base_url}/__emulator__/faults", timeout=10), 200)
    assert listed["faults"][0]["id"] == fault["id"]
    assert listed["faults"][0]["hits"] == 3


def test_method_filter_and_removal(aep, faults):
    fault = faults(method="POST", path=f"{FLOW_SERVICE}/*", kind="500", count=5)

    assert aep.get(f"{FLOW_SERVICE}/flows").status_code == 200
    assert aep.post(f"{FLOW_SERVICE}/connections", json={}).status_code == 500

    url = f"{aep.base_url}/__emulator__/faults/{fault['id']}"
    assert requests.delete(url, timeout=10).status_code == 204
    assert aep.post(f"{FLOW_SERVICE}/connections", json={}).status_code == 400


def test_faults_can_hit_the_token_endpoint(aep_server, faults):
    faults(path="/ims/token/v3", kind="503")

    response = requests.post(
        f"{aep_server.url}/ims/token/v3",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        timeout=10,
    )

    assert response.status_code == 503


def test_delete_resets_all_faults(aep, aep_server, faults):
    faults(path="/data/*", kind="500", count=10)
    faults(path="/data/*", kind="429", count=10)

    assert requests.delete(f"{aep_server.url}/__emulator__/faults", timeout=10).status_code == 204

    assert expect(requests.get(f"{aep_server.url}/__emulator__/faults", timeout=10), 200) == {
        "faults": []
    }
    assert aep.get(f"{FLOW_SERVICE}/flows").status_code == 200


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "/data/*", "kind": "418"},
        {"kind": "500"},
        {"path": "^(", "kind": "500"},
        {"path": "/data/*", "kind": "500", "rate": 2},
        {"path": "/data/*", "kind": "500", "count": 0},
    ],
)
def test_invalid_fault_specs_are_400(aep_server, spec):
    response = requests.post(f"{aep_server.url}/__emulator__/faults", json=spec, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]
