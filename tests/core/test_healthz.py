"""Health probes: /healthz/live (the process), /healthz/ready and its alias /healthz (database
and Redis, for load balancers), /healthz/background (beat's tick, each queue's workers and
depth, for alerting); each check with its state and age."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from celery import signals
from cryptography.fernet import Fernet
from django.db import OperationalError
from django.test import TestCase, override_settings

from config import queues
from core import healthz, tasks
from emulators.process import free_port
from tests.base import make_sandbox
from tests.core.redis_keys import delete_prefixed, unique_prefixes


def all_alive(worker_age: float = 0.0) -> None:
    healthz.beat("beat")
    for queue in queues.QUEUES:
        healthz.beat(healthz.worker_component(queue), at=time.time() - worker_age)


def database_down():
    return mock.patch.object(
        healthz.connection, "cursor", side_effect=OperationalError("db host 10.0.0.5 down")
    )


def redis_down():
    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    return override_settings(REDIS_URL=url, CELERY_BROKER_URL=url)


class HealthzTestCase(TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.prefixes = unique_prefixes()
        override = override_settings(**self.prefixes, HEARTBEAT_SECONDS=30)
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(delete_prefixed, self.prefixes)

    def get(self, path: str):
        r = self.client.get(path)
        assert r["Content-Type"] == "application/json"
        assert r["Cache-Control"].startswith("max-age=0")
        return r, r.json()


class LiveTestCase(HealthzTestCase):
    def test_live_is_200_even_with_the_database_and_redis_down(self):
        with database_down() as cursor, redis_down():
            r, body = self.get("/healthz/live")
        assert r.status_code == 200
        assert body == {"status": "ok"}
        assert not cursor.called


class ReadyTestCase(HealthzTestCase):
    def test_database_and_redis_up_is_200_with_each_part(self):
        r, body = self.get("/healthz/ready")
        assert r.status_code == 200
        assert body == {
            "status": "ok",
            "checks": {
                "database": {"status": "ok", "age_seconds": 0.0},
                "redis": {"status": "ok", "age_seconds": 0.0},
            },
        }

    def test_healthz_is_ready(self):
        assert self.get("/healthz")[1] == self.get("/healthz/ready")[1]
        with database_down(), self.assertLogs("core.healthz", "ERROR"):
            assert self.client.get("/healthz").status_code == 503

    def test_beat_and_workers_stopped_leave_ready_at_200_and_background_at_503(self):
        # No heartbeat of anything: nothing runs in the background.
        r, _body = self.get("/healthz/ready")
        assert r.status_code == 200
        r, body = self.get("/healthz/background")
        assert r.status_code == 503
        assert body["checks"]["beat"]["status"] == "failing"
        assert body["checks"]["worker:interactive"]["status"] == "failing"

    def test_database_down_is_503_and_reveals_no_address(self):
        with database_down(), self.assertLogs("core.healthz", "ERROR"):
            r, body = self.get("/healthz/ready")
        assert r.status_code == 503
        assert body["status"] == "failing"
        assert body["checks"]["database"] == {
            "status": "failing",
            "age_seconds": None,
            "detail": "unreachable",
        }
        assert body["checks"]["redis"]["status"] == "ok"
        assert "10.0.0.5" not in r.content.decode()

    def test_redis_down_is_503_and_reveals_no_address(self):
        with redis_down(), self.assertLogs("core.healthz", "ERROR"):
            r, body = self.get("/healthz/ready")
        assert r.status_code == 503
        assert body["checks"]["redis"] == {
            "status": "failing",
            "age_seconds": None,
            "detail": "unreachable",
        }
        assert body["checks"]["database"]["status"] == "ok"
        assert "hunter2" not in r.content.decode()
        assert "127.0.0.1" not in r.content.decode()

    def test_a_connection_closed_under_us_is_retried_before_calling_the_database_down(self):
        real_cursor = healthz.connection.cursor
        calls = iter([OperationalError("the connection is closed")])

        def cursor_once_broken(*args, **kwargs):
            for error in calls:
                raise error
            return real_cursor(*args, **kwargs)

        with mock.patch.object(healthz.connection, "cursor", side_effect=cursor_once_broken):
            r, body = self.get("/healthz/ready")
        assert r.status_code == 200, body
        assert body["checks"]["database"]["status"] == "ok"


class BackgroundTestCase(HealthzTestCase):
    def test_all_alive_is_200_with_each_part_and_the_depth_of_each_queue(self):
        all_alive(worker_age=5)
        r, body = self.get("/healthz/background")
        assert r.status_code == 200
        assert body["status"] == "ok"
        assert body["heartbeat_seconds"] == 30
        checks = body["checks"]
        assert {name: c["status"] for name, c in checks.items()} == {
            "beat": "ok",
            "worker:interactive": "ok",
            "worker:sync": "ok",
            "worker:default": "ok",
            "secrets": "ok",
        }
        assert 4.5 < checks["worker:sync"]["age_seconds"] < 10
        assert checks["beat"]["age_seconds"] < 5
        assert set(body["queue_depth"]) == {"interactive", "sync", "default"}
        assert all(isinstance(n, int) for n in body["queue_depth"].values())

    def test_a_secret_the_current_keys_cannot_read_is_503_with_the_count(self):
        all_alive()
        make_sandbox(client_secret="p8e-written-under-the-old-key")
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            r, body = self.get("/healthz/background")
        assert r.status_code == 503
        assert body["checks"]["secrets"]["status"] == "failing"
        assert body["checks"]["secrets"]["detail"] == (
            "1 stored secret(s) cannot be read with FIELD_ENCRYPTION_KEY"
        )
        assert body["checks"]["beat"]["status"] == "ok"

    def test_a_queue_without_a_heartbeat_for_two_periods_is_503(self):
        all_alive()
        healthz.beat(healthz.worker_component("sync"), at=time.time() - 61)
        r, body = self.get("/healthz/background")
        assert r.status_code == 503
        assert body["checks"]["worker:sync"]["status"] == "failing"
        assert body["checks"]["worker:sync"]["age_seconds"] >= 61
        assert body["checks"]["worker:interactive"]["status"] == "ok"
        assert body["checks"]["beat"]["status"] == "ok"
        assert self.client.get("/healthz/ready").status_code == 200

    def test_no_beat_tick_yet_is_503(self):
        all_alive()
        healthz.app_redis().delete(healthz.heartbeat_key("beat"))
        r, body = self.get("/healthz/background")
        assert r.status_code == 503
        assert body["checks"]["beat"] == {
            "status": "failing",
            "age_seconds": None,
            "detail": "no heartbeat yet",
        }

    def test_queue_depth_counts_the_messages_waiting_in_each_queue(self):
        from monitoring.tasks import housekeeping, sync_dataflow

        # Queues of this test's own, which no worker consumes; removed with its heartbeats.
        prefix = f"{self.prefixes['HEARTBEAT_REDIS_PREFIX']}queue-"
        all_alive()
        with override_settings(TASK_QUEUE_PREFIX=prefix):
            for _ in range(3):
                housekeeping.delay()
            sync_dataflow.apply_async((1,), priority=9)  # kept in a list of its own
            _r, body = self.get("/healthz/background")
        assert body["queue_depth"] == {"interactive": 0, "sync": 1, "default": 3}

    def test_redis_down_is_503_and_reveals_no_address(self):
        all_alive()
        with redis_down(), self.assertLogs("core.healthz", "ERROR"):
            r, body = self.get("/healthz/background")
        assert r.status_code == 503
        assert body["checks"]["beat"] == {
            "status": "unknown",
            "age_seconds": None,
            "detail": "Redis unreachable",
        }
        assert body["queue_depth"] == {"interactive": None, "sync": None, "default": None}
        assert "hunter2" not in r.content.decode()

    def test_the_heartbeat_task_records_its_queue(self):
        tasks.heartbeat("sync")
        assert healthz.last_beat("worker:sync") is not None
        assert healthz.last_beat("worker:interactive") is None
        tasks.heartbeat()  # a beat from before the queues sends no argument
        assert healthz.last_beat("worker:default") is not None

    def test_only_beat_records_beat_ticks(self):
        def publish():
            signals.before_task_publish.send(sender="core.heartbeat", headers={}, body=())

        publish()
        assert healthz.last_beat("beat") is None
        signals.beat_init.send(sender=None)
        try:
            first = healthz.last_beat("beat")
            assert first is not None
            time.sleep(0.01)
            publish()
            assert healthz.last_beat("beat") > first
        finally:
            tasks.leave_beat_mode()

    def test_heartbeat_schedule_entries(self):
        from django.conf import settings

        for queue in queues.QUEUES:
            entry = settings.CELERY_BEAT_SCHEDULE[f"core.heartbeat.{queue}"]
            assert entry["task"] == "core.heartbeat"
            assert entry["args"] == (queue,)
            assert entry["schedule"] == settings.HEARTBEAT_SECONDS


PERIOD = 1.0


def poll(client, until, timeout: float) -> tuple[float, dict]:
    """GET /healthz/background until `until(status code, body)`; when, and the body."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/healthz/background")
        if until(r.status_code, r.json()):
            return time.monotonic(), r.json()
        assert time.monotonic() < deadline, r.json()
        time.sleep(0.1)


