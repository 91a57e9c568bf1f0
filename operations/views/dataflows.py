"""Support's dataflow pages: the list, edit, mapping, enable/disable, retry, delete and timeline.

Views only read the database and start jobs; tasks call AEP.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.decorators import requires
from core.http import AuthenticatedHttpRequest, positive_int
from core.jobs import start_job
from core.models import Job
from core.permissions import (
    CONFIG_FIELDS,
    OPERATE,
    VIEW,
    can_fix_mapping,
    can_operate,
    may_edit_mapping,
)
from monitoring import queries
from monitoring.models import Dataflow, Run
from operations import forms, impact, service, steps
from operations.concurrency import flow_seen, seen_from, seen_token
from operations.lists import attach_last_operations
from operations.models import Operation
from operations.tasks import OPERATION_TASKS, load_mapping
from operations.timeline import timeline
from operations.views.access import (
    Kind,
    accepted,
    changed_fields,
    dataflow_or_404,
    editable_fields,
    launch,
    polling_status,
    posted,
    reason_fields,
    running_operation,
    to_operation_page,
)


@requires(VIEW)
@vary_on_headers("HX-Request")
def dataflow_list(request: AuthenticatedHttpRequest):
    """The overview's list (same filters, paging and badges) with Support's columns: the
    account's key, the last support action, and boxes to retry failed runs together."""
    filters = queries.Filters.from_query(request.GET)
    flows = queries.flow_list(filters, request.user)
    attach_last_operations(flows.page.flows)
    context = {
        "filters": filters,
        "counts": flows.counts,
        "page": flows.page,
        "can_operate": can_operate(request.user),
    }
    if request.htmx and request.htmx.target == "live":
        return render(request, "operations/dataflow_list.html#live", context)
    context.update(queries.filter_choices(filters))
    return render(request, "operations/dataflow_list.html", context)


@requires(VIEW)
def dataflow_detail(request: AuthenticatedHttpRequest, pk: int):
    """One dataflow page: monitoring's, which shows Support's actions to those who may."""
    return redirect("monitoring:dataflow-detail", pk, permanent=True)


@requires(VIEW)
def dataflow_edit(request: AuthenticatedHttpRequest, pk: int):
    dataflow = dataflow_or_404(pk)
    editable = editable_fields(request, dataflow)
    one_time = dataflow.frequency == Dataflow.Frequency.ONCE
    if one_time:
        editable = editable - CONFIG_FIELDS
    now = flow_seen(dataflow)
    initial = {**now, "seen": seen_token(now)}
    form = forms.DataflowEditForm(posted(request), initial=initial, editable=editable)
    if accepted(request, form, dataflow=dataflow):
        changes, seen = changed_fields(form, now)
        if changes:
            operation = _update_dataflow(request, dataflow, form, changes, seen)
            return to_operation_page(request, operation)
    context = {
        "dataflow": dataflow,
        "form": form,
        "one_time": one_time,
        "can_map": can_fix_mapping(request.user, dataflow),
    }
    return render(request, "operations/dataflow_edit.html", context)


@requires(VIEW)
def dataflow_mapping(request: AuthenticatedHttpRequest, pk: int):
    dataflow = dataflow_or_404(pk)
    if not can_fix_mapping(request.user, dataflow):
        raise PermissionDenied
    form = forms.MappingForm(posted(request))
    if accepted(request, form, dataflow=dataflow):
        changes = {"mapping": form.cleaned_data["mapping"]}
        seen = seen_from(form.cleaned_data["seen"], flow_seen(dataflow))
        operation = _update_dataflow(request, dataflow, form, changes, seen)
        return to_operation_page(request, operation)
    context = {"dataflow": dataflow, "form": form, "submitted": request.method == "POST"}
    return render(request, "operations/dataflow_mapping.html", context)


def _update_dataflow(
    request: AuthenticatedHttpRequest, dataflow: Dataflow, form, changes: dict, seen: dict
) -> Operation:
    """Start the update both the edit page and the mapping page make."""
    return launch(
        request,
        Kind.DATAFLOW_UPDATE,
        dataflow=dataflow,
        **reason_fields(form),
        params={"changes": changes, "seen": seen},
        steps=steps.dataflow_update_steps(dataflow, changes),
    )


@require_POST
@requires(VIEW)
def dataflow_mapping_load(request: AuthenticatedHttpRequest, pk: int):
    """Read the current mapping set from AEP in a job; the page polls for it."""
    dataflow = dataflow_or_404(pk)
    if not may_edit_mapping(request.user, dataflow):
        raise PermissionDenied
    job = start_job(
        "operations.load_mapping", f"dataflow:{dataflow.pk}", request.user, load_mapping
    )
    return _mapping_job(request, dataflow, job)


@require_GET
@requires(VIEW)
@vary_on_headers("HX-Request")
def dataflow_mapping_job(request: AuthenticatedHttpRequest, pk: int, job_pk):
    dataflow = dataflow_or_404(pk)
    job = get_object_or_404(
        Job, pk=job_pk, target=f"dataflow:{dataflow.pk}", created_by=request.user
    )
    return _mapping_job(request, dataflow, job)


def _mapping_job(request: AuthenticatedHttpRequest, dataflow: Dataflow, job: Job):
    form = None
    if job.status == Job.Status.SUCCEEDED:
        # The baseline is the flow as AEP had it when the mapping was read.
        seen = {
            **flow_seen(dataflow, job.result.get("etag", "")),
            "mapping_version": job.result.get("version"),
        }
        form = forms.MappingForm(
            initial={"mapping": job.result.get("rules", ""), "seen": seen_token(seen)}
        )
    context = {"dataflow": dataflow, "job": job, "form": form}
    status = polling_status(request, job.is_done)
    return render(request, "operations/dataflow_mapping.html#mapping-load", context, status=status)


