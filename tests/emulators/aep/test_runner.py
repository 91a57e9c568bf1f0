"""The flow runner against a small Stripe-shaped server (paging and error mapping) and, when it
is available, against the project's Stripe stand-in."""

from __future__ import annotations

import json
import time

import pytest
import requests

from emulators.aep.runner import (
    RUN_ERRORS,
    RunOutcome,
    execute_run,
    fetch_objects,
    in_progress_run_document,
    run_document,
)
from emulators.process import free_port
from tests.emulators.aep.fakes import (
    KEY,
    MAPPINGS,
    SCHEMA,
    WINDOW_END,
    WINDOW_START,
    charge,
    run,
)

# -- paging and windows ------------------------------------------------------------------------


def test_pages_through_the_window_with_starting_after(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(250)]
    outcome = run(fake_stripe)
    assert outcome.status == "success"
    assert outcome.pages == 3
    assert [r["query"].get("starting_after") for r in fake_stripe.requests] == [
        None,
        "ch_0150",
        "ch_0050",
    ]
    for sent in fake_stripe.requests:
        assert sent["path"] == "/v1/charges"
        assert sent["auth"] == f"Bearer {KEY}"
        assert sent["query"]["limit"] == "100"
        assert sent["query"]["created[gte]"] == str(WINDOW_START)
        assert sent["query"]["created[lt]"] == str(WINDOW_END)
    assert outcome.input_records == outcome.output_records == 250
    assert outcome.failed_records == 0
    assert {r["_acme"]["charges_data"]["id"] for r in outcome.records} == {
        f"ch_{n:04d}" for n in range(250)
    }


def test_only_objects_created_inside_the_window_are_read(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(10)]
    outcome = run(fake_stripe, window_start=WINDOW_START + 120, window_end=WINDOW_START + 300)
    assert [r["_acme"]["charges_data"]["id"] for r in outcome.records] == [
        "ch_0004",
        "ch_0003",
        "ch_0002",
    ]


def test_backfill_sends_no_lower_bound(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(3)]
    outcome = run(fake_stripe, window_start=None)
    assert "created[gte]" not in fake_stripe.requests[0]["query"]
    assert outcome.window_start is None
    assert outcome.input_records == 3


def test_an_empty_window_succeeds_with_no_records(fake_stripe):
    outcome = run(fake_stripe)
    assert (outcome.status, outcome.input_records, outcome.records) == ("success", 0, [])
    assert outcome.errors == outcome.record_errors == []


def test_outcome_counts_bytes_and_times(fake_stripe):
    fake_stripe.objects = [charge(1)]
    outcome = run(fake_stripe)
    assert outcome.input_bytes == len(json.dumps(charge(1), separators=(",", ":")))
    assert outcome.output_bytes == len(json.dumps(outcome.records[0], separators=(",", ":")))
    assert outcome.started_at_ms <= outcome.copy_completed_at_ms <= outcome.completed_at_ms
    assert outcome.completed_at_ms - outcome.started_at_ms < 5000


# -- record failures ---------------------------------------------------------------------------


def test_unmappable_records_give_partial_success(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(8)] + [
        charge(8, amount="12x"),
        charge(9, amount="n/a"),
    ]
    outcome = run(fake_stripe)
    assert outcome.status == "partialSuccess"
    assert (outcome.input_records, outcome.output_records, outcome.failed_records) == (10, 8, 2)
    assert outcome.errors == []
    assert outcome.record_errors == [
        {
            "code": "INGEST-1212-400",
            "message": "Encountered 2 errors in the data. Successfully ingested 8 rows. "
            "Review the associated diagnostic files for additional details.",
        },
        {"code": "MAPPER-3700-400", "recordCount": 2, "message": "Mapper Transform Error"},
    ]
    assert outcome.row_errors == [
        {
            "id": "ch_0009",
            "code": "MAPPER-3700-400",
            "message": "_acme.charges_data.amount: Cannot convert 'n/a' to integer",
        },
        {
            "id": "ch_0008",
            "code": "MAPPER-3700-400",
            "message": "_acme.charges_data.amount: Cannot convert '12x' to integer",
        },
    ]


