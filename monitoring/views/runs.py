"""The run page: metrics, activities and errors of one run. It reads the database only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from monitoring import queries
from monitoring.models import Run
from monitoring.playbooks import explain_errors
from monitoring.views.pages import refresh_part


@requires("view_monitoring")
@vary_on_headers("HX-Request")
def run_detail(request: AuthenticatedHttpRequest, pk: int):
    run = get_object_or_404(
        Run.objects.select_related("dataflow__account", "dataflow__sandbox"), pk=pk
    )
    context = {
        "run": run,
        "dataflow": run.dataflow,
        "errors": explain_errors(run.errors),
        "activities": [_activity(a) for a in run.activities],
    }
    template = refresh_part(request, "monitoring/run_detail.html", ("live",))
    status = HTMX_STOP_POLLING if request.htmx and not run.is_open else 200
    if "#" not in template:
        context["attention"] = queries.attention_summary()
        status = 200
    return render(request, template, context, status=status)


def _activity(activity: dict) -> dict:
    """The few facts of a run activity worth showing (AEP's shapes vary a little)."""
    status = activity.get("statusSummary") or {}
    records = activity.get("recordSummary") or {}
    manifest = (status.get("extensions") or {}).get("manifest") or {}
    return {
        "id": activity.get("id", ""),
        "status": status.get("status", ""),
        "input": records.get("inputRecordCount"),
        "output": records.get("outputRecordCount"),
        "failed": records.get("failedRecordCount"),
        "failed_records_url": manifest.get("failedRecords"),
        "sample_errors_url": manifest.get("sampleErrors"),
    }
