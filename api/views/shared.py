"""What the API's endpoints share: documented errors, lists by cursor, loading objects."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from api import pagination
from api.problems import CONTENT_TYPE, Conflict, Invalid, PreconditionFailed
from api.serializers import OperationSerializer, ProblemSerializer
from core.permissions import can_operate
from monitoring.models import Account, Dataflow
from operations import service
from operations.models import Operation


def problems(*codes: int) -> dict:
    """The documented error answers of an endpoint (400, 401 and 429 apply to every one)."""
    return {
        (code, CONTENT_TYPE): OpenApiResponse(ProblemSerializer)
        for code in sorted({400, 401, 429, *codes})
    }


CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="next_cursor of the previous page"),
    OpenApiParameter("limit", OpenApiTypes.INT, description="rows per page (1-200, default 50)"),
]


def page_of(name: str, item: type[serializers.Serializer], **extra) -> serializers.Serializer:
    """The documented shape of one page of a list."""
    return inline_serializer(
        name,
        {
            "results": item(many=True),
            "next_cursor": serializers.CharField(allow_null=True),
            **extra,
        },
    )


def paged(request, queryset, order: tuple[str, ...], serializer, context=None, **extra) -> Response:
    page = pagination.page(
        queryset,
        order,
        request.query_params.get("cursor") or None,
        pagination.limit_from(request.query_params),
    )
    results = serializer(page.rows, many=True, context=context or {}).data
    return Response({"results": results, "next_cursor": page.next_cursor, **extra})


def object_or_404(queryset, pk, **filters):
    """The row, or 404; an id too large for the database is no row either (not a 500)."""
    if isinstance(pk, int) and not 0 < pk < 2**63:
        raise Http404
    return get_object_or_404(queryset, pk=pk, **filters)


def dataflow_or_404(pk: int) -> Dataflow:
    """A dataflow the support actions may touch: not deleted."""
    queryset = Dataflow.objects.select_related("sandbox", "account", "owner")
    return object_or_404(queryset, pk, deleted_at=None)


def account_or_404(pk: int) -> Account:
    return object_or_404(Account.objects.select_related("sandbox"), pk, deleted_at=None)


def check_if_match(request, dataflow: Dataflow) -> None:
    """412 when the caller says which version it saw (If-Match) and AEP's is another now."""
    expected = request.headers.get("If-Match", "").strip()
    if expected and expected != "*" and expected.strip('"') != dataflow.etag.strip('"'):
        raise PreconditionFailed()


def check_not_busy(**target) -> None:
    """Only one change at a time per account or dataflow, as on the pages."""
    if service.in_flight(**target):
        raise Conflict("Another change is still running here; wait for it first.")


def validated(form):
    """The page's own form decides what is valid; its errors answer 422."""
    if not form.is_valid():
        errors = {field: [str(m) for m in messages] for field, messages in form.errors.items()}
        raise Invalid(errors)
    return form.cleaned_data


def started(operation: Operation) -> Response:
    """202: the operation runs (or reads its preview) in the worker; poll its URL."""
    body = OperationSerializer(operation).data
    return Response(body, status=202, headers={"Location": f"/api/v1/operations/{operation.pk}"})


def operation_or_404(request, pk) -> Operation:
    """Operators see every operation; anyone else only the ones they started (as the pages)."""
    queryset = Operation.objects.select_related("account", "dataflow", "actor")
    operation = get_object_or_404(queryset, pk=pk)
    if not can_operate(request.user) and operation.actor_id != request.user.pk:
        raise Http404
    return operation