def test_records_that_break_the_schema_are_counted_separately(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(3)] + [charge(3, captured="yesterday")]
    mappings = [
        *MAPPINGS,
        {"source": "data.captured", "destination": "_acme.charges_data.captured_at"},
    ]
    outcome = run(fake_stripe, mappings=mappings)
    assert outcome.status == "partialSuccess"
    assert outcome.record_errors[1:] == [
        {
            "code": "INGEST-1104-400",
            "recordCount": 1,
            "message": "The record does not conform to the XDM schema",
        }
    ]
    assert outcome.row_errors[0]["message"] == (
        "Field '_acme.charges_data.captured_at' expected date-time, got string 'yesterday'"
    )


def test_every_record_failing_fails_the_run_and_writes_nothing(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(3)]
    mappings = [{"sourceType": "EXPRESSION", "source": "data.amount / 0", "destination": "_id"}]
    outcome = run(fake_stripe, mappings=mappings)
    assert outcome.status == "failed"
    assert outcome.records == []
    assert outcome.output_records == 0
    assert outcome.failed_records == 3
    assert outcome.errors == [
        {
            "code": "INGEST-1211-400",
            "message": "Encountered errors while parsing, converting or otherwise validating the "
            "data: 3 of 3 records failed.",
        }
    ]
    assert outcome.record_errors == [
        {"code": "MAPPER-3700-400", "recordCount": 3, "message": "Mapper Transform Error"}
    ]


@pytest.mark.parametrize(("threshold", "status"), [(10, "failed"), (20, "partialSuccess")])
def test_partial_ingestion_threshold(fake_stripe, threshold, status):
    fake_stripe.objects = [charge(n) for n in range(8)] + [
        charge(8, amount="x"),
        charge(9, amount="y"),
    ]
    outcome = run(fake_stripe, partial_ingestion_percent=threshold)
    assert outcome.status == status
    assert outcome.output_records == (8 if status == "partialSuccess" else 0)
    if status == "failed":
        assert outcome.errors[0]["message"].endswith(
            "2 of 10 records failed (partial ingestion threshold 10%)."
        )


def test_an_invalid_mapping_set_fails_before_reading_stripe(fake_stripe):
    mappings = [{"sourceType": "EXPRESSION", "source": "shout(data.id)", "destination": "_id"}]
    outcome = run(fake_stripe, mappings=mappings)
    assert outcome.status == "failed"
    assert fake_stripe.requests == []
    assert outcome.errors == [
        {
            "code": "MAPPER-1000-400",
            "message": "The mapping set is not valid: mapping 0: Function 'shout' is not supported",
        }
    ]


# -- Stripe failures ---------------------------------------------------------------------------


def stripe_error(message: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"type": kind, "message": message}}


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (
            401,
            stripe_error("Invalid API Key provided: sk_test_***0001"),
            "CONNECTOR-1001-401",
            "Stripe rejected the access token (HTTP 401): "
            "Invalid API Key provided: sk_test_***0001",
        ),
        (
            403,
            stripe_error(
                "The provided key 'rk_test_***0001' does not have the required permissions"
            ),
            "CONNECTOR-1003-403",
            "The access token may not read 'charges' (HTTP 403): The provided key "
            "'rk_test_***0001' does not have the required permissions",
        ),
        (
            404,
            stripe_error("Unrecognized request URL (GET: /v1/charges)"),
            "CONNECTOR-1004-404",
            "Stripe has no resource 'charges' (HTTP 404): "
            "Unrecognized request URL (GET: /v1/charges)",
        ),
        (
            429,
            stripe_error("Too many requests hit the API too quickly.", "rate_limit_error"),
            "CONNECTOR-1029-429",
            "Stripe rate-limited the request (HTTP 429): "
            "Too many requests hit the API too quickly.",
        ),
        (
            400,
            stripe_error("Invalid integer: abc"),
            "CONNECTOR-1000-400",
            "Stripe rejected the request (HTTP 400): Invalid integer: abc",
        ),
        (
            500,
            stripe_error("An unknown error occurred", "api_error"),
            "CONNECTOR-2001-500",
            "Stripe failed with HTTP 500: An unknown error occurred",
        ),
        (
            503,
            "<html>Service Unavailable</html>",
            "CONNECTOR-2001-500",
            "Stripe failed with HTTP 503: <html>Service Unavailable</html>",
        ),
    ],
)
def test_stripe_errors_fail_the_run_with_a_connector_code(fake_stripe, status, body, code, message):
    fake_stripe.objects = [charge(n) for n in range(5)]
    fake_stripe.failure = (status, body)
    outcome = run(fake_stripe)
    assert outcome.status == "failed"
    assert outcome.errors == [{"code": code, "message": message}]
    assert (outcome.input_records, outcome.output_records, outcome.records) == (0, 0, [])
    assert outcome.copy_failed


