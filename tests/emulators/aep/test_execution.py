"""Flows really run: explore and scheduled runs against the Stripe stand-in, metrics that match
the ingested records, disable/enable backfill, failures, re-trigger, ad-hoc and forced runs."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Iterator

import pytest
import requests

from emulators.aep.testing import (
    DEMO_TENANT_ID,
    FLOW_SERVICE,
    PlatformSession,
    StripePipeline,
    build_stripe_pipeline,
    create_base_connection,
    create_flow,
    dataset_records,
    expect,
    run_status,
    start_aep_emulator,
)
from tests.base import wait_for

pytestmark = pytest.mark.integration

TIME_SCALE = 900  # a 15-minute interval lasts one real second
EVERY_SECOND = {"frequency": "minute", "interval": 15}
EVERY_DAY = {"frequency": "day", "interval": 1}  # 96 real seconds: no second run in a test


@pytest.fixture(scope="module")
def stripe(stripe_scratch_server):
    return stripe_scratch_server


@pytest.fixture(scope="module")
def server(tmp_path_factory, stripe) -> Iterator:
    server = start_aep_emulator(
        tmp_path_factory.mktemp("aep_execution"), stripe.url, time_scale=TIME_SCALE
    )
    yield server
    server.stop()


@pytest.fixture
def aep(server) -> Iterator[PlatformSession]:
    requests.post(f"{server.url}/__emulator__/reset", timeout=10).raise_for_status()
    with PlatformSession(server.url) as session:
        yield session


@pytest.fixture
def pipeline(aep, stripe) -> StripePipeline:
    return build_stripe_pipeline(aep, stripe.secret_key)


def _schedule(frequency: dict, start: float | None = None, backfill: bool = True) -> dict:
    return {"startTime": str(int(start or time.time())), **frequency, "backfill": backfill}


def _runs(aep, flow_id: str) -> list[dict]:
    body = aep.get(
        f"{FLOW_SERVICE}/runs",
        params={"property": f"flowId=={flow_id}", "orderby": "createdAt", "limit": 1000},
    )
    return expect(body, 200)["items"]


# A run is queued or scheduled before it starts (README "Deviations and variance").
OPEN = ("queued", "scheduled", "inProgress")


def _status(run: dict) -> str:
    return run_status(run)


def _finished_runs(aep, flow_id: str, at_least: int, timeout: float = 20) -> list[dict]:
    def finished():
        runs = _runs(aep, flow_id)
        done = [r for r in runs if _status(r) not in OPEN]
        return runs if len(done) >= at_least and len(done) == len(runs) else None

    return wait_for(finished, f"{at_least} finished runs of {flow_id}", timeout)


def _window(run: dict) -> tuple[int, int]:
    params = run["params"]
    return int(params["windowStartTime"]), int(params["windowEndTime"])


def _assert_contiguous(runs: list[dict]) -> None:
    """Each window starts where the previous one ended: nothing skipped, nothing read twice."""
    windows = sorted(_window(r) for r in runs)
    assert windows[0][0] == 0
    for (_, previous_end), (next_start, _) in itertools.pairwise(windows):
        assert next_start == previous_end


def _explore(aep, connection_id: str, resource: str, preview: bool):
    source_params = base64.b64encode(json.dumps({"resourcePath": resource}).encode()).decode()
    return aep.get(
        f"{FLOW_SERVICE}/connections/{connection_id}/explore",
        params={
            "objectType": "rest",
            "object": "json",
            "fileType": "json",
            "preview": str(preview).lower(),
            "sourceParams": source_params,
        },
    )


def _set_token(aep, connection_id: str, token: str) -> None:
    etag = expect(aep.get(f"{FLOW_SERVICE}/connections/{connection_id}"), 200)["items"][0]["etag"]
    ops = [{"op": "replace", "path": "/auth/params", "value": {"accessToken": token}}]
    expect(
        aep.patch(
            f"{FLOW_SERVICE}/connections/{connection_id}", json=ops, headers={"If-Match": etag}
        ),
        200,
    )


# -- explore -------------------------------------------------------------------------------------


def test_explore_infers_the_schema_from_real_objects(aep, stripe):
    connection_id = create_base_connection(aep, stripe.secret_key)

    plain = expect(_explore(aep, connection_id, "charges", preview=False), 200)
    preview = expect(_explore(aep, connection_id, "customers", preview=True), 200)

    assert plain["format"] == "hierarchical"
    assert "data" not in plain
    charge = plain["schema"]["properties"]["data"]["properties"]
    assert charge["amount"]["type"] == "integer"
    assert charge["paid"]["type"] == "boolean"
    assert charge["billing_details"]["type"] == "object"
    assert preview["data"]
    assert all(sample["data"]["object"] == "customer" for sample in preview["data"])


def test_explore_surfaces_stripe_auth_errors_clearly(aep, stripe):
    bad = create_base_connection(aep, "sk_test_not_a_real_key_000000")
    limited = create_base_connection(aep, stripe.restricted_key)

    rejected = _explore(aep, bad, "charges", preview=False)
    forbidden = _explore(aep, limited, "prices", preview=False)
    allowed = _explore(aep, limited, "charges", preview=False)

    assert rejected.status_code == 400
    assert rejected.json()["type"].endswith("FLOW-1601-400")
    assert "access token" in rejected.json()["errorMessage"]
    assert forbidden.status_code == 400
    assert forbidden.json()["type"].endswith("FLOW-1602-400")
    assert "prices" in forbidden.json()["errorMessage"]
    assert allowed.status_code == 200


def test_explore_passes_on_stripe_rate_limits(aep, stripe):
    connection_id = create_base_connection(aep, stripe.secret_key)
    stripe.admin("rate-limit", {"rps": 1})
    try:
        statuses = [_explore(aep, connection_id, "charges", False) for _ in range(4)]
    finally:
        stripe.admin("rate-limit", {"rps": None})

    limited = [r for r in statuses if r.status_code == 429]
    assert limited
    assert limited[0].json()["type"].endswith("FLOW-1603-429")
    assert "rate limiting" in limited[0].json()["errorMessage"]


def test_explore_rejects_unknown_resource_paths(aep, stripe):
    connection_id = create_base_connection(aep, stripe.secret_key)
    response = _explore(aep, connection_id, "invoices", preview=False)
    assert response.status_code == 400
    assert "invoices" in response.json()["errorMessage"]


# -- scheduled runs -------------------------------------------------------------------------------


def test_a_scheduled_flow_ingests_stripe_charges(aep, server, stripe, pipeline):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_SECOND))

    first = _finished_runs(aep, flow_id, 1)[0]

    assert _status(first) == "success"
    assert first["flowId"] == flow_id
    start, end = _window(first)
    assert start == 0
    expected = stripe.count("charges", created__lt=end)
    records = dataset_records(server.url, pipeline.dataset_id)
    summary = first["metrics"]["recordSummary"]
    assert summary["inputRecordCount"] == expected
    assert summary["outputRecordCount"] == expected
    assert summary["failedRecordCount"] == 0
    assert len([r for r in records if r["runId"] == first["id"]]) == expected
    sample = records[0]["record"][f"_{DEMO_TENANT_ID}"]["charges_data"]
    assert sample["id"].startswith("ch_")
    assert isinstance(sample["amount"], int)
    batch = first["activities"][-1]["targetInfo"][0]["reference"]["ids"][0]
    assert records[0]["batchId"] == batch

    flow = expect(aep.get(f"{FLOW_SERVICE}/flows/{flow_id}"), 200)["items"][0]
    assert flow["lastRunDetails"]["state"] in ("success", "inProgress", "failed")
    assert flow["lastRunDetails"]["startedAtUTC"] > 0


def test_new_charges_arrive_in_later_windows_and_metrics_match_records(
    aep, server, stripe, pipeline
):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_SECOND))
    _finished_runs(aep, flow_id, 1)

    stripe.admin("objects", {"resource": "charges", "count": 3})
    time.sleep(2.2)  # two more windows end after the new charges' second
    runs = _finished_runs(aep, flow_id, 3)

    records = dataset_records(server.url, pipeline.dataset_id)
    assert sum(r["metrics"]["recordSummary"]["outputRecordCount"] for r in runs) == len(records)
    latest_end = max(_window(r)[1] for r in runs)
    assert len(records) == stripe.count("charges", created__lt=latest_end)
    assert len({r["record"][f"_{DEMO_TENANT_ID}"]["charges_data"]["id"] for r in records}) == len(
        records
    )
    _assert_contiguous(runs)


def test_disabled_flows_do_not_run_and_re_enabling_backfills_missed_windows(aep, pipeline):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_SECOND))
    _finished_runs(aep, flow_id, 2)
    expect(aep.post(f"{FLOW_SERVICE}/flows/{flow_id}/action?op=disable"), 200)
    time.sleep(0.5)  # let a run that was already under way finish
    before = len(_runs(aep, flow_id))

    time.sleep(2.5)
    assert len(_runs(aep, flow_id)) == before

    expect(aep.post(f"{FLOW_SERVICE}/flows/{flow_id}/action?op=enable"), 200)
    runs = _finished_runs(aep, flow_id, before + 2, timeout=10)

    _assert_contiguous(runs)


def test_a_once_flow_runs_a_single_time(aep, pipeline):
    flow_id = create_flow(aep, pipeline, {"startTime": str(int(time.time())), "frequency": "once"})

    _finished_runs(aep, flow_id, 1)
    time.sleep(1.5)

    assert len(_runs(aep, flow_id)) == 1


def test_a_flow_whose_start_is_ahead_waits(aep, pipeline):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_SECOND, start=time.time() + 3600))
    time.sleep(1.2)
    assert _runs(aep, flow_id) == []


# -- failures, re-trigger, ad-hoc and forced runs -------------------------------------------------


def test_a_rejected_token_fails_the_run_and_re_trigger_reruns_its_window(
    aep, server, stripe, pipeline
):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_DAY))
    backfill = _finished_runs(aep, flow_id, 1)[0]
    _set_token(aep, pipeline.base_connection_id, "sk_test_revoked_key_00000000")
    time.sleep(1.1)  # the forced window ends a second after the first one

    forced = requests.post(f"{server.url}/__emulator__/flows/{flow_id}/run-now", timeout=30)
    failed = expect(forced, 201)

    assert _status(failed) == "failed"
    error = failed["metrics"]["statusSummary"]["errors"][0]
    assert error["code"] == "CONNECTOR-1001-401"
    assert "access token" in error["message"]
    assert failed["activities"][0]["statusSummary"]["status"] == "failed"
    flow = expect(aep.get(f"{FLOW_SERVICE}/flows/{flow_id}"), 200)["items"][0]
    assert flow["lastRunDetails"] == {
        "id": failed["id"],
        "state": "failed",
        "startedAtUTC": failed["metrics"]["durationSummary"]["startedAtUTC"],
        "completedAtUTC": failed["metrics"]["durationSummary"]["completedAtUTC"],
    }

    _set_token(aep, pipeline.base_connection_id, stripe.secret_key)
    retried = expect(aep.post(f"{FLOW_SERVICE}/runs/{failed['id']}/action?op=re-trigger"), 200)

    assert set(retried) == {"id", "etag"}
    rerun = wait_for(
        lambda: next(
            (r for r in _runs(aep, flow_id) if r["id"] == retried["id"] and _status(r) not in OPEN),
            None,
        ),
        "the re-triggered run",
    )
    assert _status(rerun) == "success"
    assert _window(rerun) == _window(failed)
    # A run that ingested records succeeded for good: only failed runs may be retried.
    assert backfill["metrics"]["recordSummary"]["outputRecordCount"] > 0
    refused = aep.post(f"{FLOW_SERVICE}/runs/{backfill['id']}/action?op=RE_TRIGGER")
    assert refused.status_code == 400
    assert refused.json()["type"].endswith("FLOW-1422-400")


def test_failed_runs_are_found_by_status_filter(aep, server, pipeline):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_DAY))
    _finished_runs(aep, flow_id, 1)
    _set_token(aep, pipeline.base_connection_id, "sk_test_revoked_key_00000000")
    expect(requests.post(f"{server.url}/__emulator__/flows/{flow_id}/run-now", timeout=30), 201)

    failed = aep.get(
        f"{FLOW_SERVICE}/runs",
        params={"property": [f"flowId=={flow_id}", "metrics.statusSummary.status==Failed"]},
    )
    counted = aep.get(
        f"{FLOW_SERVICE}/runs", params={"property": f"flowId=={flow_id}", "count": "true"}
    )

    assert [_status(r) for r in expect(failed, 200)["items"]] == ["failed"]
    assert expect(counted, 200) == {"count": 2}


def test_an_ad_hoc_run_ingests_its_window(aep, server, stripe, pipeline):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_DAY, start=time.time() + 86400))
    window_start, window_end = 1_790_000_000, 1_792_000_000

    created = aep.post(
        f"{FLOW_SERVICE}/runs",
        json={
            "flowId": flow_id,
            "params": {"windowStartTime": str(window_start), "windowEndTime": str(window_end)},
        },
    )

    run_id = expect(created, 201)["id"]
    assert created.headers["Location"].endswith(f"/runs/{run_id}")
    run = wait_for(
        lambda: next(
            (r for r in _runs(aep, flow_id) if r["id"] == run_id and _status(r) not in OPEN),
            None,
        ),
        "the ad-hoc run",
    )
    expected = stripe.count("charges", created__gte=window_start, created__lt=window_end)
    assert _status(run) == "success"
    assert run["metrics"]["recordSummary"]["outputRecordCount"] == expected
    assert len(dataset_records(server.url, pipeline.dataset_id)) == expected


def test_an_ad_hoc_run_needs_an_existing_flow(aep):
    response = aep.post(f"{FLOW_SERVICE}/runs", json={"flowId": "no-such-flow"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1430-400")


def test_a_run_of_a_flow_whose_dataset_was_deleted_fails(aep, server, pipeline):
    flow_id = create_flow(aep, pipeline, _schedule(EVERY_DAY, start=time.time() + 86400))
    expect(aep.delete(f"/data/foundation/catalog/dataSets/{pipeline.dataset_id}"), 200)

    run = expect(
        requests.post(f"{server.url}/__emulator__/flows/{flow_id}/run-now", timeout=30), 201
    )

    assert _status(run) == "failed"
    assert pipeline.dataset_id in run["metrics"]["statusSummary"]["errors"][0]["message"]


def test_emulator_state_counts_entities_per_sandbox(aep, server, pipeline):
    create_flow(aep, pipeline, _schedule(EVERY_DAY, start=time.time() + 86400))

    state = expect(requests.get(f"{server.url}/__emulator__/state", timeout=10), 200)

    prod = state["orgs"]["DEMO0000000000000000001@AdobeOrg"]["prod"]
    assert prod["flows"] == 1
    assert prod["connections"] == 1
    assert prod["schemas"] == 1
    assert prod["dataSets"] == 1
