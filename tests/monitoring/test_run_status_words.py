"""Run statuses read as words on the pages through the model's choices: every status the sync
stores, in the reader's language, and a status nobody foresaw shown as it came."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from aep import quirks
from monitoring.models import OPEN_RUN_STATUSES, RUN_STATUS_CHOICES, Dataflow, Run
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run

WORDS = {
    "success": ("success", "성공"),
    "partialSuccess": ("partial success", "부분 성공"),
    "failed": ("failed", "실패"),
    "inProgress": ("in progress", "진행 중"),
    "scheduled": ("scheduled", "예약됨"),
    "queued": ("queued", "대기 중"),
    "pending": ("pending", "대기 중"),
    "cancelled": ("cancelled", "취소됨"),
    "canceled": ("cancelled", "취소됨"),
}


def test_the_choices_cover_every_status_the_sync_normalises_to_and_every_open_one():
    assert set(quirks.RUN_STATUSES) <= set(RUN_STATUS_CHOICES)
    assert set(OPEN_RUN_STATUSES) <= set(RUN_STATUS_CHOICES)
    assert set(RUN_STATUS_CHOICES) == set(WORDS)


@pytest.mark.parametrize(("status", "words"), WORDS.items())
def test_get_status_display_for_each_stored_status(status, words):
    english, korean = words
    run, flow = Run(status=status), Dataflow(last_run_status=status)
    with translation.override("en"):
        assert run.get_status_display() == english
        assert flow.get_last_run_status_display() == english
    with translation.override("ko"):
        assert run.get_status_display() == korean
        assert flow.get_last_run_status_display() == korean


@pytest.mark.parametrize("spelling", ["Failed", "SUCCESS", "inprogress"])
def test_aep_spellings_are_stored_in_one_spelling_that_has_words(spelling):
    stored = quirks.normalize_run_status(spelling)
    assert stored in RUN_STATUS_CHOICES
    with translation.override("en"):
        assert Run(status=stored).get_status_display() == WORDS[stored][0]


@pytest.mark.parametrize(
    ("spelling", "stored"), [("COMPLETED", "success"), ("PARTIAL_FAILURE", "partialSuccess")]
)
def test_the_specs_other_ending_statuses_end_a_run(spelling, stored):
    # Flow Service's StatusDTO (contracts/adobe/flow-service.yaml) lists both beside SUCCESS.
    assert quirks.normalize_run_status(spelling) == stored
    assert quirks.run_is_finished(spelling)


def test_a_status_nobody_foresaw_is_shown_as_it_came():
    assert quirks.normalize_run_status("retrying") == "retrying"
    assert Run(status="retrying").get_status_display() == "retrying"
    assert Run(status="").get_status_display() == ""


class RunStatusPagesTestCase(BaseTestCase):
    def test_pages_show_the_status_in_words(self):
        flow = make_dataflow(make_sandbox(), name="Acme charges")
        run = make_run(flow, ago=timedelta(minutes=5), status="partialSuccess")
        flow.last_run_status, flow.last_run_at = "partialSuccess", run.created_at
        flow.save()
        self.login(self.sam)
        for url in (
            "/overview/",
            f"/dataflows/{flow.pk}/",
            f"/runs/{run.pk}/",
            "/ops/dataflows/",
        ):
            response = self.client.get(url)
            self.assertContains(response, "partial success", msg_prefix=url)
