from django.urls import path

from monitoring import alert_views, dashboard, failed_records, views

app_name = "monitoring"

sandbox_urls = [
    path("sandboxes/", views.sandbox_list, name="sandbox-list"),
    path("sandboxes/new/", views.sandbox_create, name="sandbox-create"),
    path("sandboxes/<int:pk>/", views.sandbox_detail, name="sandbox-detail"),
    path("sandboxes/<int:pk>/test/", views.sandbox_test, name="sandbox-test"),
]

dataflow_urls = [
    path("overview/", dashboard.overview_page, name="overview"),
    path("dataflows/<int:pk>/", dashboard.dataflow_detail, name="dataflow-detail"),
    path("dataflows/<int:pk>/sla/", dashboard.dataflow_sla, name="dataflow-sla"),
    path("dataflows/<int:pk>/subscribe/", dashboard.dataflow_subscribe, name="dataflow-subscribe"),
    path("dataflows/<int:pk>/reconcile/", dashboard.dataflow_reconcile, name="dataflow-reconcile"),
    path(
        "dataflows/<int:pk>/reconcile/status/",
        dashboard.reconcile_status,
        name="dataflow-reconcile-status",
    ),
    path("dataflows/<int:pk>/schema/", dashboard.dataflow_drift, name="dataflow-drift"),
    path(
        "dataflows/<int:pk>/schema/check/",
        dashboard.dataflow_drift_check,
        name="dataflow-drift-check",
    ),
    path(
        "dataflows/<int:pk>/schema/dismiss/",
        dashboard.dataflow_drift_dismiss,
        name="dataflow-drift-dismiss",
    ),
    path("runs/<int:pk>/", dashboard.run_detail, name="run-detail"),
    path("runs/<int:pk>/rejected/", failed_records.run_rejected_status, name="run-rejected-status"),
    path("runs/<int:pk>/rejected/read/", failed_records.run_rejected_start, name="run-rejected"),
    path("accounts/<int:pk>/", dashboard.account_detail, name="account-detail"),
]

alert_urls = [
    path("alerts/", alert_views.alert_list, name="alert-list"),
    path("alerts/rules/", alert_views.rule_list, name="alert-rules"),
    path("alerts/rules/new/", alert_views.rule_create, name="alert-rule-create"),
    path("alerts/rules/<int:pk>/", alert_views.rule_edit, name="alert-rule-edit"),
    path("alerts/rules/<int:pk>/delete/", alert_views.rule_delete, name="alert-rule-delete"),
]

urlpatterns = sandbox_urls + dataflow_urls + alert_urls