def test_a_failure_on_a_later_page_writes_nothing(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(150)]
    fake_stripe.failure, fake_stripe.fail_from = (500, stripe_error("boom", "api_error")), 1
    outcome = run(fake_stripe)
    assert len(fake_stripe.requests) == 2
    assert outcome.status == "failed"
    assert outcome.records == []
    assert outcome.errors[0]["code"] == "CONNECTOR-2001-500"


# -- streaming: one page at a time ---------------------------------------------------------------


def test_good_records_reach_the_sink_page_by_page(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(250)]
    pages: list[list[dict]] = []
    outcome = run(fake_stripe, sink=pages.append)
    assert [len(page) for page in pages] == [100, 100, 50]
    assert [r["_acme"]["charges_data"]["id"] for page in pages for r in page] == [
        f"ch_{n:04d}" for n in reversed(range(250))
    ]
    assert outcome.records == []  # the sink has them
    assert (outcome.status, outcome.pages, outcome.output_records) == ("success", 3, 250)
    assert outcome.output_bytes == sum(
        len(json.dumps(r, separators=(",", ":"))) for page in pages for r in page
    )


def test_a_500_on_page_3_fails_the_run_and_reports_no_records(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(250)] + [charge(250, amount="bad")]
    fake_stripe.failure, fake_stripe.fail_from = (500, stripe_error("boom", "api_error")), 2
    pages: list[list[dict]] = []
    outcome = run(fake_stripe, sink=pages.append)
    assert len(fake_stripe.requests) == 3
    # The first two pages were handed on before Stripe failed; the caller must drop them.
    assert [len(page) for page in pages] == [99, 100]
    assert outcome.status == "failed"
    assert outcome.copy_failed
    assert outcome.errors == [
        {"code": "CONNECTOR-2001-500", "message": "Stripe failed with HTTP 500: boom"}
    ]
    assert (outcome.input_records, outcome.output_records, outcome.failed_records) == (0, 0, 0)
    assert (outcome.input_bytes, outcome.output_bytes) == (0, 0)
    assert outcome.record_errors == outcome.row_errors == []


@pytest.mark.parametrize(("threshold", "status"), [(30, "failed"), (50, "partialSuccess")])
def test_the_threshold_is_judged_over_the_whole_window_not_per_page(fake_stripe, threshold, status):
    # The newest page is all bad (100 of 250 records, 40%), the two older pages all good.
    fake_stripe.objects = [charge(n) for n in range(150)] + [
        charge(n, amount="x") for n in range(150, 250)
    ]
    pages: list[list[dict]] = []
    outcome = run(fake_stripe, sink=pages.append, partial_ingestion_percent=threshold)
    assert [len(page) for page in pages] == [100, 50]
    assert outcome.status == status
    assert (outcome.input_records, outcome.failed_records) == (250, 100)
    assert outcome.output_records == (150 if status == "partialSuccess" else 0)


def test_row_errors_stay_a_capped_sample_across_pages(fake_stripe):
    fake_stripe.objects = [charge(n, amount="x") for n in range(240)] + [charge(240)]
    outcome = run(fake_stripe)
    assert outcome.status == "partialSuccess"
    assert outcome.failed_records == 240
    assert len(outcome.row_errors) == 100
    assert outcome.row_errors[0]["id"] == "ch_0239"  # newest bad record first, as read


def test_copy_and_promotion_times_add_up_to_the_run(fake_stripe):
    fake_stripe.objects = [charge(n) for n in range(250)]
    fake_stripe.delay = 0.1
    outcome = run(fake_stripe)
    copy_ms = outcome.copy_completed_at_ms - outcome.started_at_ms
    assert copy_ms >= 300  # three pages of waiting for Stripe
    assert outcome.started_at_ms <= outcome.copy_completed_at_ms <= outcome.completed_at_ms


def test_a_timeout_fails_the_run(fake_stripe):
    fake_stripe.delay = 1.0
    outcome = run(fake_stripe, timeout=0.2)
    assert outcome.errors == [
        {"code": "CONNECTOR-2001-500", "message": "Stripe did not answer within 0.2 seconds"}
    ]


