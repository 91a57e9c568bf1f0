"""One runner for every background job: claim it, run the work, record the outcome in words.

Each kind of job may bring its own `explain`; the runner counts AEP errors, logs failures and
records on the Job what the explanation says.
"""

from __future__ import annotations

import stripe

from aep.errors import AEPTimeout, ServerError
from core import explain
from core.explain import ExplainedError, explain_failure
from core.jobs import perform
from core.models import Job
from monitoring import reconcile
from operations.runner import Conflict, OperationStopped
from tests.base import BaseTestCase

UNEXPECTED = "Something went wrong on our side. Try again; if it keeps failing, tell support."


def failing(exc: Exception):
    def work(job: Job) -> dict:
        raise exc

    return work


class PerformTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.job = Job.objects.create(kind="test.kind", target="x:1", created_by=self.alex)

    def run_job(self, work, **kwargs) -> Job:
        done = perform(str(self.job.pk), work, **kwargs)
        assert done is not None
        done.refresh_from_db()
        return done

    def test_success_records_the_result(self):
        job = self.run_job(lambda job: {"answer": 42})
        assert job.status == Job.Status.SUCCEEDED
        assert job.result == {"answer": 42}

    def test_a_job_claimed_by_another_worker_is_left_alone(self):
        self.job.claim()
        calls = []
        assert perform(str(self.job.pk), lambda job: calls.append(job) or {}) is None
        assert calls == []

    def test_an_aep_error_is_explained_with_its_code_and_request_id(self):
        error = ServerError("boom", status_code=503, request_id="req-7", code="FLOW-503")
        with self.assertLogs("core.jobs", "WARNING") as logs:
            job = self.run_job(failing(error))
        assert job.status == Job.Status.FAILED
        assert job.error.startswith("AEP had an internal error. This is usually temporary")
        assert "Adobe said: “boom”" in job.error
        assert (job.error_code, job.request_id) == ("FLOW-503", "req-7")
        assert "AEP error FLOW-503 (HTTP 503)" in logs.output[0]

    def test_anything_else_is_our_fault_in_plain_words_and_logged_with_its_traceback(self):
        with self.assertLogs("core.jobs", "ERROR") as logs:
            job = self.run_job(failing(KeyError("internal detail")))
        assert job.status == Job.Status.FAILED
        assert job.error == UNEXPECTED
        assert "internal detail" not in job.error
        assert (job.error_code, job.request_id) == ("", "")
        assert "failed unexpectedly" in logs.output[0]
        assert logs.records[0].exc_info is not None

    def test_an_operation_failure_keeps_its_own_words(self):
        stopped = OperationStopped("Your role may not do this.", code="C-1", request_id="r-1")
        with self.assertNoLogs("core.jobs", "WARNING"):
            job = self.run_job(failing(stopped))
        assert (job.error, job.error_code, job.request_id) == (
            "Your role may not do this.",
            "C-1",
            "r-1",
        )
        conflict = Conflict("Someone changed this dataflow in AEP after you opened it.")
        self.job = Job.objects.create(kind="test.kind", target="x:2")
        job = self.run_job(failing(conflict))
        assert job.error == "Someone changed this dataflow in AEP after you opened it."

    def test_a_reconciliation_explains_stripe_errors(self):
        refused = stripe.AuthenticationError("Invalid API Key provided", http_status=401)
        with self.assertNoLogs("core.jobs", "WARNING"):
            job = self.run_job(failing(refused), explain=reconcile.explain_failure)
        assert job.status == Job.Status.FAILED
        assert job.error == explain.explain_stripe_error(refused)
        assert "did not accept the key" in job.error
        assert job.error_code == "401"

    def test_a_reconciliation_keeps_its_own_words_and_is_our_fault_otherwise(self):
        no_key = reconcile.ReconcileError("No Stripe key is stored for this account.")
        job = self.run_job(failing(no_key), explain=reconcile.explain_failure)
        assert job.error == "No Stripe key is stored for this account."
        self.job = Job.objects.create(kind="test.kind", target="x:2")
        with self.assertLogs("core.jobs", "ERROR"):
            job = self.run_job(failing(ValueError("oops")), explain=reconcile.explain_failure)
        assert job.error == UNEXPECTED


def test_explanations_of_each_kind_of_failure():
    timeout = AEPTimeout("slow", request_id="req-1")
    explained = explain_failure(timeout)
    assert explained.message.startswith("AEP did not answer in time.")
    assert (explained.request_id, explained.unexpected) == ("req-1", False)
    assert explain_failure(ExplainedError("Plain.", code="X")) == ("Plain.", "X", "", False)
    assert explain_failure(RuntimeError("x")) == (UNEXPECTED, "", "", True)
