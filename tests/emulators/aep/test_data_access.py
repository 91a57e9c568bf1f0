"""Data Access error diagnostics: the failed records a run kept, served as AEP serves them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from emulators.aep.testing import (
    DEMO_TENANT_ID,
    PlatformSession,
    StripePipeline,
    build_stripe_pipeline,
    charge_mappings,
    create_flow,
    create_mapping_set,
    expect,
    start_aep_emulator,
)

pytestmark = pytest.mark.integration

EXPORT = "/data/foundation/export"
# Only declined charges carry a failure_code; fed into the integer `amount`, it fails them alone.
FAILING_SOURCE = "data.failure_code"
AMOUNT = f"_{DEMO_TENANT_ID}.charges_data.amount"


@pytest.fixture(scope="module")
def server(tmp_path_factory, stripe_server) -> Iterator:
    server = start_aep_emulator(tmp_path_factory.mktemp("aep_data_access"), stripe_server.url)
    yield server
    server.stop()


@pytest.fixture
def aep(server) -> Iterator[PlatformSession]:
    requests.post(f"{server.url}/__emulator__/reset", timeout=10).raise_for_status()
    with PlatformSession(server.url) as session:
        yield session


@pytest.fixture
def pipeline(aep, stripe_server) -> StripePipeline:
    pipeline = build_stripe_pipeline(aep, stripe_server.secret_key)
    mappings = [
        {**m, "source": FAILING_SOURCE} if m["destination"] == AMOUNT else m
        for m in charge_mappings()
    ]
    mapping_set = create_mapping_set(aep, pipeline.schema_id, mappings)
    return StripePipeline(**{**pipeline.__dict__, "mapping_set_id": mapping_set})


def run_flow(aep, server, pipeline: StripePipeline, *, diagnostics: bool) -> dict:
    """A flow whose schedule never comes due, run once by hand; returns the finished run."""
    schedule = {"startTime": str(int(time.time()) + 86400), "frequency": "day", "interval": 1}
    options = {"errorDiagnosticsEnabled": True} if diagnostics else {}
    flow_id = create_flow(aep, pipeline, schedule, options=options)
    run = expect(
        requests.post(f"{server.url}/__emulator__/flows/{flow_id}/run-now", timeout=60), 201
    )
    assert run["metrics"]["statusSummary"]["status"] == "partialSuccess"
    return run


def batch_of(run: dict) -> str:
    promotion = run["activities"][-1]
    return promotion["targetInfo"][0]["reference"]["ids"][0]


def declined(stripe_list_all) -> dict[str, dict]:
    return {c["id"]: c for c in stripe_list_all("charges") if c.get("failure_code")}


def test_with_diagnostics_the_failed_records_are_listed_and_downloaded(
    aep, server, pipeline, stripe_list_all
):
    run = run_flow(aep, server, pipeline, diagnostics=True)
    batch = batch_of(run)
    failed_count = run["metrics"]["recordSummary"]["failedRecordCount"]
    manifest = run["activities"][-1]["statusSummary"]["extensions"]["manifest"]
    assert manifest["failedRecords"].endswith(f"/export/batches/{batch}/meta?path=row_errors")

    listing = expect(aep.get(f"{EXPORT}/batches/{batch}/meta", params={"path": "row_errors"}), 200)
    assert listing["_page"] == {"limit": 100, "count": 1}
    (entry,) = listing["data"]
    assert entry["name"] == "conversion_errors_0.json"
    href = entry["_links"]["self"]["href"]
    assert href.endswith(f"/batches/{batch}/meta?path=row_errors/conversion_errors_0.json")

    download = aep.get(
        f"{EXPORT}/batches/{batch}/meta", params={"path": "row_errors/conversion_errors_0.json"}
    )
    assert download.status_code == 200
    assert int(entry["length"]) == len(download.content)
    lines = [json.loads(line) for line in download.text.splitlines()]
    assert len(lines) == failed_count > 0
    expected = declined(stripe_list_all)
    for line in lines:
        (record,) = json.loads(line["_corrupt_record"]).values()  # wrapped, as a REST row
        assert record["id"] in expected
        assert record == expected[record["id"]]
        (error,) = line["_errors"]
        assert error["code"] == "MAPPER-3700-400"
        assert error["columnName"] == FAILING_SOURCE
        assert error["path"] == AMOUNT
        assert f"'{record['failure_code']}'" in error["message"]
        assert line["_filename"] == "conversion_errors_0.json"


def test_the_failed_endpoint_serves_the_same_files(aep, server, pipeline):
    batch = batch_of(run_flow(aep, server, pipeline, diagnostics=True))
    listing = expect(aep.get(f"{EXPORT}/batches/{batch}/failed"), 200)
    assert [e["name"] for e in listing["data"]] == ["conversion_errors_0.json"]
    assert listing["data"][0]["_links"]["self"]["href"].endswith(
        "/failed?path=conversion_errors_0.json"
    )
    by_failed = aep.get(
        f"{EXPORT}/batches/{batch}/failed", params={"path": "conversion_errors_0.json"}
    )
    by_meta = aep.get(
        f"{EXPORT}/batches/{batch}/meta", params={"path": "row_errors/conversion_errors_0.json"}
    )
    assert by_failed.status_code == 200
    assert by_failed.text == by_meta.text


def test_without_diagnostics_there_are_no_files_and_the_answer_says_why(aep, server, pipeline):
    batch = batch_of(run_flow(aep, server, pipeline, diagnostics=False))
    for answer in (
        aep.get(f"{EXPORT}/batches/{batch}/meta", params={"path": "row_errors"}),
        aep.get(f"{EXPORT}/batches/{batch}/failed"),
    ):
        body = expect(answer, 404)
        assert body["type"].endswith("EXPORT-1203-404")
        assert "Error diagnostics were not enabled" in body["detail"]


def test_unknown_batches_files_and_paths_are_refused(aep, server, pipeline):
    batch = batch_of(run_flow(aep, server, pipeline, diagnostics=True))
    meta = f"{EXPORT}/batches/{batch}/meta"
    assert expect(aep.get(f"{EXPORT}/batches/nope/meta", params={"path": "row_errors"}), 404)[
        "type"
    ].endswith("EXPORT-1200-404")
    assert aep.get(meta).status_code == 400
    assert aep.get(meta, params={"path": "input_files"}).status_code == 404
    assert aep.get(meta, params={"path": "row_errors/conversion_errors_9.json"}).status_code == 404
    assert aep.get(meta, params={"path": "row_errors/../../x"}).status_code == 404


def test_another_sandbox_cannot_read_the_batch(aep, server, pipeline):
    batch = batch_of(run_flow(aep, server, pipeline, diagnostics=True))
    with PlatformSession(server.url, sandbox="dev") as dev:
        answer = dev.get(f"{EXPORT}/batches/{batch}/meta", params={"path": "row_errors"})
    assert answer.status_code == 404


def test_the_gateway_guards_data_access_too(server):
    answer = requests.get(f"{server.url}{EXPORT}/batches/x/meta?path=row_errors", timeout=10)
    assert answer.status_code in (401, 403)
