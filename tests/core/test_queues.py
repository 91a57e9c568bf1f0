"""Routing: work a person waits on goes to `interactive`, the poller to `sync`, the rest to
`default`, and the workers started by ./dev run and docker compose consume every queue."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from unittest.mock import patch

from django.conf import settings
from django.test import SimpleTestCase

from config import queues
from config.celery import app
from tests.base import BaseTestCase, make_sandbox

ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = ("core", "monitoring", "onboarding", "operations", "api")
# A page polls the Job or the Draft a task takes first: the person is waiting for it.
WAITED_ON_BY = ("job_id", "draft_pk")
# What beat sends for the monitoring poller (config/settings.py, CELERY_BEAT_SCHEDULE).
POLLER_BEAT_TASKS = {
    "monitoring.schedule_syncs",
    "monitoring.discover_flows",
    "monitoring.schedule_drift_checks",
}


def project_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.split(".")[0] in PROJECT_APPS}


def routed_queue(name: str, args=()) -> str:
    """The broker queue Celery's own router picks for a task sent with no explicit queue."""
    return app.amqp.router.route({}, name, args, {})["queue"].name


def waited_on(task) -> bool:
    parameters = list(inspect.signature(task.run).parameters)
    return bool(parameters) and parameters[0] in WAITED_ON_BY


class RoutingTableTestCase(SimpleTestCase):
    def test_every_task_of_the_project_has_a_queue_in_the_table(self):
        assert set(project_tasks()) == set(queues.TASK_QUEUES)

    def test_every_task_a_person_waits_on_goes_to_interactive_and_nothing_else_does(self):
        tasks = project_tasks()
        waiting = {name for name, task in tasks.items() if waited_on(task)}
        # Spot checks that the derivation finds what the wizard, support and pages start.
        assert {
            "onboarding.probe_stripe_key",
            "onboarding.explore_resources",
            "onboarding.check_mapping",
            "onboarding.list_datasets",
            "onboarding.provision",
            "operations.execute",
            "monitoring.check_sandbox_connection",
            "monitoring.fetch_rejected_records",
            "monitoring.check_schema_drift_now",
        } <= waiting
        interactive = queues.broker_name(queues.INTERACTIVE)
        assert {name: routed_queue(name) for name in waiting} == dict.fromkeys(waiting, interactive)
        others = {name for name in tasks if routed_queue(name) == interactive}
        assert others == waiting

    def test_the_poller_goes_to_sync(self):
        beat_tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
        assert beat_tasks >= POLLER_BEAT_TASKS
        for name in POLLER_BEAT_TASKS:
            assert routed_queue(name) == queues.broker_name(queues.SYNC), name

    def test_the_rest_goes_to_default(self):
        default = queues.broker_name(queues.DEFAULT)
        for name in ("monitoring.deliver_alert", "monitoring.housekeeping", "celery.ping"):
            assert routed_queue(name) == default, name

    def test_beat_sends_a_heartbeat_into_each_queue(self):
        entries = [
            e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "core.heartbeat"
        ]
        sent_to = {routed_queue("core.heartbeat", tuple(e["args"])) for e in entries}
        assert sent_to == set(queues.broker_names())
        assert routed_queue("core.heartbeat", ("no-such-queue",)) == queues.broker_name("default")

    def test_an_explicit_queue_still_wins(self):
        options = app.amqp.router.route({"queue": "elsewhere"}, "monitoring.sync_dataflow", (), {})
        assert options["queue"].name == "elsewhere"

    def test_tests_have_queues_of_their_own(self):
        # A developer's running worker consumes `interactive`, `sync` and `default`; the tests'
        # tasks must never land there.
        assert settings.TASK_QUEUE_PREFIX.startswith("stripe-sources-test-")
        assert all(name.startswith(settings.TASK_QUEUE_PREFIX) for name in queues.broker_names())
        assert queues.broker_name(queues.DEFAULT) == settings.CELERY_TASK_DEFAULT_QUEUE
        assert app.conf.task_default_queue == settings.CELERY_TASK_DEFAULT_QUEUE


class FanOutTestCase(BaseTestCase):
    """What the poller's beat tasks send, through apply_async and the router, goes to sync."""

    def test_syncs_discoveries_and_drift_checks_they_dispatch_go_to_sync(self):
        from monitoring import tasks

        make_sandbox()
        with patch.object(app.amqp, "send_task_message") as sent:
            tasks._dispatch_sync([1, 2], 5.0)
            tasks._dispatch_drift_check(1, 5.0)
            tasks.discover_flows()
        routed = {(c.args[1], c.kwargs["queue"].name) for c in sent.call_args_list}
        sync = queues.broker_name(queues.SYNC)
        assert routed == {
            ("monitoring.sync_dataflows", sync),
            ("monitoring.check_schema_drift", sync),
            ("monitoring.discover_sandbox_flows", sync),
        }


def consumed_queues(text: str) -> list[set[str]]:
    """The queues of each `celery worker -Q a,b` command in a file."""
    return [set(m.split(",")) for m in re.findall(r"celery -A config worker\b.*?-Q (\S+)", text)]


class WorkersTestCase(SimpleTestCase):
    def assert_interactive_has_workers_of_its_own(self, workers: list[set[str]]) -> None:
        assert set().union(*workers) == set(queues.QUEUES), workers
        assert {queues.INTERACTIVE} in workers, workers
        assert all(queues.INTERACTIVE not in w for w in workers if w != {queues.INTERACTIVE})

    def test_docker_compose(self):
        self.assert_interactive_has_workers_of_its_own(
            consumed_queues((ROOT / "docker-compose.yml").read_text())
        )

    def test_dev_run(self):
        self.assert_interactive_has_workers_of_its_own(
            consumed_queues((ROOT / "scripts" / "dev.py").read_text())
        )