def test_an_unreachable_stripe_fails_the_run():
    outcome = execute_run(
        stripe_api_base=f"http://127.0.0.1:{free_port()}",
        access_token=KEY,
        resource_path="charges",
        window_start=None,
        window_end=WINDOW_END,
        mappings=MAPPINGS,
        target_schema=None,
        timeout=2,
    )
    assert outcome.status == "failed"
    assert outcome.errors[0]["code"] == "CONNECTOR-2001-500"
    assert outcome.errors[0]["message"].startswith("Could not connect to Stripe: ")
    assert KEY not in outcome.errors[0]["message"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("not json", "the body is not JSON"),
        ({"object": "list"}, "the body has no 'data' list"),
    ],
)
def test_an_unreadable_list_fails_the_run(fake_stripe, body, detail):
    fake_stripe.failure = (200, body)
    outcome = run(fake_stripe)
    assert outcome.errors == [
        {"code": "CONNECTOR-2001-500", "message": f"Stripe returned an unreadable list: {detail}"}
    ]


def test_a_cursor_that_does_not_advance_fails_the_run(fake_stripe):
    same_page = {"object": "list", "data": [charge(1)], "has_more": True}
    fake_stripe.failure = (200, same_page)
    outcome = run(fake_stripe)
    assert outcome.errors[0]["message"].endswith("the page cursor did not advance")
    assert len(fake_stripe.requests) == 2


def test_the_caller_session_is_used_and_left_open(fake_stripe):
    fake_stripe.objects = [charge(1)]
    with requests.Session() as session:
        session.headers["User-Agent"] = "aep-emulator-test"
        assert run(fake_stripe, session=session).status == "success"
        assert run(fake_stripe, session=session).status == "success"


def test_error_codes_are_one_table():
    codes = {code for code, _ in RUN_ERRORS.values()}
    assert {"CONNECTOR-1001-401", "CONNECTOR-1003-403", "CONNECTOR-1029-429"} <= codes
    assert "CONNECTOR-2001-500" in codes


# -- run documents -----------------------------------------------------------------------------

IDS = {
    "run_id": "9830305a-985f-47d0-b030-5a985fd7d004",
    "flow_id": "c9cef9cb-c934-4467-8ef9-cbc934546741",
    "etag": '"b8003af1-0000-0200-0000-5f2b09f10000"',
    "sandbox_id": "1bd86660-c5da-11e9-93d4-6d5fc3a66a8e",
    "sandbox_name": "prod",
}


def outcome_for(status: str, **overrides) -> RunOutcome:
    values = {
        "status": status,
        "started_at_ms": 1596656058198,
        "completed_at_ms": 1596656113306,
        "copy_completed_at_ms": 1596656089650,
        "window_start": 1596653708,
        "window_end": 1596655508,
        "input_records": 100,
        "output_records": 99,
        "failed_records": 1,
        "input_bytes": 24012,
        "output_bytes": 17128,
        "records": [],
        "errors": [],
        "record_errors": [
            {"code": "INGEST-1212-400", "message": "Encountered 1 errors in the data. …"},
            {"code": "MAPPER-3700-400", "recordCount": 1, "message": "Mapper Transform Error"},
        ],
    }
    return RunOutcome(**{**values, **overrides})


def document_for(outcome: RunOutcome) -> dict:
    return run_document(
        **IDS,
        outcome=outcome,
        created_at_ms=1596656079576,
        updated_at_ms=1596656113526,
        source_connection_id="c0e18602-f9ea-44f9-a186-02f9ea64f9ac",
        target_connection_id="47166b83-01c7-4b65-966b-8301c70b6562",
        batch_id="01EF01X41KJD82Y9ZX6ET54PCZ",
        created_by="{CREATED_BY}",
        created_client="{CREATED_CLIENT}",
    )


