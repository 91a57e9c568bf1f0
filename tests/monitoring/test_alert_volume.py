"""Volume-drop rules: the last 24 hours against a usual day of the daily rollups."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from django.utils import timezone, translation

from core.i18n import localize_stored
from monitoring import alerts
from monitoring.health import refresh_health
from monitoring.models import Alert, AlertRule, IngestBucket
from monitoring.tasks import deliver_later
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run

Kind = AlertRule.Kind
DAY = IngestBucket.Granularity.DAY


class VolumeDropTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox(), name="Charges", frequency="hour", interval=1)
        self.rule = AlertRule.objects.create(kind=Kind.VOLUME_DROP)
        patcher = patch("monitoring.tasks.deliver_alert.delay_on_commit")
        patcher.start()
        self.addCleanup(patcher.stop)

    def history(self, *records: int | None) -> None:
        """Daily rollups of the days before the last 24 hours, the newest first; None is a
        day without runs."""
        first = (timezone.now() - timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        for back, count in enumerate(records, start=1):
            IngestBucket.objects.create(
                dataflow=self.flow,
                granularity=DAY,
                start=first - timedelta(days=back),
                runs=0 if count is None else 24,
                input_records=count or 0,
                output_records=count or 0,
            )

    def last_day(self, records: int) -> None:
        self.flow.runs.all().delete()
        make_run(self.flow, ago=timedelta(hours=2), input_records=records, output_records=records)
        refresh_health(self.flow)

    def evaluate(self):
        self.flow.refresh_from_db()
        return alerts.evaluate(self.flow, deliver_later)

    def test_a_day_below_the_threshold_opens_an_alert_in_plain_words(self):
        self.history(3000, 3300, 3150, 3150, 3000, 3300, 3150)
        self.last_day(1204)
        opened, _ = self.evaluate()
        assert [a.rule for a in opened] == [self.rule]
        alert = opened[0]
        assert alert.summary == (
            "1,204 records in the last 24 hours, 38% of the usual 3,150 a day."
        )
        assert alert.details["days"] == 7 and alert.details["usual"] == 3150

    def test_exactly_at_the_threshold_or_above_it_is_no_alert(self):
        self.history(3150, 3150, 3150)
        self.last_day(1575)  # exactly half
        assert self.evaluate() == ([], [])
        self.last_day(2000)
        assert self.evaluate() == ([], [])

    def test_a_spike_is_no_alert(self):
        self.history(3150, 3150, 3150, 3150)
        self.last_day(90_000)
        assert self.evaluate() == ([], [])

    def test_the_threshold_of_the_rule_applies(self):
        AlertRule.objects.filter(pk=self.rule.pk).update(threshold=0.8)
        self.history(1000, 1000, 1000)
        self.last_day(790)
        opened, _ = self.evaluate()
        assert opened and "79% of the usual 1,000 a day" in opened[0].summary

    def test_without_three_days_of_history_nothing_alerts(self):
        # Two days with runs, and two rollup rows without any: a new flow, not a drop.
        self.history(5000, None, 5000, None)
        self.last_day(0)
        assert self.evaluate() == ([], [])
        assert not Alert.objects.exists()

    def test_days_without_runs_do_not_lower_the_usual_day(self):
        self.history(1000, None, 1000, None, 1000)
        self.last_day(600)  # 60% of 1,000; 43% had the empty days counted
        assert self.evaluate() == ([], [])

    def test_the_last_24_hours_and_older_days_are_not_part_of_the_usual_day(self):
        self.history(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1_000_000)  # 8 days back
        today = (timezone.now() - timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        for start in (today, today + timedelta(days=1)):
            IngestBucket.objects.update_or_create(
                dataflow=self.flow,
                granularity=DAY,
                start=start,
                defaults={"runs": 5, "output_records": 10},
            )
        assert alerts.usual_day(self.flow, timezone.now()) == (1000, 7)

    def test_recovery_resolves_the_alert(self):
        self.history(3150, 3150, 3150, 3150, 3150)
        self.last_day(100)
        opened, _ = self.evaluate()
        assert len(opened) == 1
        self.last_day(200)
        assert self.evaluate() == ([], [])  # still low: no second alert
        self.last_day(3000)
        _, resolved = self.evaluate()
        assert [a.pk for a in resolved] == [opened[0].pk]
        assert resolved[0].resolution == "The condition no longer holds."

    def test_the_description_says_how_much_history_it_needs(self):
        assert self.rule.describe() == (
            "Records in 24 hours below 50% of a usual day (needs runs on 3 of the previous 7 days)"
        )
        with translation.override("ko"):
            assert self.rule.describe() == (
                "24시간 레코드가 평소 하루의 50% 미만(이전 7일 중 3일 이상 실행 기록이 있어야 함)"
            )

    def test_the_stored_summary_is_shown_in_korean_and_back(self):
        self.history(3150, 3150, 3150)
        self.last_day(1204)
        opened, _ = self.evaluate()
        summary = opened[0].summary
        korean = "지난 24시간 동안 레코드 1,204건으로, 평소 하루 3,150건의 38%입니다."
        with translation.override("ko"):
            assert localize_stored(summary) == korean
        with translation.override("en"):
            assert localize_stored(korean) == summary

    def test_a_summary_written_in_korean_reads_in_english(self):
        self.history(3150, 3150, 3150)
        self.last_day(1204)
        with translation.override("ko"):
            opened, _ = self.evaluate()
        assert opened[0].summary.startswith("지난 24시간 동안 레코드 1,204건")
        assert localize_stored(opened[0].summary) == (
            "1,204 records in the last 24 hours, 38% of the usual 3,150 a day."
        )
