"""/api/v1/: the REST API, its OpenAPI schema and its docs (Swagger UI from static files)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from api.problems import not_found
from api.views import actions, plans, progress, reads

app_name = "api"

read_urls = [
    path("dataflows", reads.dataflow_list, name="dataflow-list"),
    path("dataflows/<int:pk>", reads.dataflow_detail, name="dataflow-detail"),
    path("dataflows/<int:pk>/runs", reads.dataflow_runs, name="dataflow-runs"),
    path("runs/<int:pk>", reads.run_detail, name="run-detail"),
    path("accounts", reads.account_list, name="account-list"),
    path("alerts", reads.alert_list, name="alert-list"),
    path("operations/<uuid:pk>", progress.operation_detail, name="operation-detail"),
    path("jobs/<uuid:pk>", progress.job_detail, name="job-detail"),
]

action_urls = [
    path("dataflows/<int:pk>/enable", actions.dataflow_enable, name="dataflow-enable"),
    path("dataflows/<int:pk>/disable", actions.dataflow_disable, name="dataflow-disable"),
    path("dataflows/<int:pk>/delete", actions.dataflow_delete, name="dataflow-delete"),
    path("runs/<int:pk>/retry", actions.run_retry, name="run-retry"),
    path("accounts/<int:pk>/delete", actions.account_delete, name="account-delete"),
    path("operations/<uuid:pk>/confirm", actions.operation_confirm, name="operation-confirm"),
    path("dataflows/<int:pk>/plan", plans.dataflow_plan, name="dataflow-plan"),
    path("plans/apply", plans.plan_apply, name="plan-apply"),
]

doc_urls = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="schema"),
    path(
        "docs",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", url_self="/api/v1/docs"),
        name="docs",
    ),
]

urlpatterns = [*read_urls, *action_urls, *doc_urls, re_path(r"^.*$", not_found)]