def test_run_document_matches_the_monitoring_shape():
    document = document_for(outcome_for("partialSuccess"))
    assert list(document) == [
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "createdClient",
        "updatedClient",
        "sandboxId",
        "sandboxName",
        "id",
        "flowId",
        "etag",
        "metrics",
        "activities",
    ]
    assert document["id"] == IDS["run_id"] and document["etag"] == IDS["etag"]
    assert document["metrics"] == {
        "durationSummary": {"startedAtUTC": 1596656058198, "completedAtUTC": 1596656113306},
        "sizeSummary": {"inputBytes": 24012, "outputBytes": 17128},
        "recordSummary": {"inputRecordCount": 100, "outputRecordCount": 99, "failedRecordCount": 1},
        "fileSummary": {
            "inputFileCount": 1,
            "outputFileCount": 1,
            "activityRefs": ["promotionActivity"],
        },
        "statusSummary": {
            "status": "partialSuccess",
            "errors": [],
            "activityRefs": ["promotionActivity"],
        },
    }
    copy, promotion = document["activities"]
    assert copy == {
        "id": "copyActivity",
        "updatedAtUTC": 1596656089650,
        "durationSummary": {
            "startedAtUTC": 1596656058198,
            "completedAtUTC": 1596656089650,
            "extensions": {"windowStart": 1596653708000, "windowEnd": 1596655508000},
        },
        "sizeSummary": {"inputBytes": 24012, "outputBytes": 24012},
        "recordSummary": {},
        "fileSummary": {"inputFileCount": 1, "outputFileCount": 1},
        "statusSummary": {"status": "success", "extensions": {"type": "one-time"}},
        "sourceInfo": [
            {
                "id": "c0e18602-f9ea-44f9-a186-02f9ea64f9ac",
                "type": "SourceConnection",
                "reference": {"type": "AdfRunId", "ids": [IDS["run_id"]]},
            }
        ],
    }
    batch = "https://platform.adobe.io/data/foundation/export/batches/01EF01X41KJD82Y9ZX6ET54PCZ"
    assert promotion == {
        "id": "promotionActivity",
        "updatedAtUTC": 1596656113306,
        "durationSummary": {"startedAtUTC": 1596656089650, "completedAtUTC": 1596656113306},
        "sizeSummary": {"inputBytes": 24012, "outputBytes": 17128},
        "recordSummary": {"inputRecordCount": 100, "outputRecordCount": 99, "failedRecordCount": 1},
        "fileSummary": {
            "inputFileCount": 1,
            "outputFileCount": 1,
            "extensions": {"manifest": {"fileInfo": f"{batch}/meta?path=input_files"}},
        },
        "statusSummary": {
            "status": "partialSuccess",
            "extensions": {
                "manifest": {
                    "failedRecords": f"{batch}/meta?path=row_errors",
                    "sampleErrors": f"{batch}/meta?path=row_error_samples.json",
                },
                "errors": outcome_for("partialSuccess").record_errors,
            },
        },
        "targetInfo": [
            {
                "id": "47166b83-01c7-4b65-966b-8301c70b6562",
                "type": "TargetConnection",
                "reference": {"type": "Batch", "ids": ["01EF01X41KJD82Y9ZX6ET54PCZ"]},
            }
        ],
    }


def test_run_document_of_a_clean_success_has_no_failure_manifest():
    outcome = outcome_for("success", failed_records=0, output_records=100, record_errors=[])
    promotion = document_for(outcome)["activities"][1]
    assert promotion["statusSummary"] == {"status": "success", "extensions": {"errors": []}}


def test_run_document_of_a_connector_failure_has_only_the_copy_activity():
    error = {"code": "CONNECTOR-1001-401", "message": "Stripe rejected the access token …"}
    outcome = outcome_for(
        "failed",
        input_records=0,
        output_records=0,
        failed_records=0,
        input_bytes=0,
        output_bytes=0,
        errors=[error],
        record_errors=[],
        failure_stage="copy",
    )
    document = document_for(outcome)
    assert [a["id"] for a in document["activities"]] == ["copyActivity"]
    assert document["metrics"]["statusSummary"] == {
        "status": "failed",
        "errors": [error],
        "activityRefs": ["copyActivity"],
    }
    assert document["metrics"]["fileSummary"] == {
        "inputFileCount": 0,
        "outputFileCount": 0,
        "activityRefs": ["copyActivity"],
    }
    assert document["activities"][0]["statusSummary"] == {
        "status": "failed",
        "extensions": {"type": "one-time"},
        "errors": [error],
    }


def test_run_document_of_a_backfill_starts_its_window_at_zero():
    copy = document_for(outcome_for("success", window_start=None))["activities"][0]
    assert copy["durationSummary"]["extensions"] == {"windowStart": 0, "windowEnd": 1596655508000}


def test_run_document_from_a_real_outcome(fake_stripe):
    fake_stripe.objects = [charge(1), charge(2, amount="?")]
    outcome = run(fake_stripe)
    document = document_for(outcome)
    summary = document["metrics"]["recordSummary"]
    assert summary == {"inputRecordCount": 2, "outputRecordCount": 1, "failedRecordCount": 1}
    promotion = document["activities"][1]
    assert promotion["statusSummary"]["extensions"]["errors"][0]["code"] == "INGEST-1212-400"


