"""Support operations pages. Views only read the database and start jobs; tasks call AEP."""

from __future__ import annotations

from typing import TypedDict

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect

from core.decorators import requires
from core.http import AuthenticatedHttpRequest, positive_int
from core.jobs import start_job
from core.models import Job
from core.permissions import OPERATE, VIEW, can_operate, editable_dataflow_fields
from monitoring.models import Account, Dataflow, Run
from operations import forms, impact, planning, service
from operations.models import Operation
from operations.seen import account_seen, flow_seen, seen_from, seen_token
from operations.tasks import OPERATION_TASKS, load_mapping
from operations.timeline import timeline

Kind = Operation.Kind


# -- access helpers --------------------------------------------------------------------------


def _account(pk: int) -> Account:
    return get_object_or_404(Account.objects.select_related("sandbox"), pk=pk, deleted_at=None)


def _dataflow(pk: int) -> Dataflow:
    queryset = Dataflow.objects.select_related("sandbox", "account", "owner")
    return get_object_or_404(queryset, pk=pk, deleted_at=None)


def _operation_for(request: AuthenticatedHttpRequest, pk) -> Operation:
    """Operators see every operation; anyone else only the ones they started."""
    operation = get_object_or_404(
        Operation.objects.select_related("account", "dataflow", "actor", "job"), pk=pk
    )
    if not can_operate(request.user) and operation.actor_id != request.user.pk:
        raise Http404
    return operation


def _editable(request: AuthenticatedHttpRequest, dataflow: Dataflow) -> frozenset[str]:
    editable = editable_dataflow_fields(request.user, dataflow)
    if not editable:
        raise PermissionDenied
    return editable


def _posted(request: AuthenticatedHttpRequest):
    """Form data on POST (even an empty post is a submission), None otherwise."""
    return request.POST if request.method == "POST" else None


