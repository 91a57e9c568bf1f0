from django.urls import path

from monitoring.views import (
    accounts,
    alerts,
    dataflows,
    exports,
    overview,
    rejected_records,
    runs,
    sandboxes,
)

app_name = "monitoring"

sandbox_urls = [
    path("sandboxes/", sandboxes.sandbox_list, name="sandbox-list"),
    path("sandboxes/new/", sandboxes.sandbox_create, name="sandbox-create"),
    path("sandboxes/<int:pk>/", sandboxes.sandbox_detail, name="sandbox-detail"),
    path("sandboxes/<int:pk>/test/", sandboxes.sandbox_test, name="sandbox-test"),
    path("sandboxes/<int:pk>/readiness/", sandboxes.sandbox_readiness, name="sandbox-readiness"),
    path(
        "sandboxes/<int:pk>/readiness/status/",
        sandboxes.sandbox_readiness_status,
        name="sandbox-readiness-status",
    ),
    path(
        "sandboxes/<int:pk>/readiness/report.json",
        sandboxes.sandbox_readiness_report,
        name="sandbox-readiness-report",
    ),
]

dataflow_urls = [
    path("overview/", overview.overview_page, name="overview"),
    *exports.both_formats("overview/export", exports.overview_export, "overview-export"),
    *exports.both_formats("dataflows/<int:pk>/runs", exports.runs_export, "dataflow-runs-export"),
    path("dataflows/<int:pk>/", dataflows.dataflow_detail, name="dataflow-detail"),
    path("dataflows/<int:pk>/sla/", dataflows.dataflow_sla, name="dataflow-sla"),
    path("dataflows/<int:pk>/subscribe/", dataflows.dataflow_subscribe, name="dataflow-subscribe"),
    path("dataflows/<int:pk>/reconcile/", dataflows.dataflow_reconcile, name="dataflow-reconcile"),
    path(
        "dataflows/<int:pk>/reconcile/status/",
        dataflows.reconcile_status,
        name="dataflow-reconcile-status",
    ),
    path("dataflows/<int:pk>/schema/", dataflows.dataflow_drift, name="dataflow-drift"),
    path(
        "dataflows/<int:pk>/schema/check/",
        dataflows.dataflow_drift_check,
        name="dataflow-drift-check",
    ),
    path(
        "dataflows/<int:pk>/schema/dismiss/",
        dataflows.dataflow_drift_dismiss,
        name="dataflow-drift-dismiss",
    ),
    path("runs/<int:pk>/", runs.run_detail, name="run-detail"),
    path(
        "runs/<int:pk>/rejected/", rejected_records.run_rejected_status, name="run-rejected-status"
    ),
    path("runs/<int:pk>/rejected/read/", rejected_records.run_rejected_start, name="run-rejected"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account-detail"),
]

alert_urls = [
    path("alerts/", alerts.alert_list, name="alert-list"),
    *exports.both_formats("alerts/export", exports.alerts_export, "alert-export"),
    path("alerts/rules/", alerts.rule_list, name="alert-rules"),
    path("alerts/rules/new/", alerts.rule_create, name="alert-rule-create"),
    path("alerts/rules/<int:pk>/", alerts.rule_edit, name="alert-rule-edit"),
    path("alerts/rules/<int:pk>/delete/", alerts.rule_delete, name="alert-rule-delete"),
]

urlpatterns = sandbox_urls + dataflow_urls + alert_urls
