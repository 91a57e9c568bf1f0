"""A dataflow's schedule in words: one wording for the monitoring and support pages and the
wizard's summary, in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import translation

from monitoring.models import Dataflow
from onboarding import schedule as schedules


@pytest.mark.parametrize(
    ("frequency", "interval", "words"),
    [
        ("once", None, "Once"),
        ("minute", 15, "Every 15 minutes"),
        ("minute", 1, "Every minute"),
        ("hour", 1, "Every hour"),
        ("hour", 2, "Every 2 hours"),
        ("hour", None, "Every hour"),
        ("day", 1, "Every day"),
        ("day", 3, "Every 3 days"),
        ("week", 1, "Every week"),
        ("week", 2, "Every 2 weeks"),
    ],
)
def test_schedule_label_for_each_frequency(frequency, interval, words):
    with translation.override("en"):
        assert Dataflow(frequency=frequency, interval=interval).schedule_label() == words


@pytest.mark.parametrize(
    ("frequency", "interval", "words"),
    [
        ("once", None, "한 번"),
        ("minute", 15, "15분마다"),
        ("hour", 1, "1시간마다"),
        ("day", 2, "2일마다"),
        ("week", 1, "1주마다"),
    ],
)
def test_schedule_label_in_korean(frequency, interval, words):
    with translation.override("ko"):
        assert Dataflow(frequency=frequency, interval=interval).schedule_label() == words


def test_the_wizard_summary_starts_with_the_same_words():
    start = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
    flow = Dataflow(frequency="hour", interval=2)
    with translation.override("en"):
        summary = schedules.summary("hour", 2, start, True, ["charges"])
        assert summary.startswith(flow.schedule_label() + " from ")
