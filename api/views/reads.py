"""The API's reads: dataflows as the overview lists them, runs, accounts and alerts."""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.serializers import (
    AccountSerializer,
    AlertSerializer,
    DataflowSerializer,
    RunDetailSerializer,
    RunSerializer,
)
from api.views.shared import CURSOR_PARAMETERS, object_or_404, page_of, paged, problems
from core.jobs import latest_job
from monitoring import queries, rejected_records
from monitoring.models import Account, Alert, Dataflow, Run

FLOW_ORDER = ("severity", "name", "id")  # the overview's order: most urgent first
RUN_ORDER = ("-created_at", "-id")
ALERT_ORDER = ("-opened_at", "-id")
ACCOUNT_ORDER = ("name", "id")

OVERVIEW_FILTERS = [
    OpenApiParameter("sandbox", OpenApiTypes.INT, description="sandbox id"),
    OpenApiParameter("account", OpenApiTypes.INT, description="account id"),
    OpenApiParameter("resource", OpenApiTypes.STR, description="Stripe resource path"),
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        enum=[value for value, _label in queries.STATUS_CHOICES],
        description="health; without it every flow but deleted ones",
    ),
    OpenApiParameter("owner", OpenApiTypes.STR, description='"me", "none" or a user id'),
    OpenApiParameter("q", OpenApiTypes.STR, description="name, flow id or resource path"),
    OpenApiParameter("drift", OpenApiTypes.STR, enum=[queries.DRIFT_BREAKING]),
]


@extend_schema(
    summary="Dataflows, as the overview lists them",
    description="The overview's filters (unknown values are ignored, as on the page), most "
    "urgent first; `counts` are the health tiles for the filters without `status`.",
    parameters=[*OVERVIEW_FILTERS, *CURSOR_PARAMETERS],
    responses={
        200: page_of(
            "DataflowPage",
            DataflowSerializer,
            counts=serializers.DictField(child=serializers.IntegerField()),
        ),
        **problems(403, 422),
    },
)
@api_view(["GET"])
def dataflow_list(request):
    filters = queries.Filters.from_query(request.query_params)
    counts = queries.health_counts(queries.flows_matching(filters, request.user))
    flows = queries.listed_flows(filters, request.user)
    return paged(request, flows, FLOW_ORDER, DataflowSerializer, counts=counts)


@extend_schema(
    summary="One dataflow",
    description="Its ETag header is AEP's version of the flow: send it as If-Match with an "
    "action to be refused (412) if the flow changed since.",
    responses={200: DataflowSerializer, **problems(403, 404)},
)
@api_view(["GET"])
def dataflow_detail(request, pk: int):
    queryset = Dataflow.objects.select_related("sandbox", "account", "owner")
    dataflow = object_or_404(queryset, pk)
    response = Response(DataflowSerializer(dataflow).data)
    if dataflow.etag:
        response["ETag"] = f'"{dataflow.etag.strip(chr(34))}"'
    return response


@extend_schema(
    summary="A dataflow's runs, newest first",
    parameters=CURSOR_PARAMETERS,
    responses={200: page_of("RunPage", RunSerializer), **problems(403, 404, 422)},
)
@api_view(["GET"])
def dataflow_runs(request, pk: int):
    dataflow = object_or_404(Dataflow.objects.all(), pk)
    runs = Run.objects.filter(dataflow=dataflow).defer("activities", "errors")
    return paged(request, runs, RUN_ORDER, RunSerializer)


@extend_schema(
    summary="One run, with its rejected-record sample once someone has read it",
    responses={200: RunDetailSerializer, **problems(403, 404)},
)
@api_view(["GET"])
def run_detail(request, pk: int):
    run = object_or_404(Run.objects.select_related("dataflow"), pk)
    job = latest_job(rejected_records.KIND, rejected_records.target_for(run))
    return Response(RunDetailSerializer(run, context={"rejected_job": job}).data)


@extend_schema(
    summary="Accounts (Stripe base connections), by name",
    parameters=CURSOR_PARAMETERS,
    responses={200: page_of("AccountPage", AccountSerializer), **problems(403, 422)},
)
@api_view(["GET"])
def account_list(request):
    accounts = (
        Account.objects.filter(deleted_at=None)
        .select_related("sandbox")
        .annotate(flow_count=Count("dataflows", filter=Q(dataflows__deleted_at=None)))
    )
    return paged(request, accounts, ACCOUNT_ORDER, AccountSerializer)


@extend_schema(
    summary="Alert history, newest first",
    parameters=[
        OpenApiParameter("state", OpenApiTypes.STR, enum=["open", "resolved"]),
        OpenApiParameter("dataflow", OpenApiTypes.INT, description="dataflow id"),
        *CURSOR_PARAMETERS,
    ],
    responses={
        200: page_of("AlertPage", AlertSerializer, open_count=serializers.IntegerField()),
        **problems(403, 422),
    },
)
@api_view(["GET"])
def alert_list(request):
    alerts = queries.alert_history(request.query_params).select_related("dataflow")
    open_count = Alert.objects.filter(resolved_at=None).count()
    return paged(request, alerts, ALERT_ORDER, AlertSerializer, open_count=open_count)
