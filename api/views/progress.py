"""An operation's state (the API's view of the operation page), and a background job's."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.serializers import JobSerializer, OperationSerializer
from api.views.shared import operation_or_404, problems
from core.models import Job


@extend_schema(
    summary="One operation: status, preview (for a delete), steps",
    responses={200: OperationSerializer, **problems(403, 404)},
)
@api_view(["GET"])
def operation_detail(request, pk):
    return Response(OperationSerializer(operation_or_404(request, pk)).data)


@extend_schema(
    summary="One background job the caller started (a plan read or applied)",
    responses={200: JobSerializer, **problems(403, 404)},
)
@api_view(["GET"])
def job_detail(request, pk):
    job = get_object_or_404(Job, pk=pk, created_by=request.user)
    return Response(JobSerializer(job).data)
