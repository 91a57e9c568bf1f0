"""`client.dataaccess.failed_records`: error diagnostics files, faked and against the emulator."""

from __future__ import annotations

import json

import pytest
import responses

from aep import AEPClient, MemoryTokenCache, ServerError
from aep.dataaccess import batch_id_of
from aep.types import FailedRecord, FailedRecordError
from tests.aep.fakes import PLATFORM, platform_calls, query

EXPORT = f"{PLATFORM}/data/foundation/export"
BATCH = "01EFZ7W203PEKSAMVJC3X99VHQ"
META = f"{EXPORT}/batches/{BATCH}/meta"


def error_line(number: int, **error) -> str:
    record = {"id": f"ch_{number}", "amount": "12x", "object": "charge"}
    errors = [{"code": "MAPPER-3700-400", "message": "Cannot convert '12x' to integer", **error}]
    return json.dumps({"_corrupt_record": json.dumps(record), "_errors": errors})


def listing(*names: str) -> dict:
    return {
        "data": [
            {
                "name": name,
                "length": "10",
                "_links": {"self": {"href": f"{META}?path=row_errors%2F{name}"}},
            }
            for name in names
        ],
        "_page": {"limit": 100, "count": len(names)},
    }


def add_file(mocked, name: str, numbers: range) -> None:
    mocked.add(
        responses.GET,
        META,
        match=[responses.matchers.query_param_matcher({"path": f"row_errors/{name}"})],
        body="".join(error_line(n, columnName="data.amount") + "\n" for n in numbers),
        content_type="application/x-ndjson",
    )


def add_listing(mocked, *names: str) -> None:
    mocked.add(
        responses.GET,
        META,
        match=[responses.matchers.query_param_matcher({"path": "row_errors"})],
        json=listing(*names),
    )


def test_reads_the_listed_files_into_records(client: AEPClient, mocked):
    add_listing(mocked, "conversion_errors_0.json")
    add_file(mocked, "conversion_errors_0.json", range(3))

    sample = client.dataaccess.failed_records(BATCH)

    assert sample.available and not sample.truncated
    assert (sample.batch_id, sample.files) == (BATCH, 1)
    assert [r.record_id for r in sample.records] == ["ch_0", "ch_1", "ch_2"]
    first = sample.records[0]
    assert first.errors == (
        FailedRecordError(
            "MAPPER-3700-400", "Cannot convert '12x' to integer", source_field="data.amount"
        ),
    )
    assert first.value_at("data.amount") == (True, "12x")
    assert first.value_at("data.missing") == (False, None)
    assert first.file == "conversion_errors_0.json"
    sent = platform_calls(mocked)
    assert [query(r)["path"] for r in sent] == [
        ["row_errors"],
        ["row_errors/conversion_errors_0.json"],
    ]
    assert all(r.headers["x-sandbox-name"] == "dev" for r in sent)


def test_stops_reading_files_once_the_limit_is_reached(client: AEPClient, mocked):
    add_listing(mocked, "conversion_errors_0.json", "conversion_errors_1.json")
    add_file(mocked, "conversion_errors_0.json", range(5))
    add_file(mocked, "conversion_errors_1.json", range(5, 10))

    sample = client.dataaccess.failed_records(BATCH, limit=4)

    assert len(sample.records) == 4 and sample.truncated and sample.files == 2
    assert len(platform_calls(mocked)) == 2  # the second file was never downloaded


def test_without_diagnostics_the_sample_says_so(client: AEPClient, mocked):
    mocked.add(
        responses.GET,
        META,
        status=404,
        json={
            "type": "https://ns.adobe.com/aep/errors/EXPORT-1203-404",
            "title": "Resource not found",
            "status": 404,
            "detail": "Error diagnostics were not enabled for batch.",
            "report": {"detailed-message": "Error diagnostics were not enabled for batch."},
        },
    )
    sample = client.dataaccess.failed_records(BATCH)
    assert not sample.available
    assert sample.records == ()
    assert sample.message == "Error diagnostics were not enabled for batch."


def test_other_errors_raise(client: AEPClient, mocked):
    mocked.add(responses.GET, META, status=503, json={"message": "down"})
    with pytest.raises(ServerError):
        client.dataaccess.failed_records(BATCH)


