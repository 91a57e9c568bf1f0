"""Background work for monitoring; every AEP call happens here, never in a view."""

from __future__ import annotations

from celery import shared_task

from core.jobs import perform
from core.models import Job
from monitoring.aep import client_for
from monitoring.models import Sandbox

STRIPE_CONNECTION_SPEC_ID = "cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3"


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
    return {"connection_spec": spec.name, "tenant_id": tenant_id}
