"""Documented platform behaviours the emulator produces by default, and turns off on request."""

from __future__ import annotations

import time

import pytest
import requests

from emulators.aep.testing import (
    DATA_PREP,
    FLOW_SERVICE,
    build_stripe_pipeline,
    create_flow,
    expect,
    variance,
)

FAR_FUTURE = int(time.time()) + 30 * 86400
IDLE = {"startTime": FAR_FUTURE, "frequency": "day", "interval": 1, "backfill": False}


@pytest.fixture
def pipeline(aep, stripe_server):
    return build_stripe_pipeline(aep, stripe_server.secret_key)


def _flow(aep, flow_id: str) -> dict:
    return expect(aep.get(f"{FLOW_SERVICE}/flows/{flow_id}"), 200)["items"][0]


def _run_now(server_url: str, flow_id: str) -> dict:
    answer = requests.post(f"{server_url}/__emulator__/flows/{flow_id}/run-now", timeout=60)
    answer.raise_for_status()
    return answer.json()


def test_every_behaviour_is_on_by_default_and_listed(aep, aep_server):
    listed = expect(requests.get(f"{aep_server.url}/__emulator__/variance", timeout=10), 200)
    assert listed == {
        "runEndTouchesFlow": True,
        "notFoundAs400": True,
        "wrappedCorruptRecord": True,
        "mappingSetDeleteRefused": True,
        "runStatusSpellings": True,
    }
    unknown = requests.post(
        f"{aep_server.url}/__emulator__/variance", json={"noSuchThing": False}, timeout=10
    )
    assert unknown.status_code == 400


def test_a_run_that_ends_moves_the_flows_etag_and_updated_at(aep, aep_server, pipeline):
    flow_id = create_flow(aep, pipeline, IDLE)
    before = _flow(aep, flow_id)
    run = _run_now(aep_server.url, flow_id)
    after = _flow(aep, flow_id)
    assert after["lastRunDetails"]["id"] == run["id"]
    assert after["etag"] != before["etag"]
    assert after["updatedAt"] > before["updatedAt"]
    # The schedule, the name and the mapping are what they were: nobody edited the flow.
    for field in ("name", "scheduleParams", "transformations", "state"):
        assert after[field] == before[field]


def test_without_it_a_run_leaves_the_etag(aep, aep_server, pipeline):
    flow_id = create_flow(aep, pipeline, IDLE)
    before = _flow(aep, flow_id)
    with variance(aep_server.url, runEndTouchesFlow=False):
        _run_now(aep_server.url, flow_id)
    after = _flow(aep, flow_id)
    assert after["lastRunDetails"] and after["etag"] == before["etag"]


def test_changing_a_missing_flow_answers_1439_400_and_reading_it_404(aep, aep_server):
    missing = "00000000-0000-0000-0000-000000000000"
    url = f"{FLOW_SERVICE}/flows/{missing}"
    for answer in (
        aep.delete(url),
        aep.post(f"{url}/action", params={"op": "enable"}),
        aep.patch(
            url,
            json=[{"op": "replace", "path": "/name", "value": "x"}],
            headers={"If-Match": '"e"'},
        ),
        aep.delete(f"{FLOW_SERVICE}/sourceConnections/{missing}"),
    ):
        body = expect(answer, 400)
        assert body["type"].endswith("-1439-400") and body["title"] == "Resource not found"
    assert expect(aep.get(url), 404)["type"].endswith("FLOW-1439-404")
    with variance(aep_server.url, notFoundAs400=False):
        assert expect(aep.delete(url), 404)["type"].endswith("FLOW-1439-404")


def test_deleting_a_mapping_set_is_refused_unless_turned_off(aep, aep_server, pipeline):
    url = f"{DATA_PREP}/mappingSets/{pipeline.mapping_set_id}"
    assert aep.delete(url).status_code == 405
    expect(aep.get(url), 200)
    with variance(aep_server.url, mappingSetDeleteRefused=False):
        assert aep.delete(url).status_code == 204
    assert aep.get(url).status_code == 404


def test_reset_turns_every_behaviour_back_on(aep, aep_server):
    base = f"{aep_server.url}/__emulator__"
    requests.post(f"{base}/variance", json={"notFoundAs400": False}, timeout=10)
    requests.post(f"{base}/reset", timeout=10).raise_for_status()
    assert requests.get(f"{base}/variance", timeout=10).json()["notFoundAs400"] is True
