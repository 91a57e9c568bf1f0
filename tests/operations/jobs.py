"""An operation's jobs: queued as a view queues them, and run in this process as the worker
runs them."""

from __future__ import annotations

from core.jobs import start_job
from operations.models import Operation
from operations.tasks import execute_operation, preview_operation


def queue(operation: Operation, task) -> str:
    """A job for `operation` as the view would create it; returns the job id."""
    job = start_job(
        operation.kind, f"operation:{operation.pk}", operation.actor, task, str(operation.pk)
    )
    operation.job = job
    operation.save(update_fields=["job"])
    return str(job.pk)


def run_next_job(operation: Operation) -> Operation:
    """Run the operation's next job in this process, as the worker would."""
    task = (
        preview_operation if operation.status == Operation.Status.PREVIEWING else execute_operation
    )
    job_id = queue(operation, task)
    task(job_id, str(operation.pk))
    operation.refresh_from_db()
    return operation
