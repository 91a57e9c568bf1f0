"""Start background jobs from views; run them in workers, recording the outcome on the Job row."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aep.errors import AEPError
from core.explain import Explanation, explain_failure
from core.metrics import record_aep_error
from core.models import Job

logger = logging.getLogger(__name__)


def start_job(kind: str, target: str, user, task, *args) -> Job:
    """Create the Job row and enqueue `task(job_id, *args)` once the transaction commits."""
    job = Job.objects.create(kind=kind, target=target, created_by=user)
    task.delay_on_commit(str(job.pk), *args)
    return job


def latest_job(kind: str, target: str) -> Job | None:
    return Job.objects.filter(kind=kind, target=target).order_by("-created").first()


def perform(
    job_id: str,
    work: Callable[[Job], dict],
    explain: Callable[[Exception], Explanation] = explain_failure,
) -> Job | None:
    """Claim the job, run `work`, and record success or a plain-language failure.

    `explain` puts a failure into words; the default keeps the words of an ExplainedError,
    explains AEP's errors and says "something went wrong" of anything else. Every AEP error is
    counted on /metrics and logged with AEP's request id; an unexpected failure is logged with
    its traceback.

    Returns None when the job was already claimed by another worker (a redelivered message).
    """
    job = Job.objects.get(pk=job_id)
    if not job.claim():
        return None
    try:
        result = work(job)
    except Exception as exc:
        explanation = explain(exc)
        _log_failure(job, exc, explanation)
        job.fail(explanation.message, code=explanation.code, request_id=explanation.request_id)
    else:
        job.succeed(result)
    return job


def _log_failure(job: Job, exc: Exception, explanation: Explanation) -> None:
    if isinstance(exc, AEPError):
        record_aep_error(exc.code)
        logger.warning(
            "job %s (%s) failed: AEP error %s (HTTP %s)",
            job.pk,
            job.kind,
            exc.code or "-",
            exc.status_code or "-",
            extra={"aep_request_id": exc.request_id or "", "aep_error_code": exc.code or ""},
        )
    elif explanation.unexpected:
        logger.exception("job %s (%s) failed unexpectedly", job.pk, job.kind)
