from django.urls import path

from operations.views import accounts, audit, dataflows, operation

app_name = "operations"

account_urls = [
    path("accounts/", accounts.account_list, name="account-list"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", accounts.account_edit, name="account-edit"),
    path("accounts/<int:pk>/rotate/", accounts.account_rotate, name="account-rotate"),
    path("accounts/<int:pk>/delete/", accounts.account_delete, name="account-delete"),
]

dataflow_urls = [
    path("dataflows/", dataflows.dataflow_list, name="dataflow-list"),
    path("dataflows/retry/", dataflows.bulk_retry, name="bulk-retry"),
    path("dataflows/<int:pk>/", dataflows.dataflow_detail, name="dataflow-detail"),
    path("dataflows/<int:pk>/edit/", dataflows.dataflow_edit, name="dataflow-edit"),
    path("dataflows/<int:pk>/mapping/", dataflows.dataflow_mapping, name="dataflow-mapping"),
    path(
        "dataflows/<int:pk>/mapping/load/",
        dataflows.dataflow_mapping_load,
        name="dataflow-mapping-load",
    ),
    path(
        "dataflows/<int:pk>/mapping/jobs/<uuid:job_pk>/",
        dataflows.dataflow_mapping_job,
        name="dataflow-mapping-job",
    ),
    path("dataflows/<int:pk>/disable/", dataflows.dataflow_disable, name="dataflow-disable"),
    path("dataflows/<int:pk>/enable/", dataflows.dataflow_enable, name="dataflow-enable"),
    path("dataflows/<int:pk>/delete/", dataflows.dataflow_delete, name="dataflow-delete"),
    path("dataflows/<int:pk>/timeline/", dataflows.dataflow_timeline, name="dataflow-timeline"),
    path("runs/<int:pk>/retry/", dataflows.run_retry, name="run-retry"),
]

operation_urls = [
    path("operations/<uuid:pk>/", operation.operation_detail, name="operation-detail"),
    path("operations/<uuid:pk>/status/", operation.operation_status, name="operation-status"),
    path("operations/<uuid:pk>/confirm/", operation.operation_confirm, name="operation-confirm"),
    path("operations/<uuid:pk>/resume/", operation.operation_resume, name="operation-resume"),
    path(
        "operations/<uuid:pk>/preview-again/",
        operation.operation_preview_again,
        name="operation-preview-again",
    ),
    path("operations/<uuid:pk>/cancel/", operation.operation_cancel, name="operation-cancel"),
]

audit_urls = [
    path("audit/", audit.audit_list, name="audit-list"),
    path("audit/export.csv", audit.audit_csv, name="audit-csv"),
]

urlpatterns = [
    path("", accounts.index, name="index"),
    *account_urls,
    *dataflow_urls,
    *operation_urls,
    *audit_urls,
]
