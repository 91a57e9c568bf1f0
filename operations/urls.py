from django.urls import path

from operations import audit_views, views

app_name = "operations"

account_urls = [
    path("accounts/", views.account_list, name="account-list"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    path("accounts/<int:pk>/rotate/", views.account_rotate, name="account-rotate"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account-delete"),
]

dataflow_urls = [
    path("dataflows/", views.dataflow_list, name="dataflow-list"),
    path("dataflows/retry/", views.bulk_retry, name="bulk-retry"),
    path("dataflows/<int:pk>/", views.dataflow_detail, name="dataflow-detail"),
    path("dataflows/<int:pk>/edit/", views.dataflow_edit, name="dataflow-edit"),
    path("dataflows/<int:pk>/mapping/", views.dataflow_mapping, name="dataflow-mapping"),
    path(
        "dataflows/<int:pk>/mapping/load/",
        views.dataflow_mapping_load,
        name="dataflow-mapping-load",
    ),
    path(
        "dataflows/<int:pk>/mapping/jobs/<uuid:job_pk>/",
        views.dataflow_mapping_job,
        name="dataflow-mapping-job",
    ),
    path("dataflows/<int:pk>/disable/", views.dataflow_disable, name="dataflow-disable"),
    path("dataflows/<int:pk>/enable/", views.dataflow_enable, name="dataflow-enable"),
    path("dataflows/<int:pk>/delete/", views.dataflow_delete, name="dataflow-delete"),
    path("dataflows/<int:pk>/timeline/", views.dataflow_timeline, name="dataflow-timeline"),
    path("runs/<int:pk>/retry/", views.run_retry, name="run-retry"),
]

operation_urls = [
    path("operations/<uuid:pk>/", views.operation_detail, name="operation-detail"),
    path("operations/<uuid:pk>/status/", views.operation_status, name="operation-status"),
    path("operations/<uuid:pk>/confirm/", views.operation_confirm, name="operation-confirm"),
    path("operations/<uuid:pk>/resume/", views.operation_resume, name="operation-resume"),
    path("operations/<uuid:pk>/cancel/", views.operation_cancel, name="operation-cancel"),
]

audit_urls = [
    path("audit/", audit_views.audit_list, name="audit-list"),
    path("audit/export.csv", audit_views.audit_csv, name="audit-csv"),
]

urlpatterns = [
    path("", views.index, name="index"),
    *account_urls,
    *dataflow_urls,
    *operation_urls,
    *audit_urls,
]
