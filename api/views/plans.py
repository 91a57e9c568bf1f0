"""Plans over the API: a dataflow's JSON plan, read from AEP by the worker, and applying one."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.access import require_operate, via
from api.problems import Conflict, Invalid
from api.serializers import JobSerializer, PlanApplyInput
from api.tasks import APPLY_PLAN, EXPORT_PLAN, apply_dataflow_plan, export_dataflow_plan
from api.views.shared import dataflow_or_404, object_or_404, problems
from core.jobs import latest_job, start_job
from core.models import Job
from monitoring.models import Sandbox
from operations.plans import ApplyOptions, PlanError, resolved_steps

# A plan read this recently is answered again; an older one is read afresh.
PLAN_KEPT_FOR = timedelta(minutes=5)
# A failed read is reported for this long before the next call tries again.
FAILURE_SHOWN_FOR = timedelta(minutes=1)


def _job_started(job: Job) -> Response:
    return Response(
        JobSerializer(job).data, status=202, headers={"Location": f"/api/v1/jobs/{job.pk}"}
    )


@extend_schema(
    summary="A dataflow's JSON plan (every AEP payload to build it again, no secrets)",
    description="The worker reads the plan from AEP: the first call answers 202 with the job; "
    "call again (or poll the job) until this answers 200 with the plan.",
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="the plan"),
        202: JobSerializer,
        **problems(403, 404, 409),
    },
)
@api_view(["GET"])
def dataflow_plan(request, pk: int):
    require_operate(request)
    dataflow = dataflow_or_404(pk)
    target = f"dataflow:{dataflow.pk}"
    job = latest_job(EXPORT_PLAN, target)
    if job is not None and not job.is_done:
        return _job_started(job)
    age = timezone.now() - job.finished if job is not None and job.finished else None
    if job is not None and age is not None and age < PLAN_KEPT_FOR:
        if job.status == Job.Status.SUCCEEDED:
            return Response(job.result.get("plan", {}))
        if age < FAILURE_SHOWN_FOR:
            raise Conflict(_("Reading the plan failed: %(error)s") % {"error": job.error})
    return _job_started(start_job(EXPORT_PLAN, target, request.user, export_dataflow_plan))


@extend_schema(
    summary="Apply a JSON plan to a sandbox",
    description="With dry_run=true (the default) nothing is created: the answer lists every "
    "request the plan would send. With dry_run=false the worker creates the objects (202, "
    "the job). The Stripe key never travels in a plan: give `connection_id`, an account of "
    "the target sandbox to reuse.",
    parameters=[OpenApiParameter("dry_run", OpenApiTypes.BOOL, default=True)],
    request=PlanApplyInput,
    responses={
        200: inline_serializer(
            "PlanDryRun",
            {
                "dry_run": serializers.BooleanField(),
                "steps": serializers.ListField(child=serializers.DictField()),
            },
        ),
        202: JobSerializer,
        **problems(403, 404, 422),
    },
)
@api_view(["POST"])
def plan_apply(request):
    require_operate(request)
    dry_run = request.query_params.get("dry_run", "true").lower() not in ("false", "0", "no")
    data = PlanApplyInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    sandbox = object_or_404(Sandbox.objects.all(), values["sandbox"])
    options = ApplyOptions(
        connection_id=values["connection_id"],
        dataset_id=values["dataset_id"],
        schema_id=values["schema_id"],
        name=values["name"],
    )
    try:
        steps = resolved_steps(values["plan"], options)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise Invalid({"plan": [_plan_problem(exc)]}) from None
    if dry_run:
        return Response({"dry_run": True, "steps": steps})
    job = start_job(
        APPLY_PLAN,
        f"sandbox:{sandbox.pk}",
        request.user,
        apply_dataflow_plan,
        {
            "sandbox": sandbox.pk,
            "actor": request.user.pk,
            "plan": values["plan"],
            "options": {
                "connection_id": options.connection_id,
                "dataset_id": options.dataset_id,
                "schema_id": options.schema_id,
                "name": options.name,
            },
            "reason": values["reason"],
            "ticket": values["ticket"],
            "via": via(request),
        },
    )
    return _job_started(job)


def _plan_problem(exc: Exception) -> str:
    if isinstance(exc, PlanError):
        return str(exc)
    return _("This is not a complete plan: a step or a field is missing.")