@requires(OPERATE)
def dataflow_disable(request: AuthenticatedHttpRequest, pk: int):
    dataflow = dataflow_or_404(pk)
    form = forms.DisableForm(posted(request))
    if accepted(request, form, dataflow=dataflow):
        resume_at = form.cleaned_data.get("resume_at")
        extra = {"resume_at": resume_at.isoformat()} if resume_at else {}
        operation = launch(
            request,
            Kind.DATAFLOW_DISABLE,
            dataflow=dataflow,
            **reason_fields(form),
            resume_at=resume_at,
            steps=steps.flow_action_steps(dataflow, "disable", extra),
        )
        return to_operation_page(request, operation)
    context = {
        "dataflow": dataflow,
        "form": form,
        "per_day": impact.backfill_runs_per_day(dataflow),
    }
    return render(request, "operations/dataflow_disable.html", context)


@requires(OPERATE)
def dataflow_enable(request: AuthenticatedHttpRequest, pk: int):
    dataflow = dataflow_or_404(pk)
    form = forms.ReasonFields(posted(request))
    if accepted(request, form, dataflow=dataflow):
        operation = service.start_enable(
            dataflow, OPERATION_TASKS, actor=request.user, **reason_fields(form)
        )
        return to_operation_page(request, operation)
    context = {
        "dataflow": dataflow,
        "form": form,
        "estimate": impact.backfill_estimate(dataflow),
        "pause": service.pending_resume(dataflow),
    }
    return render(request, "operations/dataflow_enable.html", context)


@requires(OPERATE)
def dataflow_delete(request: AuthenticatedHttpRequest, pk: int):
    dataflow = dataflow_or_404(pk)
    if request.method == "POST" and not running_operation(request, dataflow=dataflow):
        return to_operation_page(request, launch(request, Kind.DATAFLOW_DELETE, dataflow=dataflow))
    return render(request, "operations/dataflow_delete.html", {"dataflow": dataflow})


@require_POST
@requires(OPERATE)
def run_retry(request: AuthenticatedHttpRequest, pk: int):
    run = get_object_or_404(
        Run.objects.select_related("dataflow"), pk=pk, dataflow__deleted_at=None
    )
    if run.status.lower() != "failed":
        messages.error(request, _("Only failed runs can be retried."))
        return redirect("monitoring:dataflow-detail", run.dataflow_id)
    form = forms.ReasonFields(request.POST)
    form.is_valid()  # a retry needs no reason; whatever valid one was given is recorded
    operation = launch(
        request,
        Kind.RUNS_RETRY,
        dataflow=run.dataflow,
        **reason_fields(form),
        label=_("Run %(run)s of %(name)s") % {"run": run.run_id, "name": run.dataflow.name},
        params={"run_ids": [run.run_id]},
        steps=steps.retry_steps([run]),
    )
    return to_operation_page(request, operation)


@require_POST
@requires(OPERATE)
def bulk_retry(request: AuthenticatedHttpRequest):
    """First post: the failed runs of the selected dataflows. Second post (confirm): retry."""
    ids = [i for i in map(positive_int, request.POST.getlist("dataflow")) if i is not None]
    dataflows = list(Dataflow.objects.filter(pk__in=ids, deleted_at=None).select_related("account"))
    runs = impact.failed_runs(dataflows)
    form = forms.ReasonFields(request.POST if "confirm" in request.POST else None)
    if "confirm" in request.POST and runs and form.is_valid():
        sandboxes = {run.dataflow.sandbox_id for run in runs}
        operations = []
        for sandbox_id in sorted(sandboxes):
            batch = [run for run in runs if run.dataflow.sandbox_id == sandbox_id]
            operations.append(
                launch(
                    request,
                    Kind.RUNS_RETRY,
                    sandbox=batch[0].dataflow.sandbox,
                    dataflow=batch[0].dataflow
                    if len({r.dataflow_id for r in batch}) == 1
                    else None,
                    label=_("%(count)d failed runs in %(flows)d dataflows")
                    % {"count": len(batch), "flows": len({r.dataflow_id for r in batch})},
                    **reason_fields(form),
                    params={"run_ids": [run.run_id for run in batch]},
                    steps=steps.retry_steps(batch),
                )
            )
        return to_operation_page(request, operations[0])
    context = {"dataflows": dataflows, "runs": runs, "form": form}
    return render(request, "operations/bulk_retry.html", context)


TIMELINE_PAGE = 50


def _moment(text: str) -> datetime | None:
    """An aware datetime from the query string, or None for anything else."""
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    return moment if moment is not None and is_aware(moment) else None


@requires(VIEW)
@vary_on_headers("HX-Request")
def dataflow_timeline(request: AuthenticatedHttpRequest, pk: int):
    dataflow = dataflow_or_404(pk)
    before = _moment(request.GET.get("before", ""))
    entries = timeline(dataflow, limit=TIMELINE_PAGE + 1, before=before)
    context = {
        "dataflow": dataflow,
        "entries": entries[:TIMELINE_PAGE],
        "newer": before is not None,
        # Older entries: those before the last one shown (a keyset, not an offset).
        "older": entries[TIMELINE_PAGE - 1].when.isoformat()
        if len(entries) > TIMELINE_PAGE
        else "",
    }
    if request.htmx:
        return render(request, "operations/_timeline.html", context)
    return render(request, "operations/dataflow_timeline.html", context)
