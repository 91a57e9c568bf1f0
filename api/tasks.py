"""The API's AEP work, done by the worker: a dataflow's plan read from AEP, a plan applied."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model

from core.jobs import perform
from core.models import Job
from monitoring.clients import client_for
from monitoring.models import Dataflow, Sandbox
from operations.plans import ApplyOptions, apply_plan, export_plan, mirror_applied, resolved_steps

EXPORT_PLAN = "api.export_plan"
APPLY_PLAN = "api.apply_plan"


@shared_task(name=EXPORT_PLAN)
def export_dataflow_plan(job_id: str) -> None:
    def work(job: Job) -> dict[str, Any]:
        dataflow = Dataflow.objects.select_related("sandbox").get(
            pk=job.target.removeprefix("dataflow:")
        )
        return {"plan": export_plan(client_for(dataflow.sandbox), dataflow)}

    perform(job_id, work)


@shared_task(name=APPLY_PLAN)
def apply_dataflow_plan(job_id: str, request: dict[str, Any]) -> None:
    def work(job: Job) -> dict[str, Any]:
        sandbox = Sandbox.objects.get(pk=request["sandbox"])
        actor = get_user_model().objects.get(pk=request["actor"])
        options = ApplyOptions(**request["options"])
        steps = resolved_steps(request["plan"], options)
        ids = apply_plan(
            client_for(sandbox),
            sandbox,
            steps,
            options,
            actor=actor,
            reason=request["reason"],
            ticket=request["ticket"],
            say=lambda _line: None,
            via=request["via"],
        )
        dataflow = mirror_applied(sandbox, request["plan"], steps, ids, actor)
        return {"dataflow": dataflow.pk, "ids": ids}

    perform(job_id, work)