def workers_failing(status: int, body: dict) -> bool:
    return all(body["checks"][f"worker:{q}"]["status"] == "failing" for q in queues.QUEUES)


def beat_failing(status: int, body: dict) -> bool:
    return body["checks"]["beat"]["status"] == "failing"


@pytest.mark.integration
# Not inside a test transaction: starting a Celery worker closes the calling thread's database
# connection (Celery's Django fixup), which a transaction would not survive on PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_stopped_workers_then_a_stopped_beat_fail_background_while_ready_stays_200(
    client, settings
):
    """Real beat (embedded thread) and a real worker on the real Redis broker."""
    from celery.beat import Scheduler, _Threaded
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    class HeartbeatsOnly(Scheduler):
        def setup_schedule(self):
            self.merge_inplace(
                {
                    f"core.heartbeat.{queue}": {
                        "task": "core.heartbeat",
                        "schedule": PERIOD,
                        "args": (queue,),
                        "options": {"expires": PERIOD},
                    }
                    for queue in queues.QUEUES
                }
            )

    prefixes = unique_prefixes()
    for name, value in prefixes.items():
        setattr(settings, name, value)
    settings.HEARTBEAT_SECONDS = PERIOD
    beat = _Threaded(app, max_interval=0.2, scheduler_cls=HeartbeatsOnly, remote_control=False)
    beat.start()
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=1,
            perform_ping_check=False,
            queues=queues.broker_names(),
        ):
            _, body = poll(client, lambda status, _body: status == 200, timeout=15)
            assert body["checks"]["worker:interactive"]["age_seconds"] <= 2 * PERIOD
        stopped = time.monotonic()
        failed_at, body = poll(client, workers_failing, timeout=4 * PERIOD)
        assert failed_at - stopped <= 2 * PERIOD + 0.5
        assert body["status"] == "failing"
        assert body["checks"]["beat"]["status"] == "ok"
        assert client.get("/healthz/ready").status_code == 200

        beat.stop()
        tasks.leave_beat_mode()
        stopped = time.monotonic()
        failed_at, _body = poll(client, beat_failing, timeout=4 * PERIOD)
        assert failed_at - stopped <= 2 * PERIOD + 0.5
        r = client.get("/healthz/ready")
        assert r.status_code == 200, r.json()
        assert client.get("/healthz").status_code == 200
    finally:
        beat.stop()
        tasks.leave_beat_mode()
        delete_prefixed(prefixes)
