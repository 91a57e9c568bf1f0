from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aep import quirks, redact
from aep.types import Created, Dataset, Flow, Run, RunError


def test_runs_read_the_spec_spellings_too():
    run = Run.from_api(
        {
            "id": "r1",
            "eTag": '"spec-etag"',
            "activites": [{"id": "copyActivity"}],
            "metrics": {"statusSummary": {"status": "PARTIALSUCCESS"}},
        }
    )
    assert run.etag == '"spec-etag"'
    assert run.activities == ({"id": "copyActivity"},)
    assert run.status == "partialSuccess"


def test_run_errors_merge_run_and_activity_levels_without_repeats():
    run = Run.from_api(
        {
            "id": "r1",
            "metrics": {"statusSummary": {"errors": [{"code": "C-1", "message": "copy failed"}]}},
            "activities": [
                {
                    "statusSummary": {
                        "errors": [{"code": "C-1", "message": "copy failed"}],
                        "extensions": {
                            "errors": [{"code": "M-1", "message": "mapper", "recordCount": 3}]
                        },
                    }
                }
            ],
        }
    )
    assert run.errors == (RunError("C-1", "copy failed"), RunError("M-1", "mapper", 3))


def test_an_ad_hoc_run_window_comes_from_params_in_seconds():
    run = Run.from_api(
        {
            "id": "r1",
            "params": {"windowStartTime": "1651584991", "windowEndTime": "1651671391"},
            "metrics": {"statusSummary": {"status": "scheduled"}},
            "activities": [],
        }
    )
    assert run.window_start == datetime(2022, 5, 3, 13, 36, 31, tzinfo=UTC)
    assert run.window_end == datetime(2022, 5, 4, 13, 36, 31, tzinfo=UTC)
    assert run.started_at is None
    assert run.errors == ()


def test_a_flow_without_schedule_or_runs_parses():
    flow = Flow.from_api({"id": "f1", "name": "n"})
    assert (flow.schedule, flow.last_run, flow.mapping) == (None, None, None)


def test_odd_flows_still_parse():
    # Seen in sandboxes: no startTime, millisecond times, a string interval, odd parts.
    no_start = Flow.from_api({"id": "f1", "scheduleParams": {"frequency": "hour"}})
    assert no_start.schedule is None
    millis = Flow.from_api(
        {
            "id": "f2",
            "scheduleParams": {
                "startTime": "1764300000000",
                "frequency": "minute",
                "interval": "15",
            },
            "createdAt": "not a time",
        }
    )
    assert millis.schedule.start_time == datetime(2025, 11, 28, 3, 20, tzinfo=UTC)
    assert millis.schedule.interval == 15 and millis.created_at is None
    odd = Flow.from_api(
        {
            "id": "f3",
            "scheduleParams": {"startTime": 1764300000, "frequency": "hour", "interval": "hourly"},
            "transformations": ["Mapping", {"name": "Mapping", "params": {"mappingVersion": "x"}}],
            "sourceConnectionIds": "src-1",
            "lastRunDetails": "none",
            "options": [],
        }
    )
    assert odd.schedule.interval is None
    assert odd.mapping.mapping_version is None
    assert odd.source_connection_ids == ("src-1",)
    assert odd.last_run is None and odd.options == {}


def test_a_dataset_parses_from_the_keyed_object_alone():
    dataset = Dataset.from_api({"abc": {"name": "Charges", "schemaRef": {"id": "s"}}})
    assert (dataset.id, dataset.name, dataset.schema_id) == ("abc", "Charges", "s")


def test_created_needs_an_id():
    with pytest.raises(KeyError):
        Created.from_api({"etag": "x"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1596656058198, datetime(2020, 8, 5, 19, 34, 18, 198000, tzinfo=UTC)),
        ("1596656058", datetime(2020, 8, 5, 19, 34, 18, tzinfo=UTC)),
        (None, None),
    ],
)
def test_epochs_in_either_unit_become_aware_utc(value, expected):
    assert quirks.epoch_to_datetime(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("false", False), (True, True), (None, None)]
)
def test_string_booleans(value, expected):
    assert quirks.to_bool(value) is expected


def test_unwrap_items_refuses_an_empty_envelope():
    with pytest.raises(ValueError):
        quirks.unwrap_items({"items": []})
    assert quirks.unwrap_items({"id": "bare"}) == {"id": "bare"}


def test_dataset_create_answers_must_be_a_path_list():
    assert quirks.dataset_id_from_create(["@/dataSets/abc"]) == "abc"
    with pytest.raises(ValueError):
        quirks.dataset_id_from_create({"id": "abc"})


def test_redact_masks_secret_values_at_any_depth():
    payload = {
        "name": "Stripe account",
        "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": "sk_live_1"}},
        "client_secret": "p8e-1",
        "credentials": [{"refresh_token": "r"}, {"Password": "pw", "user": "u"}],
        "api_secret_key": "x",
        "emptyToken": "",
    }
    assert redact(payload) == {
        "name": "Stripe account",
        "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": "••••"}},
        "client_secret": "••••",
        "credentials": [{"refresh_token": "••••"}, {"Password": "••••", "user": "u"}],
        "api_secret_key": "••••",
        "emptyToken": "",
    }
    assert payload["auth"]["params"]["accessToken"] == "sk_live_1"


def test_redact_hides_a_whole_secret_subtree_and_leaves_scalars_alone():
    assert redact({"tokens": {"a": 1}}) == {"tokens": "••••"}
    assert redact(("x", {"secret": 1})) == ("x", {"secret": "••••"})
    assert redact("plain") == "plain"
