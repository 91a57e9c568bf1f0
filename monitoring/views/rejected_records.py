"""The run page's "Rejected records" section: start a job that reads them from AEP, then show it.

Both views only touch the database; the AEP call happens in `tasks.fetch_rejected_records`.
The section shows the run's latest such job to everyone who may view monitoring: the records
belong to the run, not to whoever asked first.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from core.jobs import latest_job, start_job
from core.models import Job
from core.permissions import can_fix_mapping
from monitoring import rejected_records
from monitoring.models import Run
from monitoring.playbooks import playbook_for
from monitoring.tasks import fetch_rejected_records

SECTION = "monitoring/_rejected_records.html"


def _run(pk: int) -> Run:
    return get_object_or_404(Run.objects.select_related("dataflow__sandbox"), pk=pk)


def _status_url(run: Run) -> str:
    return reverse("monitoring:run-rejected-status", args=[run.pk])


@require_POST
@requires("view_monitoring")
def run_rejected_start(request: AuthenticatedHttpRequest, pk: int):
    run = _run(pk)
    if run.failed_records and not run.is_open:
        job = latest_job(rejected_records.KIND, rejected_records.target_for(run))
        if job is None or job.is_done:
            start_job(
                rejected_records.KIND,
                rejected_records.target_for(run),
                request.user,
                fetch_rejected_records,
            )
    elif not request.htmx:
        messages.info(request, _("This run has no rejected records to show."))
    if request.htmx:
        return _section(request, run)
    return redirect(_status_url(run))


@require_GET
@requires("view_monitoring")
@vary_on_headers("HX-Request")
def run_rejected_status(request: AuthenticatedHttpRequest, pk: int):
    """DB-only: the section as the run's latest job has it; stops polling once it has ended."""
    run = _run(pk)
    return _section(request, run)


def _section(request: AuthenticatedHttpRequest, run: Run):
    job = latest_job(rejected_records.KIND, rejected_records.target_for(run))
    context = section_context(request.user, run, job)
    if request.htmx:
        response = render(request, SECTION, context)
        if job is None or job.is_done:
            response.status_code = HTMX_STOP_POLLING
        return response
    return render(request, "monitoring/run_rejected.html", context)


def section_context(user, run: Run, job: Job | None) -> dict:
    dataflow = run.dataflow
    result = job.result if job is not None and isinstance(job.result, dict) else {}
    succeeded = job is not None and job.status == Job.Status.SUCCEEDED
    return {
        "run": run,
        "dataflow": dataflow,
        "job": job,
        "available": succeeded and result.get("available") is True,
        "unavailable_reason": result.get("reason", "") if succeeded else "",
        "aep_message": str(result.get("message") or "") if succeeded else "",
        "rows": _rows(result.get("rows")) if succeeded else [],
        "record_count": _int(result.get("records")),
        "truncated": bool(result.get("truncated")),
        "sample_size": rejected_records.SAMPLE_SIZE,
        "can_fix_mapping": can_fix_mapping(user, dataflow),
    }


def _rows(raw) -> list[dict]:
    """The stored rows, each with the playbook that explains its code (when there is one)."""
    rows = []
    for row in raw if isinstance(raw, list) else []:
        if not isinstance(row, dict):
            continue
        code, message = str(row.get("code") or ""), str(row.get("message") or "")
        rows.append({**row, "playbook": playbook_for(code, message) if code else None})
    return rows


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
