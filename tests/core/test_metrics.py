"""/metrics: Redis-kept counters, gauges and histograms, database gauges, and the token."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from aep.errors import AEPError
from core import metrics
from core.jobs import perform
from core.models import Job
from monitoring.models import Dataflow
from tests.base import BaseTestCase, make_sandbox
from tests.core.redis_keys import delete_prefixed, unique_prefixes

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+]+|\+Inf|NaN)$")


def parse(text: str) -> dict[str, float]:
    """Samples by `name{labels}`, checking that every line is valid exposition format."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        samples[match[1] + (match[2] or "")] = float(match[3])
    return samples


class MetricsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.prefixes = unique_prefixes()
        override = override_settings(**self.prefixes, METRICS_TOKEN="")
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(delete_prefixed, self.prefixes)

    def scrape(self, **headers) -> dict[str, float]:
        r = self.client.get("/metrics", headers=headers)
        assert r.status_code == 200, r.content
        assert r["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(r.content.decode())

    def test_runs_synced_is_exposed_at_zero_then_counts(self):
        assert self.scrape()["stripe_sources_runs_synced_total"] == 0
        metrics.record_runs_synced(3)
        metrics.incr("runs_synced_total")
        assert self.scrape()["stripe_sources_runs_synced_total"] == 4

    def test_type_and_help_lines_describe_each_metric(self):
        body = self.client.get("/metrics").content.decode()
        assert "# TYPE stripe_sources_runs_synced_total counter" in body
        assert "# TYPE stripe_sources_sync_lag_seconds gauge" in body
        assert "# TYPE stripe_sources_task_duration_seconds histogram" in body
        assert "# HELP stripe_sources_aep_errors_total " in body

    def test_counters_and_gauges_with_labels(self):
        metrics.incr("widgets_total", {"kind": 'a "quoted"\nvalue'}, 2.5)
        metrics.set_gauge("queue_depth", 7, {"queue": "sync"})
        metrics.set_gauge("queue_depth", 3, {"queue": "sync"})
        body = self.client.get("/metrics").content.decode()
        assert "# TYPE stripe_sources_widgets_total counter" in body
        assert "# TYPE stripe_sources_queue_depth gauge" in body
        samples = parse(body)
        assert samples[r'stripe_sources_widgets_total{kind="a \"quoted\"\nvalue"}'] == 2.5
        assert samples['stripe_sources_queue_depth{queue="sync"}'] == 3

    def test_histogram_buckets_are_cumulative(self):
        for seconds in (0.03, 0.2, 0.2, 4.0, 900.0):
            metrics.observe(metrics.TASK_DURATION, seconds, {"task": "monitoring.sync"})
        samples = self.scrape()
        bucket = 'stripe_sources_task_duration_seconds_bucket{task="monitoring.sync",le="%s"}'
        assert samples[bucket % "0.05"] == 1
        assert samples[bucket % "0.25"] == 3
        assert samples[bucket % "5"] == 4
        assert samples[bucket % "600"] == 4
        assert samples[bucket % "+Inf"] == 5
        name = "stripe_sources_task_duration_seconds"
        assert samples[f'{name}_count{{task="monitoring.sync"}}'] == 5
        assert samples[f'{name}_sum{{task="monitoring.sync"}}'] == pytest.approx(904.43)

    def test_aep_errors_by_code(self):
        metrics.record_aep_error("FLOW-1104-504")
        metrics.record_aep_error("FLOW-1104-504")
        metrics.record_aep_error(None)
        samples = self.scrape()
        assert samples['stripe_sources_aep_errors_total{code="FLOW-1104-504"}'] == 2
        assert samples['stripe_sources_aep_errors_total{code="unknown"}'] == 1

    def test_perform_counts_and_logs_an_aep_error(self):
        job = Job.objects.create(kind="sandbox.test_connection", target="sandbox:1")

        def work(job):
            raise AEPError("boom", status_code=504, request_id="adobe-req-42", code="X-504")

        with self.assertLogs("core.jobs", "WARNING") as logs:
            perform(str(job.pk), work)
        record = logs.records[0]
        assert record.aep_request_id == "adobe-req-42"
        assert record.aep_error_code == "X-504"
        assert self.scrape()['stripe_sources_aep_errors_total{code="X-504"}'] == 1

    def test_sync_lag_follows_the_oldest_active_dataflow(self):
        assert self.scrape()["stripe_sources_sync_lag_seconds"] == 0
        sandbox = make_sandbox()
        now = timezone.now()
        flows = [
            ("fresh", now - timedelta(minutes=5), True, None),
            ("stale", now - timedelta(hours=2), True, None),
            ("disabled", now - timedelta(days=3), False, None),
            ("deleted", now - timedelta(days=4), True, now),
        ]
        for name, synced, enabled, deleted in flows:
            Dataflow.objects.create(
                sandbox=sandbox,
                flow_id=name,
                name=name,
                last_synced_at=synced,
                enabled=enabled,
                deleted_at=deleted,
            )
        lag = self.scrape()["stripe_sources_sync_lag_seconds"]
        assert 7190 < lag < 7300

    def test_dataflows_by_health_and_alerts_open(self):
        sandbox = make_sandbox()
        Dataflow.objects.create(sandbox=sandbox, flow_id="a", name="a", health="failing")
        Dataflow.objects.create(sandbox=sandbox, flow_id="b", name="b", health="healthy")
        Dataflow.objects.create(sandbox=sandbox, flow_id="c", name="c", health="healthy")
        samples = self.scrape()
        assert samples['stripe_sources_dataflows{health="healthy"}'] == 2
        assert samples['stripe_sources_dataflows{health="failing"}'] == 1
        assert samples["stripe_sources_alerts_open"] == 0
        assert samples["stripe_sources_metrics_store_up"] == 1

    def test_alerts_open_counts_unresolved_alerts(self):
        from monitoring.models import Alert, AlertRule

        flow = Dataflow.objects.create(sandbox=make_sandbox(), flow_id="a", name="a")
        rules = [AlertRule.objects.create(kind=kind) for kind in ("run_failed", "late")]
        for rule, resolved_at in zip(rules, (None, timezone.now()), strict=True):
            Alert.objects.create(
                rule=rule, dataflow=flow, kind=rule.kind, summary="x", resolved_at=resolved_at
            )
        Alert.objects.create(rule=rules[1], dataflow=flow, kind="late", summary="again")
        assert self.scrape()["stripe_sources_alerts_open"] == 2

    @override_settings(METRICS_TOKEN="scrape-token-0123456789")
    def test_token_is_required_when_set(self):
        r = self.client.get("/metrics")
        assert r.status_code == 401
        assert r["WWW-Authenticate"].startswith("Bearer")
        wrong = self.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = self.client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"}
        )
        assert ok.status_code == 200

    def test_redis_outage_neither_breaks_recording_nor_the_scrape(self):
        from emulators.process import free_port

        with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
            metrics.incr("runs_synced_total")  # must not raise
            samples = self.scrape()
        assert samples["stripe_sources_metrics_store_up"] == 0
        assert "stripe_sources_sync_lag_seconds" in samples


@pytest.mark.integration
def test_task_latency_is_recorded_by_a_real_worker(celery_worker_thread, settings):
    import time

    from core.tasks import heartbeat

    prefixes = unique_prefixes()
    for name, value in prefixes.items():
        setattr(settings, name, value)
    try:
        heartbeat.delay()
        deadline = time.monotonic() + 10
        samples: dict[str, float] = {}
        key = 'stripe_sources_task_duration_seconds_count{task="core.heartbeat"}'
        while time.monotonic() < deadline and not samples.get(key):
            time.sleep(0.1)
            samples = parse(metrics.render())
        assert samples.get(key) == 1
        assert samples['stripe_sources_tasks_total{state="SUCCESS",task="core.heartbeat"}'] == 1
    finally:
        delete_prefixed(prefixes)
