"""Pure rules behind the emulator: schedule parsing and windows, list filters, JSON Patch."""

from __future__ import annotations

import pytest

from emulators.aep.errors import ApiError
from emulators.aep.execution import Window
from emulators.aep.patching import apply_patch, normalise_operations
from emulators.aep.querying import matches, parse_condition, parse_list_query, run_list_query
from emulators.aep.schedule import (
    Schedule,
    first_window,
    parse_schedule,
    period_seconds,
    schedule_doc,
)

# -- schedules ------------------------------------------------------------------------------------


def test_strings_and_numbers_parse_to_the_same_schedule():
    as_strings = parse_schedule(
        {"startTime": "1710267858", "frequency": "MINUTE", "interval": "15", "backfill": "false"}
    )
    as_numbers = parse_schedule(
        {"startTime": 1710267858, "frequency": "minute", "interval": 15, "backfill": False}
    )

    assert as_strings == as_numbers == Schedule(1710267858, "minute", 15, False)
    assert schedule_doc(as_numbers) == {
        "startTime": "1710267858",
        "frequency": "minute",
        "interval": "15",
        "backfill": "false",
    }


def test_backfill_defaults_to_true_and_is_not_echoed_when_absent():
    schedule = parse_schedule({"startTime": 100, "frequency": "hour", "interval": 2})

    assert schedule.backfills is True
    assert "backfill" not in schedule_doc(schedule)


@pytest.mark.parametrize(
    ("frequency", "interval", "scale", "seconds"),
    [
        ("minute", 15, 1, 900),
        ("minute", 15, 900, 1),
        ("hour", 2, 60, 120),
        ("day", 1, 86400, 1),
        ("week", 1, 7, 86400),
    ],
)
def test_the_time_scale_shrinks_the_period(frequency, interval, scale, seconds):
    schedule = Schedule(0, frequency, interval, None)
    assert period_seconds(schedule, scale) == pytest.approx(seconds)


def test_once_has_no_period():
    assert period_seconds(Schedule(0, "once", None, None), 60) == 0


def test_backfill_reads_everything_before_the_first_run():
    schedule = Schedule(2_000, "minute", 15, True)
    assert first_window(schedule, created_at=1_000, time_scale=900) == (0.0, 2_000.0)


def test_a_start_time_in_the_past_runs_at_creation():
    schedule = Schedule(500, "minute", 15, None)
    assert first_window(schedule, created_at=1_000, time_scale=900) == (0.0, 1_000.0)


def test_without_backfill_the_first_window_starts_at_start_time():
    schedule = Schedule(2_000, "hour", 1, False)
    assert first_window(schedule, created_at=1_000, time_scale=3600) == (2_000.0, 2_001.0)


def test_window_bounds_floor_to_stripe_seconds_and_stay_contiguous():
    first, second = Window(0, 10.6), Window(10.6, 11.2)

    assert first.stripe_start is None
    assert (first.stripe_end, second.stripe_start, second.stripe_end) == (10, 10, 11)


# -- list filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "doc", "expected"),
    [
        ("count>9", {"count": 10}, True),
        ("count>9", {"count": "10"}, True),  # numeric strings compare as numbers
        ("name>9", {"name": "a"}, True),  # otherwise as strings
        ("ok==true", {"ok": True}, True),
        ("ok==true", {"ok": "true"}, True),
        ("a.b.c==x", {"a": {"b": {"c": "x"}}}, True),
        ("ids[]==2", {"ids": ["1", "2"]}, True),
        ("ids==2", {"ids": ["1", "2"]}, True),
        ("items[].spec.id==s", {"items": [{"spec": {"id": "t"}}, {"spec": {"id": "s"}}]}, True),
        ("missing==x", {}, False),
        ("missing!=x", {}, True),
        ("status==failed,success", {"status": "success"}, True),
        ("status!=failed,success", {"status": "success"}, False),
    ],
)
def test_filter_semantics(expression, doc, expected):
    assert matches(doc, parse_condition(expression)) is expected


def test_pages_never_repeat_or_skip_when_items_arrive_between_pages():
    docs = [{"id": f"id{i}", "createdAt": i, "name": f"n{i}"} for i in range(5)]
    first = run_list_query(docs, parse_list_query({"limit": "2"}, []), "/flows")
    token = first["_links"]["next"]["href"].split("=")[1]

    docs.append({"id": "id9", "createdAt": 9, "name": "new"})
    second = run_list_query(docs, parse_list_query({"continuationToken": token}, []), "/flows")

    assert [d["id"] for d in first["items"]] == ["id4", "id3"]
    assert [d["id"] for d in second["items"]] == ["id2", "id1"]


# -- JSON Patch -----------------------------------------------------------------------------------


def test_patch_operations_apply_in_order_without_touching_the_original():
    doc = {"name": "a", "tags": ["x"], "nested": {"keep": 1, "drop": 2}}
    ops = normalise_operations(
        [
            {"op": "REPLACE", "path": "/name", "value": "b"},
            {"op": "add", "path": "/tags/-", "value": "y"},
            {"op": "add", "path": "/tags/0", "value": "w"},
            {"op": "Remove", "path": "/nested/drop"},
            {"op": "add", "path": "/new~1field", "value": True},
        ]
    )

    patched = apply_patch(doc, ops)

    assert patched == {
        "name": "b",
        "tags": ["w", "x", "y"],
        "nested": {"keep": 1},
        "new/field": True,
    }
    assert doc["name"] == "a"


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([], "1405"),
        ([{"op": "copy", "path": "/a", "from": "/b"}], "1434"),
        ([{"op": "replace", "path": "/missing", "value": 1}], "1455"),
        ([{"op": "remove", "path": "/tags/5"}], "1455"),
        ([{"op": "add", "path": "/missing/child", "value": 1}], "1455"),
        ([{"op": "add", "path": "no-slash", "value": 1}], "1455"),
        ([{"op": "replace", "path": "/name"}], "1455"),
    ],
)
def test_bad_patches(ops, code):
    with pytest.raises(ApiError) as error:
        apply_patch({"name": "a", "tags": []}, normalise_operations(ops))
    assert error.value.code == code
