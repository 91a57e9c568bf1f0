"""A provisioning step that meets a passing AEP error is retried by Celery with a countdown: the
task goes back to the queue instead of sleeping in its worker slot, each step keeps its own
ONBOARDING_STEP_RETRIES, Retry-After is honoured, and no retry leaves a duplicate in AEP."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from unittest.mock import patch

from celery.app.trace import build_tracer
from django.test import override_settings
from django.utils import timezone

from aep.errors import AEPTimeout, RateLimitError, ServerError
from config import queues
from config.celery import app
from onboarding import tasks
from onboarding.models import Draft, ProvisioningStep
from onboarding.provisioning import MAX_RETRY_WAIT_SECONDS, claim, create_steps
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.driver import run_with_retries
from tests.onboarding.factories import ready_draft
from tests.onboarding.fakes import FakeAEP

Status = Draft.Status


class RetriesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox())
        self.fake = FakeAEP()
        patcher = patch("onboarding.tasks.client_for", return_value=self.fake)
        patcher.start()
        self.addCleanup(patcher.stop)

    def new_attempt(self) -> tuple[str, int]:
        self.draft.refresh_from_db()
        if not self.draft.steps.exists():
            create_steps(self.draft)
        self.draft.status = Status.PROVISIONING
        self.draft.attempt += 1
        self.draft.heartbeat = None
        self.draft.save()
        return str(self.draft.pk), self.draft.attempt

    def provision(self) -> list[float]:
        """Provision a new attempt, retries included; the countdown of each retry."""
        with patch("time.sleep") as slept:
            countdowns = run_with_retries(*self.new_attempt())
        assert not slept.called, "a retry must not sleep in its worker slot"
        self.draft.refresh_from_db()
        return countdowns

    def step(self, kind: str, path: str = "charges") -> ProvisioningStep:
        return self.draft.steps.get(kind=kind, resource_path=path)


class CountdownTestCase(RetriesTestCase):
    @override_settings(ONBOARDING_STEP_RETRIES=2)
    def test_retry_after_is_the_countdown(self):
        self.fake.fail("create_flow", RateLimitError("slow down", 429, retry_after=7), count=2)
        assert self.provision() == [7.0, 7.0]
        assert self.draft.status == Status.DONE
        assert self.fake.count("flow") == 2  # one per resource
        assert self.step("flow").attempts == 3

    @override_settings(ONBOARDING_STEP_RETRIES=2)
    def test_without_a_hint_the_countdown_doubles_with_each_try(self):
        self.fake.fail("create_dataset", ServerError("Internal error", 500), count=2)
        assert self.provision() == [2.0, 4.0]
        assert self.draft.status == Status.DONE

    @override_settings(ONBOARDING_STEP_RETRIES=1)
    def test_a_hint_beyond_the_cap_waits_the_cap(self):
        self.fake.fail("create_schema", RateLimitError("slow down", 429, retry_after=3600))
        assert self.provision() == [float(MAX_RETRY_WAIT_SECONDS)]
        assert self.draft.status == Status.DONE

    def test_the_cap_leaves_time_to_take_the_retry_before_a_draft_reads_as_stalled(self):
        from onboarding.models import stale_after

        assert stale_after().total_seconds() / 2 >= MAX_RETRY_WAIT_SECONDS


class BudgetTestCase(RetriesTestCase):
    @override_settings(ONBOARDING_STEP_RETRIES=1)
    def test_each_step_has_its_own_retries(self):
        self.fake.fail("create_source_connection", ServerError("Internal error", 500))
        self.fake.fail("create_flow", ServerError("Internal error", 500))
        assert len(self.provision()) == 2
        assert self.draft.status == Status.DONE

    @override_settings(ONBOARDING_STEP_RETRIES=2)
    def test_after_its_retries_the_step_fails_in_plain_words_and_retry_resumes(self):
        self.fake.fail("create_flow", ServerError("Internal error", 500), count=3)
        assert len(self.provision()) == 2
        assert self.draft.status == Status.FAILED
        assert self.draft.heartbeat is None
        failed = self.step("flow")
        assert failed.status == ProvisioningStep.Status.FAILED
        assert "press Retry" in failed.error
        self.provision()  # what the Retry button does
        assert self.draft.status == Status.DONE
        assert self.fake.count("flow") == 2

    @override_settings(ONBOARDING_STEP_RETRIES=0)
    def test_zero_retries_fails_at_the_first_error(self):
        self.fake.fail("create_flow", RateLimitError("slow down", 429, retry_after=1))
        assert self.provision() == []
        assert self.draft.status == Status.FAILED

    @override_settings(ONBOARDING_STEP_RETRIES=1)
    def test_a_timeout_after_aep_acted_is_retried_without_a_duplicate(self):
        for method in ("create_class", "create_source_connection", "create_field_group",
                       "create_schema", "create_dataset", "create_target_connection",
                       "create_mapping_set", "create_flow"):  # fmt: skip
            self.fake.fail(method, AEPTimeout("read timed out"), after=True)
        assert len(self.provision()) == 8
        assert self.draft.status == Status.DONE
        assert self.fake.count("class") == 1
        for kind in ("source", "fieldgroup", "schema", "dataset", "target", "mapping", "flow"):
            assert self.fake.count(kind) == 2, kind


def deliver(args, kwargs=None) -> str:
    """One delivery of the provision task, run as a worker runs it (not eagerly): a retry is
    published to the broker (captured by the caller's patch) and the task returns. The task's
    end state."""
    task = tasks.provision._get_current_object()
    tracer = build_tracer(task.name, task, app=app, eager=False, propagate=False)
    task_id = str(uuid.uuid4())
    request = {
        "id": task_id,
        "delivery_info": {"exchange": "", "routing_key": queues.broker_name(queues.INTERACTIVE)},
    }
    outcome = tracer(task_id, list(args), dict(kwargs or {}), request)
    return outcome.info.state if outcome.info else "SUCCESS"


class WorkerRetryTestCase(RetriesTestCase):
    @override_settings(ONBOARDING_STEP_RETRIES=1)
    def test_the_retry_goes_back_to_the_interactive_queue_with_a_countdown(self):
        self.fake.fail("create_flow", RateLimitError("slow down", 429, retry_after=9))
        args = self.new_attempt()
        sent_at = timezone.now()
        with patch.object(app.amqp, "send_task_message") as sent, patch("time.sleep") as slept:
            assert deliver(args) == "RETRY"
        assert not slept.called
        (message,) = sent.call_args_list
        assert message.args[1] == "onboarding.provision"
        assert message.kwargs["queue"].name == queues.broker_name(queues.INTERACTIVE)
        headers = message.args[2].headers
        eta = datetime.fromisoformat(headers["eta"])
        assert timedelta(seconds=8) < eta - sent_at < timedelta(seconds=11)
        retry_args, retry_kwargs, _embed = message.args[2].body
        flow_step = self.step("flow")
        assert retry_kwargs["retry_step"] == flow_step.pk
        assert retry_kwargs["retries_used"] == 1

        # While it waits, the draft is still being created, not stalled, and the step is
        # counted as tried, so the retry first looks for what the call may have created.
        self.draft.refresh_from_db()
        assert self.draft.status == Status.PROVISIONING
        assert not self.draft.is_stale
        assert self.draft.heartbeat.isoformat() == retry_kwargs["held_since"]
        assert flow_step.status == ProvisioningStep.Status.RUNNING
        assert flow_step.attempts == 1

        assert deliver(retry_args, retry_kwargs) == "SUCCESS"
        self.draft.refresh_from_db()
        assert self.draft.status == Status.DONE
        assert self.fake.count("flow") == 2

    @override_settings(ONBOARDING_STEP_RETRIES=1)
    def test_only_one_delivery_of_a_retry_takes_the_attempt(self):
        self.fake.fail("create_flow", ServerError("Internal error", 500))
        draft_pk, attempt = self.new_attempt()
        with patch.object(app.amqp, "send_task_message") as sent:
            deliver((draft_pk, attempt))
        _args, retry_kwargs, _embed = sent.call_args.args[2].body
        held = datetime.fromisoformat(retry_kwargs["held_since"])
        assert not claim(draft_pk, attempt), "the attempt is held for its retry"
        assert claim(draft_pk, attempt, held)
        assert not claim(draft_pk, attempt, held), "the same message delivered twice"

    @override_settings(ONBOARDING_STEP_RETRIES=1)
    def test_a_retry_leaves_a_newer_attempt_alone(self):
        self.fake.fail("create_flow", ServerError("Internal error", 500))
        with patch.object(app.amqp, "send_task_message") as sent:
            deliver(self.new_attempt())
        retry_args, retry_kwargs, _embed = sent.call_args.args[2].body
        # Retry pressed after the draft went stale starts a newer attempt.
        self.new_attempt()
        calls = len(self.fake.calls)
        assert deliver(retry_args, retry_kwargs) == "SUCCESS"
        assert len(self.fake.calls) == calls