def test_unreadable_lines_and_success_markers_are_skipped(client: AEPClient, mocked):
    add_listing(mocked, "_SUCCESS", "part-0.json")
    mocked.add(
        responses.GET,
        META,
        match=[responses.matchers.query_param_matcher({"path": "row_errors/part-0.json"})],
        body="not json\n\n" + error_line(1) + "\n",
    )
    sample = client.dataaccess.failed_records(BATCH)
    assert [r.record_id for r in sample.records] == ["ch_1"]
    assert sample.files == 1


@pytest.mark.parametrize("limit", [0, 1001])
def test_the_limit_is_bounded(client: AEPClient, limit):
    with pytest.raises(ValueError):
        client.dataaccess.failed_records(BATCH, limit=limit)


def test_a_corrupt_record_that_is_not_json_keeps_its_text():
    record = FailedRecord.from_api(
        {"_corrupt_record": "{missingQuotes: 'v1'}", "_errors": [{"code": "1401", "message": "x"}]}
    )
    assert record.record is None and record.record_id is None
    assert record.source == "{missingQuotes: 'v1'}"
    assert record.value_at("data.id") == (False, None)


@pytest.mark.parametrize("root", ["data", "result"])
def test_a_record_wrapped_in_a_lone_root_field_is_read_inside_it(root):
    charge = {"id": "ch_7", "object": "charge", "amount": "12x", "metadata": {"k": "v"}}
    record = FailedRecord.from_api(
        {"_corrupt_record": json.dumps({root: charge}), "_errors": [{"code": "c"}]}
    )
    assert record.record_id == "ch_7"
    assert record.value_at("data.amount") == (True, "12x")
    assert record.value_at("data.metadata.k") == (True, "v")


def test_a_record_with_one_plain_field_is_not_unwrapped():
    record = FailedRecord.from_api({"_corrupt_record": json.dumps({"id": "ch_8"})})
    assert record.record_id == "ch_8"


def test_the_batch_of_a_run_comes_from_its_promotion_activity():
    activities = [
        {"id": "copyActivity"},
        {
            "id": "promotionActivity",
            "targetInfo": [{"reference": {"type": "Batch", "ids": [BATCH]}}],
        },
    ]
    assert batch_id_of(activities) == BATCH
    linked = [
        {
            "statusSummary": {
                "extensions": {
                    "manifest": {"failedRecords": f"{EXPORT}/batches/B2/meta?path=row_errors"}
                }
            }
        }
    ]
    assert batch_id_of(linked) == "B2"
    assert batch_id_of([{"targetInfo": ["odd"]}]) is None


# -- against the emulator ------------------------------------------------------------------------


@pytest.mark.integration
def test_failed_records_of_a_real_run(aep_emulator, stripe_stand_in):
    from emulators.aep.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID
    from tests.emulator_world import FAILING_SOURCE, failing_field, run_rejecting_flow

    config = make_emulator_config(aep_emulator.url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID)
    with AEPClient(config, token_cache=MemoryTokenCache()) as client:
        _flow, run = run_rejecting_flow(
            client, aep_emulator.url, stripe_stand_in.secret_key, diagnostics=True
        )
        batch = batch_id_of(run["activities"])
        failed = run["metrics"]["recordSummary"]["failedRecordCount"]
        sample = client.dataaccess.failed_records(batch, limit=3)
        everything = client.dataaccess.failed_records(batch, limit=1000)

        _flow, plain_run = run_rejecting_flow(
            client, aep_emulator.url, stripe_stand_in.secret_key, diagnostics=False
        )
        off = client.dataaccess.failed_records(batch_id_of(plain_run["activities"]))

    assert failed > 3
    assert len(sample.records) == 3 and sample.truncated
    assert len(everything.records) == failed and not everything.truncated
    for record in everything.records:
        (error,) = record.errors
        assert (error.code, error.source_field, error.path) == (
            "MAPPER-3700-400",
            FAILING_SOURCE,
            failing_field(),
        )
        found, value = record.value_at(error.source_field)
        assert found and isinstance(value, str) and f"'{value}'" in error.message
        assert record.record_id.startswith("ch_")
    assert not off.available and "not enabled" in off.message


def make_emulator_config(url: str, client_id: str, secret: str, org: str):
    from aep import AEPConfig

    return AEPConfig(
        platform_url=url,
        ims_url=url,
        client_id=client_id,
        client_secret=secret,
        org_id=org,
        sandbox_name="prod",
        scope="openid,AdobeID,read_organizations",
    )
