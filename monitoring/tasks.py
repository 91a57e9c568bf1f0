"""Background work for monitoring; every AEP call happens here, never in a view.

Task bodies stay thin: the logic lives in sync.py, discovery.py, scheduler.py, alerts.py and
reconcile.py, which tests call directly.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext as _

from aep import RateLimitError
from aep.payloads import STRIPE_CONNECTION_SPEC_ID
from core.jobs import perform
from core.models import Job
from monitoring import (
    alerts,
    drift,
    readiness,
    reconcile,
    rejected_records,
    scheduler,
    sync,
    throttle,
)
from monitoring.clients import client_for, pooled_client_for
from monitoring.discovery import discover
from monitoring.models import Dataflow, Sandbox

logger = logging.getLogger(__name__)


@shared_task(name="monitoring.check_sandbox_connection")
def check_sandbox_connection(job_id: str) -> None:
    perform(job_id, _check_sandbox_connection)


def _check_sandbox_connection(job: Job) -> dict:
    """Fetch an IMS token, read the Stripe connection spec and the tenant id."""
    sandbox = Sandbox.objects.get(pk=job.target.removeprefix("sandbox:"))
    client = client_for(sandbox)
    spec = client.flowservice.get_connection_spec(STRIPE_CONNECTION_SPEC_ID)
    tenant_id = client.schemas.get_stats().tenant_id
    Sandbox.objects.filter(pk=sandbox.pk).update(tenant_id=tenant_id)
    summary = _(
        "Connected to sandbox “%(sandbox)s” (tenant %(tenant)s); the Stripe source (%(spec)s) is "
        "available."
    ) % {"sandbox": sandbox.sandbox_name, "tenant": tenant_id, "spec": spec.name}
    return {"summary": summary, "connection_spec": spec.name, "tenant_id": tenant_id}


@shared_task(name="monitoring.check_sandbox_readiness")
def check_sandbox_readiness(job_id: str, write: bool = False) -> None:
    """Every kind of call the product makes, once; the report goes on the Job."""
    perform(job_id, lambda job: readiness.run_job(job, write))


@shared_task(name="monitoring.fetch_rejected_records")
def fetch_rejected_records(job_id: str) -> None:
    """A sample of the records AEP rejected in a run, for the run page."""
    perform(job_id, rejected_records.fetch)


# -- polling --------------------------------------------------------------------------------


@shared_task(name="monitoring.schedule_syncs", ignore_result=True)
def schedule_syncs() -> int:
    """Beat, every tick: flag late flows and dispatch the syncs that are due."""
    return scheduler.tick(_dispatch_sync, deliver_later)


def _dispatch_sync(dataflow_pks: list[int], countdown: float) -> None:
    sync_dataflows.apply_async((dataflow_pks,), countdown=countdown)


# Idempotent (an upsert on run ids), so a message lost with a dying worker may be redelivered.
@shared_task(name="monitoring.sync_dataflows", acks_late=True, ignore_result=True)
def sync_dataflows(dataflow_pks: list[int]) -> dict[str, int]:
    """A batch of flows of one sandbox (scheduler.tick), polled with one runs listing."""
    outcomes = sync.run_syncs(dataflow_pks, pooled_client_for)
    counts: dict[str, int] = {}
    for pk, outcome in outcomes.items():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        result = outcome.result if outcome.status == "synced" else None
        if result is not None and (outcome.health_changed or result.changed):
            alerts.evaluate(Dataflow.objects.get(pk=pk), deliver_later)
    return counts


@shared_task(name="monitoring.sync_dataflow", acks_late=True, ignore_result=True)
def sync_dataflow(dataflow_pk: int) -> str:
    """One flow (messages sent before syncs were batched, and tests)."""
    counts = sync_dataflows([dataflow_pk])
    return next(iter(counts))


@shared_task(name="monitoring.discover_flows", ignore_result=True)
def discover_flows() -> None:
    """Beat: look for Stripe flows created or deleted outside the dashboard, per sandbox."""
    for pk in Sandbox.objects.values_list("pk", flat=True):
        discover_sandbox_flows.delay(pk)


@shared_task(name="monitoring.discover_sandbox_flows", acks_late=True, ignore_result=True)
def discover_sandbox_flows(sandbox_pk: int) -> dict:
    sandbox = Sandbox.objects.get(pk=sandbox_pk)
    try:
        result = discover(sandbox, pooled_client_for(sandbox))
    except RateLimitError as exc:
        # Same as the syncs: slow the whole poller down; the next discovery tick tries again.
        throttle.slow_down(exc.retry_after, sandbox_pk)
        return {"throttled": True}
    changed = result.updated + result.deleted
    if changed:
        alerts.evaluate_many(changed, deliver_later)
    return {"found": result.found, "created": len(result.created), "deleted": len(result.deleted)}


@shared_task(name="monitoring.housekeeping", ignore_result=True)
def housekeeping() -> int:
    return scheduler.housekeeping()


# -- alerts and reconciliation --------------------------------------------------------------


@shared_task(name="monitoring.deliver_alert", bind=True, max_retries=None, ignore_result=True)
def deliver_alert(self, delivery_pk: int) -> None:
    retry_in = alerts.deliver(delivery_pk)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


def deliver_later(delivery_pk: int) -> None:
    """alerts.Deliver: send one alert delivery to the workers once the transaction commits."""
    # Celery's Django fixup makes every task a DjangoTask; its stubs know a plain Task only.
    deliver_alert.delay_on_commit(delivery_pk)  # type: ignore[attr-defined]


@shared_task(name="monitoring.reconcile_dataflow")
def reconcile_dataflow(job_id: str) -> None:
    perform(job_id, reconcile.run_job, explain=reconcile.explain_failure)


# -- schema drift ---------------------------------------------------------------------------


@shared_task(name="monitoring.schedule_drift_checks", ignore_result=True)
def schedule_drift_checks() -> int:
    """Beat: dispatch the daily schema-drift check of each active flow that is due."""
    return drift.schedule_checks(_dispatch_drift_check)


def _dispatch_drift_check(dataflow_pk: int, countdown: float) -> None:
    check_schema_drift.apply_async((dataflow_pk,), countdown=countdown)


# Idempotent (it overwrites the flow's latest result), so a redelivered message is harmless.
@shared_task(name="monitoring.check_schema_drift", acks_late=True, ignore_result=True)
def check_schema_drift(dataflow_pk: int) -> str:
    return drift.check_in_background(dataflow_pk, pooled_client_for, deliver_later)


@shared_task(name="monitoring.check_schema_drift_now")
def check_schema_drift_now(job_id: str) -> None:
    perform(job_id, lambda job: drift.check_for_job(job, client_for, deliver_later))
