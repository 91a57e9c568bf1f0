"""The server-drawn charts: duration labels and axes whose ticks read as round values."""

from __future__ import annotations

from django.test import SimpleTestCase
from django.utils import translation

from monitoring import charts


def ticks(scale: charts.Scale) -> list[str]:
    return [charts.seconds_label(scale.top * i / scale.parts) for i in range(scale.parts + 1)]


class SecondsLabelTestCase(SimpleTestCase):
    def setUp(self) -> None:
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_under_a_second_in_milliseconds(self):
        assert charts.seconds_label(0.25) == "250 ms"
        assert charts.seconds_label(0.0625) == "62.5 ms"
        assert charts.seconds_label(0.0004) == "0.4 ms"

    def test_seconds_with_one_decimal_dropped_when_whole(self):
        assert charts.seconds_label(0) == "0 s"
        assert charts.seconds_label(1) == "1 s"
        assert charts.seconds_label(1.5) == "1.5 s"
        assert charts.seconds_label(42) == "42 s"

    def test_minutes_and_hours(self):
        assert charts.seconds_label(60) == "1 min"
        assert charts.seconds_label(90) == "1.5 min"
        assert charts.seconds_label(5400) == "1.5 h"

    def test_korean_units(self):
        with translation.override("ko"):
            assert charts.seconds_label(0.25) == "250ms"
            assert charts.seconds_label(1.5) == "1.5초"
            assert charts.seconds_label(90) == "1.5분"
            assert charts.seconds_label(5400) == "1.5시간"


class DurationScaleTestCase(SimpleTestCase):
    def setUp(self) -> None:
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_sub_second_runs_get_distinct_millisecond_ticks(self):
        assert ticks(charts.duration_scale(0.3)) == [
            "0 s",
            "100 ms",
            "200 ms",
            "300 ms",
            "400 ms",
            "500 ms",
        ]
        assert ticks(charts.duration_scale(0.8)) == ["0 s", "250 ms", "500 ms", "750 ms", "1 s"]

    def test_seconds_ticks_are_round(self):
        assert ticks(charts.duration_scale(2.2)) == [
            "0 s",
            "500 ms",
            "1 s",
            "1.5 s",
            "2 s",
            "2.5 s",
        ]
        assert ticks(charts.duration_scale(40)) == ["0 s", "10 s", "20 s", "30 s", "40 s", "50 s"]

    def test_past_a_minute_the_axis_counts_minutes_then_hours(self):
        assert ticks(charts.duration_scale(59)) == ["0 s", "15 s", "30 s", "45 s", "1 min"]
        assert ticks(charts.duration_scale(80)) == ["0 s", "30 s", "1 min", "1.5 min", "2 min"]
        assert ticks(charts.duration_scale(5000)) == ["0 s", "30 min", "1 h", "1.5 h", "2 h"]

    def test_count_axes_cut_2_5_and_5_in_fifths(self):
        scale = charts.nice_scale(2100)
        assert (scale.top, scale.parts) == (2500, 5)
        assert [charts.compact(2500 * i / 5) for i in range(6)] == [
            "0",
            "500",
            "1k",
            "1.5k",
            "2k",
            "2.5k",
        ]
        assert charts.nice_scale(0) == charts.Scale(1, 4)
        assert charts.nice_scale(180) == charts.Scale(200, 4)


class CountScaleTestCase(SimpleTestCase):
    def test_no_tick_falls_between_two_whole_numbers(self):
        for peak, top, parts in [(10, 10, 5), (8, 10, 5), (2, 2, 2), (1, 1, 1), (0, 1, 1)]:
            assert charts.count_scale(peak) == charts.Scale(top, parts), peak
            assert all((top * i / parts).is_integer() for i in range(parts + 1))

    def test_larger_counts_keep_their_nice_scale(self):
        for peak in (30, 180, 2100, 90_000):
            assert charts.count_scale(peak) == charts.nice_scale(peak), peak
