"""Operations whose worker went away: a person may resume or stop them, beat resumes them a
few times and then fails them with a word to whoever asked, and a worker that comes back
after a resume stops instead of running beside the new one."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import Mock, patch

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from operations import service
from operations.models import STUCK_AFTER, Operation
from operations.runner import Context, Done, run_steps, step
from operations.tasks import OPERATION_TASKS, execute, resume_stuck
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account
from tests.operations.jobs import queue

Status = Operation.Status


class StuckOperationTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sam.email = "sam@example.com"
        self.sam.save()
        self.account = make_account(make_sandbox())
        self.op = service.create(
            Operation.Kind.ACCOUNT_DELETE,
            actor=self.sam,
            account=self.account,
            reason="left",
            steps=[step("work", "Delete a", id="a"), step("work", "Delete b", id="b")],
        )
        self.op.steps[0]["status"] = "done"
        self.stick()

    def stick(self, status: str = Status.RUNNING) -> None:
        """The operation stopped moving longer ago than STUCK_AFTER (its worker died)."""
        long_ago = timezone.now() - STUCK_AFTER - timedelta(minutes=1)
        Operation.objects.filter(pk=self.op.pk).update(
            status=status, steps=self.op.steps, updated=long_ago
        )
        self.op.refresh_from_db()

    def test_a_stuck_operation_can_be_resumed_from_its_page(self):
        assert self.op.is_stuck and self.op.can_resume
        self.client.force_login(self.sam)
        page = self.client.get(f"/ops/operations/{self.op.pk}/")
        self.assertContains(page, "its background worker went away")
        with (
            patch.object(OPERATION_TASKS.execute, "delay_on_commit") as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"/ops/operations/{self.op.pk}/resume/")
        self.op.refresh_from_db()
        assert self.op.status == Status.QUEUED
        sent.assert_called_once()

    def test_a_second_resume_click_is_refused_without_an_error_page(self):
        self.client.force_login(self.sam)
        with patch.object(OPERATION_TASKS.execute, "delay_on_commit") as sent:
            with self.captureOnCommitCallbacks(execute=True):
                self.client.post(f"/ops/operations/{self.op.pk}/resume/")
            stale_copy = Operation.objects.get(pk=self.op.pk)
            stale_copy.status = Status.RUNNING  # what the second click's page still showed
            with self.assertRaises(ValueError):
                service.resume(stale_copy, OPERATION_TASKS)
            again = self.client.post(f"/ops/operations/{self.op.pk}/resume/")
        assert again.status_code == 302
        assert sent.call_count == 1

    def test_a_stuck_operation_can_be_stopped(self):
        self.client.force_login(self.sam)
        self.client.post(f"/ops/operations/{self.op.pk}/cancel/")
        self.op.refresh_from_db()
        assert self.op.status == Status.CANCELLED

    def test_a_moving_operation_is_neither_resumed_nor_stopped(self):
        Operation.objects.filter(pk=self.op.pk).update(updated=timezone.now())
        self.op.refresh_from_db()
        assert not self.op.can_resume
        with self.assertRaises(ValueError):
            service.resume(self.op, OPERATION_TASKS)
        service.cancel(self.op)
        assert self.op.status == Status.RUNNING

    @override_settings(AUTOMATIC_RESUMES=2)
    def test_beat_resumes_a_few_times_then_fails_it_and_tells_the_actor(self):
        with patch.object(OPERATION_TASKS.execute, "delay_on_commit") as sent:
            for expected in (1, 2):
                with self.captureOnCommitCallbacks(execute=True):
                    assert resume_stuck() == 1
                self.op.refresh_from_db()
                assert (self.op.status, self.op.auto_resumes) == (Status.QUEUED, expected)
                self.stick(Status.QUEUED)  # the resumed job was lost too
            assert resume_stuck() == 1
        assert sent.call_count == 2
        self.op.refresh_from_db()
        assert self.op.status == Status.FAILED
        assert "stopped 3 times" in self.op.error
        assert self.op.can_resume  # a person may still resume it
        assert [m.to for m in mail.outbox] == [["sam@example.com"]]
        assert str(self.op.pk) in mail.outbox[0].body

    def test_beat_leaves_moving_operations_alone(self):
        Operation.objects.filter(pk=self.op.pk).update(updated=timezone.now())
        assert resume_stuck() == 0

    def test_a_person_resuming_starts_the_count_again(self):
        Operation.objects.filter(pk=self.op.pk).update(auto_resumes=2)
        with patch.object(OPERATION_TASKS.execute, "delay_on_commit"):
            service.resume(self.op, OPERATION_TASKS)
        self.op.refresh_from_db()
        assert self.op.auto_resumes == 0


class SupersededWorkerTestCase(BaseTestCase):
    """The worker of the first job comes back after the operation was resumed under a new
    job: it does no further step and records nothing over the new attempt."""

    def setUp(self) -> None:
        super().setUp()
        self.op = service.create(
            Operation.Kind.ACCOUNT_DELETE,
            actor=self.sam,
            account=make_account(make_sandbox()),
            steps=[step("work", "Delete a", id="a"), step("work", "Delete b", id="b")],
        )
        self.op.save_fields(status=Status.QUEUED)
        self.old_job = queue(self.op, OPERATION_TASKS.execute)
        self.new_job = queue(self.op, OPERATION_TASKS.execute)
        self.op.refresh_from_db()
        self.calls: list[str] = []

    def handler(self, ctx, current):
        self.calls.append(current["id"])
        return Done()

    def test_the_old_job_runs_no_step(self):
        ctx = Context(self.op, Mock(), Mock(take=Mock(return_value="")), self.old_job)
        run_steps(ctx, {"work": self.handler})
        assert self.calls == []
        self.op.refresh_from_db()
        assert self.op.status != Status.SUCCEEDED

    def test_the_new_job_runs_every_step(self):
        ctx = Context(self.op, Mock(), Mock(take=Mock(return_value="")), self.new_job)
        run_steps(ctx, {"work": self.handler})
        assert self.calls == ["a", "b"]
        self.op.refresh_from_db()
        assert self.op.status == Status.SUCCEEDED

    def test_a_redelivered_old_job_is_skipped(self):
        assert execute(self.op, self.old_job) == {"skipped": "superseded"}
