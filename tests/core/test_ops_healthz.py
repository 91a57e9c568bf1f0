"""/healthz: database, Redis, worker heartbeat and beat tick, each with status and age."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from celery import signals
from django.db import OperationalError
from django.test import TestCase, override_settings

from core import health, tasks
from emulators.process import free_port
from tests.core.ops_testkit import delete_prefixed, unique_prefixes


class HealthzTestCase(TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.prefixes = unique_prefixes()
        override = override_settings(**self.prefixes, HEARTBEAT_SECONDS=30)
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(delete_prefixed, self.prefixes)

    def get(self):
        r = self.client.get("/healthz")
        assert r["Content-Type"] == "application/json"
        return r, r.json()

    def test_all_alive_is_200_with_each_part(self):
        health.beat("worker", at=time.time() - 5)
        health.beat("beat")
        r, body = self.get()
        assert r.status_code == 200
        assert body["status"] == "ok"
        checks = body["checks"]
        assert {name: c["status"] for name, c in checks.items()} == {
            "database": "ok",
            "redis": "ok",
            "worker": "ok",
            "beat": "ok",
        }
        assert 4.5 < checks["worker"]["age_seconds"] < 10
        assert checks["beat"]["age_seconds"] < 5
        assert checks["database"]["age_seconds"] == 0
        assert r["Cache-Control"].startswith("max-age=0")

    def test_no_heartbeat_yet_is_503(self):
        health.beat("beat")
        r, body = self.get()
        assert r.status_code == 503
        assert body["status"] == "failing"
        assert body["checks"]["worker"] == {
            "status": "failing",
            "age_seconds": None,
            "detail": "no heartbeat yet",
        }
        assert body["checks"]["beat"]["status"] == "ok"

    def test_heartbeat_older_than_two_periods_is_503(self):
        health.beat("worker", at=time.time() - 61)
        health.beat("beat", at=time.time() - 59)
        r, body = self.get()
        assert r.status_code == 503
        assert body["checks"]["worker"]["status"] == "failing"
        assert body["checks"]["worker"]["age_seconds"] >= 61
        assert body["checks"]["beat"]["status"] == "ok"

    def test_redis_down_is_503_and_reveals_no_address(self):
        port = free_port()
        url = f"redis://:hunter2-password@127.0.0.1:{port}/0"
        with override_settings(REDIS_URL=url), self.assertLogs("core.health", "ERROR"):
            r, body = self.get()
        assert r.status_code == 503
        assert body["checks"]["redis"] == {
            "status": "failing",
            "age_seconds": None,
            "detail": "unreachable",
        }
        assert body["checks"]["worker"]["status"] == "unknown"
        assert body["checks"]["database"]["status"] == "ok"
        text = r.content.decode()
        assert str(port) not in text
        assert "hunter2" not in text

    def test_database_down_is_503(self):
        health.beat("worker")
        health.beat("beat")
        broken = mock.patch.object(
            health.connection, "cursor", side_effect=OperationalError("db host 10.0.0.5 down")
        )
        with broken, self.assertLogs("core.health", "ERROR"):
            r, body = self.get()
        assert r.status_code == 503
        assert body["checks"]["database"]["status"] == "failing"
        assert "10.0.0.5" not in r.content.decode()

    def test_a_connection_closed_under_us_is_retried_before_calling_the_database_down(self):
        health.beat("worker")
        health.beat("beat")
        real_cursor = health.connection.cursor
        calls = iter([OperationalError("the connection is closed")])

        def cursor_once_broken(*args, **kwargs):
            for error in calls:
                raise error
            return real_cursor(*args, **kwargs)

        with mock.patch.object(health.connection, "cursor", side_effect=cursor_once_broken):
            r, body = self.get()
        assert r.status_code == 200, body
        assert body["checks"]["database"]["status"] == "ok"

    def test_only_beat_records_beat_ticks(self):
        def publish():
            signals.before_task_publish.send(sender="core.heartbeat", headers={}, body=())

        publish()
        assert health.last_beat("beat") is None
        signals.beat_init.send(sender=None)
        try:
            first = health.last_beat("beat")
            assert first is not None
            time.sleep(0.01)
            publish()
            assert health.last_beat("beat") > first
        finally:
            tasks.leave_beat_mode()

    def test_heartbeat_schedule_entries(self):
        from django.conf import settings

        from config.queues import QUEUES

        for queue in QUEUES:
            entry = settings.CELERY_BEAT_SCHEDULE[f"core.heartbeat.{queue}"]
            assert entry["task"] == "core.heartbeat"
            assert entry["args"] == (queue,)
            assert entry["schedule"] == settings.HEARTBEAT_SECONDS


PERIOD = 1.0


def poll(client, status: int, timeout: float) -> tuple[float, dict]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/healthz")
        if r.status_code == status or time.monotonic() > deadline:
            assert r.status_code == status, r.json()
            return time.monotonic(), r.json()
        time.sleep(0.1)


@pytest.mark.integration
# Not inside a test transaction: starting a Celery worker closes the calling thread's database
# connection (Celery's Django fixup), which a transaction would not survive on PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_turns_healthz_503_within_two_periods(client, settings):
    """Real beat (embedded thread) and a real worker on the real Redis broker."""
    from celery.beat import Scheduler, _Threaded
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    class HeartbeatOnly(Scheduler):
        def setup_schedule(self):
            self.merge_inplace(
                {
                    "core.heartbeat": {
                        "task": "core.heartbeat",
                        "schedule": PERIOD,
                        "options": {"expires": PERIOD},
                    }
                }
            )

    prefixes = unique_prefixes()
    for name, value in prefixes.items():
        setattr(settings, name, value)
    settings.HEARTBEAT_SECONDS = PERIOD
    beat = _Threaded(app, max_interval=0.2, scheduler_cls=HeartbeatOnly, remote_control=False)
    beat.start()
    try:
        with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False):
            _, body = poll(client, 200, timeout=15)
            assert body["checks"]["worker"]["age_seconds"] <= 2 * PERIOD
        stopped = time.monotonic()
        failed_at, body = poll(client, 503, timeout=4 * PERIOD)
        assert failed_at - stopped <= 2 * PERIOD + 0.5
        assert body["checks"]["worker"]["status"] == "failing"
        assert body["checks"]["beat"]["status"] == "ok"
        assert body["checks"]["redis"]["status"] == "ok"
    finally:
        beat.stop()
        tasks.leave_beat_mode()
        delete_prefixed(prefixes)
