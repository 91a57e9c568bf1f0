"""Step 6: frequency, interval, start time in the user's zone, backfill, summary, estimate."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest.mock import patch
from zoneinfo import ZoneInfo

from django.utils import timezone

from core.models import Job, Preference
from core.preferences import TIME_ZONE_COOKIE
from onboarding import tasks
from onboarding.models import STEP_NAMES
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import ready_draft


class StepScheduleTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox(), paths=("charges",))
        self.draft.reached = STEP_NAMES.index("mapping")
        self.draft.save()
        self.url = f"/wizard/{self.draft.pk}/schedule/"
        self.login(self.mina)

    def post(self, **overrides):
        data = {
            "frequency": "hour",
            "interval": "2",
            "start_time": "2030-12-03T10:00",
            "time_zone": "Europe/Berlin",
            "backfill": "on",
            "action": "save",
            **overrides,
        }
        with (
            patch("onboarding.tasks.estimate_backfill.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            return self.client.post(self.url, data), delay

    def test_it_stores_utc_and_shows_a_plain_summary_in_the_users_zone(self):
        r, delay = self.post()
        assert r.status_code == 302
        self.draft.refresh_from_db()
        assert self.draft.start_time == datetime(2030, 12, 3, 9, 0, tzinfo=UTC)
        assert (self.draft.frequency, self.draft.interval, self.draft.backfill) == ("hour", 2, True)
        delay.assert_called_once_with(str(Job.objects.get(kind=tasks.ESTIMATE).pk))
        r = self.client.get(self.url)
        self.assertContains(
            r,
            "Every 2 hours from 3 Dec 2030 10:00 CET; the first run loads all charges created "
            "before then.",
        )
        self.assertContains(r, 'value="2030-12-03T10:00"')

    def test_the_first_run_is_offered_now_in_the_persons_zone(self):
        self.draft.start_time = None
        self.draft.save()
        self.client.cookies[TIME_ZONE_COOKIE] = "Asia/Seoul"
        # A clock near the real one: sessions and log-in read it too.
        now = timezone.now().replace(second=27)
        with patch("django.utils.timezone.now", return_value=now):
            r = self.client.get(self.url)
        seoul = now.astimezone(ZoneInfo("Asia/Seoul"))
        self.assertContains(r, f'value="{seoul:%Y-%m-%dT%H:%M}"')  # seconds dropped
        self.assertContains(r, "the first run starts right away")

    def test_a_start_time_already_past_is_kept_as_chosen(self):
        r, _ = self.post(start_time="2020-01-01T08:00", time_zone="UTC")
        assert r.status_code == 302
        self.draft.refresh_from_db()
        assert self.draft.start_time == datetime(2020, 1, 1, 8, 0, tzinfo=UTC)

    def test_without_backfill_the_summary_says_older_objects_are_skipped(self):
        self.post(backfill="", time_zone="UTC")
        r = self.client.get(self.url)
        self.assertContains(r, "only charges created after then are loaded")

    def test_bad_intervals_are_explained(self):
        for value, message in [
            ("0", "1 or more"),
            ("-3", "1 or more"),
            ("abc", "Enter a whole number"),
            ("", "Enter how many hours"),
        ]:
            r, _ = self.post(interval=value)
            self.assertContains(r, message, msg_prefix=value)
        r, _ = self.post(frequency="minute", interval="5")
        self.assertContains(r, "at most every 15 minutes")
        r, _ = self.post(frequency="minute", interval="15")
        assert r.status_code == 302

    def test_once_needs_no_interval_and_no_backfill(self):
        r, _ = self.post(frequency="once", interval="")
        assert r.status_code == 302
        self.draft.refresh_from_db()
        assert self.draft.interval is None and self.draft.backfill is False

    def test_an_unparsable_start_time_is_explained(self):
        r, _ = self.post(start_time="next tuesday")
        self.assertContains(r, "Enter a date and time like 2025-12-03 09:00")

    def test_estimates_are_shown(self):
        self.draft.estimate = {"charges": {"count": 1200, "more": True}}
        self.draft.reached = STEP_NAMES.index("schedule")
        self.draft.save()
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r.status_code == 286
        assert "more than 1,200 objects" in r.content.decode()

    def test_next_goes_to_review(self):
        r, _ = self.post(action="next")
        assert r["Location"] == f"/wizard/{self.draft.pk}/review/"


class ScheduleZoneTestCase(BaseTestCase):
    """The first visit offers the person's own zone; once saved, the draft's zone stays."""

    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox(), paths=("charges",))
        self.draft.reached = STEP_NAMES.index("mapping")
        self.draft.start_time = datetime(2030, 12, 3, 9, 0, tzinfo=UTC)
        self.draft.save()
        self.url = f"/wizard/{self.draft.pk}/schedule/"
        self.login(self.mina)

    def selected_zone(self, response) -> str:
        form = response.context["form"]
        return form["time_zone"].value()

    def test_a_first_visit_offers_the_browsers_zone_with_the_time_in_it(self):
        self.client.cookies[TIME_ZONE_COOKIE] = "Asia/Seoul"
        r = self.client.get(self.url)
        assert self.selected_zone(r) == "Asia/Seoul"
        self.assertContains(r, 'value="2030-12-03T18:00"')  # 09:00 UTC in Seoul

    def test_a_saved_preference_wins_over_the_browser(self):
        Preference.objects.create(user=self.mina, time_zone="America/New_York")
        self.client.cookies[TIME_ZONE_COOKIE] = "Asia/Seoul"
        assert self.selected_zone(self.client.get(self.url)) == "America/New_York"

    def test_once_saved_the_drafts_own_zone_is_shown(self):
        self.draft.time_zone = "Europe/Berlin"
        self.draft.reached = STEP_NAMES.index("schedule")
        self.draft.save()
        self.client.cookies[TIME_ZONE_COOKIE] = "Asia/Seoul"
        r = self.client.get(self.url)
        assert self.selected_zone(r) == "Europe/Berlin"
        self.assertContains(r, 'value="2030-12-03T10:00"')