def _to_operation(request: AuthenticatedHttpRequest, operation: Operation):
    url = reverse("operations:operation-detail", args=[operation.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _busy(request: AuthenticatedHttpRequest, **target) -> Operation | None:
    """Only one change at a time per account or dataflow: two would race on the etag."""
    busy = service.in_flight(**target)
    if busy:
        messages.warning(request, _("Another change is still running here; wait for it first."))
    return busy


def _accepted(request: AuthenticatedHttpRequest, form, **target) -> bool:
    """A valid post for a target with no other change running (that one gets a warning)."""
    return request.method == "POST" and form.is_valid() and not _busy(request, **target)


class Why(TypedDict):
    reason: str
    ticket: str


def _why(form: forms.ReasonFields) -> Why:
    """The reason and ticket the audit trail records with the operation."""
    data = form.cleaned_data
    return {"reason": data.get("reason", ""), "ticket": data.get("ticket", "")}


def _launch(request: AuthenticatedHttpRequest, kind: str, **fields) -> Operation:
    operation = service.create(kind, actor=request.user, **fields)
    service.start(operation, OPERATION_TASKS)
    return operation


def _changes(form, now: dict) -> tuple[dict, dict]:
    """What the user changed against what the page showed them, and that baseline (seen).

    No change at all is an error on the form rather than an empty operation.
    """
    seen = seen_from(form.cleaned_data["seen"], now)
    changes = form.changes(seen)
    if not changes:
        form.add_error(None, _("Nothing changed."))
    return changes, seen


def _polling_status(request: AuthenticatedHttpRequest, done: bool) -> int:
    """286 tells htmx to stop polling a fragment that will not change any more."""
    return HTMX_STOP_POLLING if request.htmx and done else 200


# -- accounts --------------------------------------------------------------------------------


@requires(VIEW)
def index(request: AuthenticatedHttpRequest):
    return redirect("operations:account-list")


@requires(VIEW)
def account_list(request: AuthenticatedHttpRequest):
    accounts = (
        Account.objects.filter(deleted_at=None)
        .select_related("sandbox")
        .annotate(flow_count=Count("dataflows", filter=Q(dataflows__deleted_at=None)))
    )
    return render(request, "operations/account_list.html", {"accounts": accounts})


@requires(VIEW)
def account_detail(request: AuthenticatedHttpRequest, pk: int):
    account = _account(pk)
    context = {
        "account": account,
        "dataflows": account.dataflows.filter(deleted_at=None),
        "operations": account.operations.select_related("actor")[:10],
    }
    return render(request, "operations/account_detail.html", context)


@requires(OPERATE)
def account_edit(request: AuthenticatedHttpRequest, pk: int):
    account = _account(pk)
    now = account_seen(account)
    form = forms.AccountEditForm(_posted(request), initial={**now, "seen": seen_token(now)})
    if _accepted(request, form, account=account):
        changes, seen = _changes(form, now)
        if changes:
            operation = _launch(
                request,
                Kind.ACCOUNT_UPDATE,
                account=account,
                **_why(form),
                params={"changes": changes, "seen": seen},
                steps=planning.account_update_steps(account),
            )
            return _to_operation(request, operation)
    return render(request, "operations/account_edit.html", {"account": account, "form": form})


@requires(OPERATE)
def account_rotate(request: AuthenticatedHttpRequest, pk: int):
    account = _account(pk)
    form = forms.RotateKeyForm(_posted(request))
    if _accepted(request, form, account=account):
        operation = _launch(
            request,
            Kind.ACCOUNT_ROTATE_KEY,
            account=account,
            **_why(form),
            params={"seen": seen_from("", account_seen(account))},
            secret=form.cleaned_data["new_key"],
        )
        return _to_operation(request, operation)
    return render(request, "operations/account_rotate.html", {"account": account, "form": form})


@requires(OPERATE)
def account_delete(request: AuthenticatedHttpRequest, pk: int):
    account = _account(pk)
    if request.method == "POST" and not _busy(request, account=account):
        return _to_operation(request, _launch(request, Kind.ACCOUNT_DELETE, account=account))
    context = {"account": account, "dataflows": account.dataflows.filter(deleted_at=None)}
    return render(request, "operations/account_delete.html", context)


# -- dataflows -------------------------------------------------------------------------------


@requires(VIEW)
def dataflow_list(request: AuthenticatedHttpRequest):
    dataflows = (
        Dataflow.objects.filter(deleted_at=None)
        .select_related("account", "sandbox")
        .annotate(failed_runs=Count("runs", filter=Q(runs__status__iexact="failed")))
    )
    return render(
        request,
        "operations/dataflow_list.html",
        {"dataflows": dataflows, "can_operate": can_operate(request.user)},
    )


@requires(VIEW)
def dataflow_detail(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    context = {
        "dataflow": dataflow,
        "runs": dataflow.runs.order_by("-created_at")[:20],
        "entries": timeline(dataflow),
    }
    return render(request, "operations/dataflow_detail.html", context)


@requires(VIEW)
def dataflow_edit(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    editable = _editable(request, dataflow)
    one_time = dataflow.frequency == Dataflow.Frequency.ONCE
    if one_time:
        editable = editable - {"frequency", "interval", "mapping"}
    now = flow_seen(dataflow)
    initial = {**now, "seen": seen_token(now)}
    form = forms.DataflowEditForm(_posted(request), initial=initial, editable=editable)
    if _accepted(request, form, dataflow=dataflow):
        changes, seen = _changes(form, now)
        if changes:
            operation = _update_dataflow(request, dataflow, form, changes, seen)
            return _to_operation(request, operation)
    context = {
        "dataflow": dataflow,
        "form": form,
        "one_time": one_time,
        "can_map": "mapping" in editable,
    }
    return render(request, "operations/dataflow_edit.html", context)


@requires(VIEW)
def dataflow_mapping(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    if "mapping" not in _editable(request, dataflow) or dataflow.frequency == "once":
        raise PermissionDenied
    form = forms.MappingForm(_posted(request))
    if _accepted(request, form, dataflow=dataflow):
        changes = {"mapping": form.cleaned_data["mapping"]}
        seen = seen_from(form.cleaned_data["seen"], flow_seen(dataflow))
        operation = _update_dataflow(request, dataflow, form, changes, seen)
        return _to_operation(request, operation)
    context = {"dataflow": dataflow, "form": form, "submitted": request.method == "POST"}
    return render(request, "operations/dataflow_mapping.html", context)


def _update_dataflow(
    request: AuthenticatedHttpRequest, dataflow: Dataflow, form, changes: dict, seen: dict
) -> Operation:
    """Start the update both the edit page and the mapping page make."""
    return _launch(
        request,
        Kind.DATAFLOW_UPDATE,
        dataflow=dataflow,
        **_why(form),
        params={"changes": changes, "seen": seen},
        steps=planning.dataflow_update_steps(dataflow, changes),
    )


@require_POST
@requires(VIEW)
def dataflow_mapping_load(request: AuthenticatedHttpRequest, pk: int):
    """Read the current mapping set from AEP in a job; the page polls for it."""
    dataflow = _dataflow(pk)
    if "mapping" not in _editable(request, dataflow):
        raise PermissionDenied
    job = start_job(
        "operations.load_mapping", f"dataflow:{dataflow.pk}", request.user, load_mapping
    )
    return _mapping_job(request, dataflow, job)


@require_GET
@requires(VIEW)
@vary_on_headers("HX-Request")
def dataflow_mapping_job(request: AuthenticatedHttpRequest, pk: int, job_pk):
    dataflow = _dataflow(pk)
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
    status = _polling_status(request, job.is_done)
    return render(request, "operations/dataflow_mapping.html#mapping-load", context, status=status)


@requires(OPERATE)
def dataflow_disable(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    form = forms.DisableForm(_posted(request))
    if _accepted(request, form, dataflow=dataflow):
        resume_at = form.cleaned_data.get("resume_at")
        extra = {"resume_at": resume_at.isoformat()} if resume_at else {}
        operation = _launch(
            request,
            Kind.DATAFLOW_DISABLE,
            dataflow=dataflow,
            **_why(form),
            resume_at=resume_at,
            steps=planning.flow_action_steps(dataflow, "disable", extra),
        )
        return _to_operation(request, operation)
    context = {
        "dataflow": dataflow,
        "form": form,
        "per_day": impact.backfill_runs_per_day(dataflow),
    }
    return render(request, "operations/dataflow_disable.html", context)


@requires(OPERATE)
def dataflow_enable(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    form = forms.ReasonFields(_posted(request))
    if _accepted(request, form, dataflow=dataflow):
        operation = service.start_enable(
            dataflow, OPERATION_TASKS, actor=request.user, **_why(form)
        )
        return _to_operation(request, operation)
    context = {
        "dataflow": dataflow,
        "form": form,
        "estimate": impact.backfill_estimate(dataflow),
        "pause": service.pending_resume(dataflow),
    }
    return render(request, "operations/dataflow_enable.html", context)


@requires(OPERATE)
def dataflow_delete(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    if request.method == "POST" and not _busy(request, dataflow=dataflow):
        return _to_operation(request, _launch(request, Kind.DATAFLOW_DELETE, dataflow=dataflow))
    return render(request, "operations/dataflow_delete.html", {"dataflow": dataflow})


@require_POST
@requires(OPERATE)
def run_retry(request: AuthenticatedHttpRequest, pk: int):
    run = get_object_or_404(
        Run.objects.select_related("dataflow"), pk=pk, dataflow__deleted_at=None
    )
    if run.status.lower() != "failed":
        messages.error(request, _("Only failed runs can be retried."))
        return redirect("operations:dataflow-detail", run.dataflow_id)
    form = forms.ReasonFields(request.POST)
    form.is_valid()  # a retry needs no reason; whatever valid one was given is recorded
    operation = _launch(
        request,
        Kind.RUNS_RETRY,
        dataflow=run.dataflow,
        **_why(form),
        label=_("Run %(run)s of %(name)s") % {"run": run.run_id, "name": run.dataflow.name},
        params={"run_ids": [run.run_id]},
        steps=planning.retry_steps([run]),
    )
    return _to_operation(request, operation)


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
                _launch(
                    request,
                    Kind.RUNS_RETRY,
                    sandbox=batch[0].dataflow.sandbox,
                    dataflow=batch[0].dataflow
                    if len({r.dataflow_id for r in batch}) == 1
                    else None,
                    label=_("%(count)d failed runs in %(flows)d dataflows")
                    % {"count": len(batch), "flows": len({r.dataflow_id for r in batch})},
                    **_why(form),
                    params={"run_ids": [run.run_id for run in batch]},
                    steps=planning.retry_steps(batch),
                )
            )
        return _to_operation(request, operations[0])
    context = {"dataflows": dataflows, "runs": runs, "form": form}
    return render(request, "operations/bulk_retry.html", context)


@requires(VIEW)
@vary_on_headers("HX-Request")
def dataflow_timeline(request: AuthenticatedHttpRequest, pk: int):
    dataflow = _dataflow(pk)
    context = {"dataflow": dataflow, "entries": timeline(dataflow, limit=200)}
    if request.htmx:
        return render(request, "operations/_timeline.html", context)
    return render(request, "operations/dataflow_timeline.html", context)


# -- operations ------------------------------------------------------------------------------


@requires(VIEW)
def operation_detail(request: AuthenticatedHttpRequest, pk):
    operation = _operation_for(request, pk)
    return render(request, "operations/operation_detail.html", _operation_context(operation))


@require_GET
@requires(VIEW)
@vary_on_headers("HX-Request")
def operation_status(request: AuthenticatedHttpRequest, pk):
    """DB-only progress of an operation; stops the page's polling once nothing moves."""
    operation = _operation_for(request, pk)
    status = _polling_status(request, operation.is_settled)
    return render(
        request,
        "operations/operation_detail.html#operation-status",
        _operation_context(operation),
        status=status,
    )


def _operation_context(operation: Operation, form=None) -> dict:
    expected = _expected_name(operation)
    if form is None and operation.status == Operation.Status.AWAITING_CONFIRMATION:
        form = _confirm_form(operation, None)
    return {"operation": operation, "form": form, "expected_name": expected}


def _expected_name(operation: Operation) -> str:
    if operation.kind == Kind.ACCOUNT_DELETE:
        return operation.preview.get("connection", {}).get("name") or operation.target_label
    return operation.target_label


def _confirm_form(operation: Operation, data):
    if operation.kind == Kind.ACCOUNT_ROTATE_KEY:
        return forms.ConfirmRotateForm(data, losing=len(operation.preview.get("losing", [])))
    return forms.DeleteConfirmForm(data, expected_name=_expected_name(operation))


@require_POST
@requires(OPERATE)
def operation_confirm(request: AuthenticatedHttpRequest, pk):
    operation = _operation_for(request, pk)
    if operation.status != Operation.Status.AWAITING_CONFIRMATION:
        messages.error(request, _("This operation is no longer waiting for confirmation."))
        return _to_operation(request, operation)
    form = _confirm_form(operation, request.POST)
    if operation.kind == Kind.ACCOUNT_ROTATE_KEY and not operation.preview.get("usable"):
        form.add_error(None, _("This key cannot read any Stripe resource; it cannot be used."))
    if not form.is_valid():
        context = _operation_context(operation, form)
        return render(request, "operations/operation_detail.html", context, status=422)
    data = form.cleaned_data
    service.confirm(
        operation,
        OPERATION_TASKS,
        reason=data.get("reason") or operation.reason,
        ticket=data.get("ticket") or operation.ticket,
        delete_datasets=bool(data.get("delete_datasets")),
        delete_schemas=bool(data.get("delete_schemas")),
    )
    return _to_operation(request, operation)


@require_POST
@requires(OPERATE)
def operation_resume(request: AuthenticatedHttpRequest, pk):
    operation = _operation_for(request, pk)
    if not operation.can_resume:
        messages.error(request, _("Only a failed operation can be resumed."))
    else:
        service.resume(operation, OPERATION_TASKS)
    return _to_operation(request, operation)


@require_POST
@requires(OPERATE)
def operation_cancel(request: AuthenticatedHttpRequest, pk):
    operation = _operation_for(request, pk)
    was_failed = operation.status == Operation.Status.FAILED
    service.cancel(operation)
    if was_failed:
        messages.info(request, _("Stopped. Steps already done in AEP stay done."))
    else:
        messages.info(request, _("Cancelled. Nothing was changed in AEP."))
    if operation.dataflow_id and operation.dataflow and not operation.dataflow.deleted_at:
        return redirect("operations:dataflow-detail", operation.dataflow_id)
    if operation.account_id and operation.account and not operation.account.deleted_at:
        return redirect("operations:account-detail", operation.account_id)
    return redirect("operations:account-list")