def test_in_progress_run_document():
    document = in_progress_run_document(
        **IDS,
        created_at_ms=1596656079576,
        updated_at_ms=1596656079576,
        started_at_ms=1596656079000,
        window_start=1596653708,
        window_end=1596655508,
        source_connection_id="c0e18602-f9ea-44f9-a186-02f9ea64f9ac",
    )
    assert document["metrics"]["statusSummary"] == {
        "status": "inProgress",
        "errors": [],
        "activityRefs": ["copyActivity"],
    }
    assert document["metrics"]["durationSummary"] == {"startedAtUTC": 1596656079000}
    [copy] = document["activities"]
    assert copy["statusSummary"]["status"] == "inProgress"
    assert copy["durationSummary"]["extensions"] == {
        "windowStart": 1596653708000,
        "windowEnd": 1596655508000,
    }
    assert "completedAtUTC" not in copy["durationSummary"]


# -- against the Stripe stand-in ---------------------------------------------------------------


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    testing = pytest.importorskip("emulators.stripe.testing")
    server = testing.start_stripe_stand_in(tmp_path_factory.mktemp("stripe-runner"), charges=150)
    yield server
    server.stop()


@pytest.mark.integration
def test_runs_a_backfill_of_charges_from_the_stand_in(stand_in):
    window_end = int(time.time()) + 60
    outcome = execute_run(
        stripe_api_base=stand_in.url,
        access_token=stand_in.secret_key,
        resource_path="charges",
        window_start=None,
        window_end=window_end,
        mappings=MAPPINGS,
        target_schema=SCHEMA,
    )
    expected = stand_in.count("charges", created__lt=window_end)
    assert expected > 100  # more than one page
    assert outcome.status == "success", outcome.row_errors[:3]
    assert outcome.pages == (expected + 99) // 100
    assert outcome.input_records == outcome.output_records == expected


@pytest.mark.integration
def test_incremental_window_reads_only_that_window_from_the_stand_in(stand_in):
    first = stand_in.client().v1.charges.list(params={"limit": 30}).data
    start, end = first[-1].created, first[0].created
    outcome = execute_run(
        stripe_api_base=stand_in.url,
        access_token=stand_in.secret_key,
        resource_path="charges",
        window_start=start,
        window_end=end,
        mappings=MAPPINGS,
        target_schema=SCHEMA,
    )
    assert outcome.input_records == stand_in.count("charges", created__gte=start, created__lt=end)
    assert all(start <= r["_acme"]["charges_data"]["created"] < end for r in outcome.records)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("key_name", "resource", "code"),
    [
        ("restricted_key", "subscriptions", "CONNECTOR-1003-403"),
        ("restricted_key", "charges", None),
        (None, "charges", "CONNECTOR-1001-401"),
    ],
)
def test_stand_in_auth_failures_map_to_connector_codes(stand_in, key_name, resource, code):
    token = getattr(stand_in, key_name) if key_name else "sk_test_not_a_real_key_9999"
    outcome = execute_run(
        stripe_api_base=stand_in.url,
        access_token=token,
        resource_path=resource,
        window_start=None,
        window_end=int(time.time()) + 60,
        mappings=[{"source": "data.id", "destination": "_id"}],
        target_schema=None,
    )
    if code is None:
        assert outcome.status == "success"
    else:
        assert outcome.status == "failed"
        assert outcome.errors[0]["code"] == code
        assert token not in outcome.errors[0]["message"]


@pytest.mark.integration
def test_backfill_of_subscriptions_includes_canceled_ones(tmp_path):
    testing = pytest.importorskip("emulators.stripe.testing")
    # Enough history for some subscriptions to have been canceled already.
    stand_in = testing.start_stripe_stand_in(tmp_path, charges=2000)
    try:
        window_end = int(time.time()) + 60
        objects, _pages = fetch_objects(
            requests.Session(),
            stripe_api_base=stand_in.url,
            access_token=stand_in.secret_key,
            resource_path="subscriptions",
            window_start=None,
            window_end=window_end,
            timeout=30,
        )
        assert stand_in.count("subscriptions", status="canceled") > 0
        assert len(objects) == stand_in.count("subscriptions", created__lt=window_end)
        assert any(obj["status"] == "canceled" for obj in objects)
    finally:
        stand_in.stop()
