"""Creating in AEP: progress, retry after a failure, discarding a draft, and the result."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from core.http import AuthenticatedHttpRequest
from monitoring.models import Dataflow
from onboarding import tasks
from onboarding.models import Draft, ProvisioningStep
from onboarding.views.helpers import (
    draft_for,
    poll,
    queue_provisioning,
    schedule_summary,
    wizard_redirect,
    wizard_view,
)


def _progress_context(draft: Draft) -> dict:
    steps = list(draft.steps.all())
    groups: dict[str, list[ProvisioningStep]] = {}
    for step in steps:
        groups.setdefault(step.resource_path, []).append(step)
    failed = next((s for s in steps if s.status == ProvisioningStep.Status.FAILED), None)
    working = draft.status in (Draft.Status.PROVISIONING, Draft.Status.DISCARDING)
    return {
        "draft": draft,
        "groups": [{"resource": path, "steps": items} for path, items in groups.items()],
        "failed": failed,
        "working": working and not draft.is_stale,
        "stale": draft.is_stale,
        "done_count": sum(1 for s in steps if s.status == ProvisioningStep.Status.DONE),
        "total": len(steps),
    }


@wizard_view
def progress(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if draft.status == Draft.Status.EDITING:
        return redirect("onboarding:review", draft.pk)
    if draft.status == Draft.Status.DONE:
        return redirect("onboarding:done", draft.pk)
    return render(request, "onboarding/provisioning.html", _progress_context(draft))


@wizard_view
@vary_on_headers("HX-Request")
def progress_status(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if draft.status == Draft.Status.DONE and request.htmx:
        return HttpResponseClientRedirect(reverse("onboarding:done", args=[draft.pk]))
    return poll(request, "onboarding/provisioning.html#progress", _progress_context(draft))


@require_POST
@wizard_view
def retry(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    resumable = draft.status == Draft.Status.FAILED or draft.is_stale
    if resumable:
        with transaction.atomic():
            # Objects a failed discard already removed must be created again.
            draft.steps.filter(status=ProvisioningStep.Status.DELETED).update(
                status=ProvisioningStep.Status.PENDING, aep_id="", created_here=False
            )
            queue_provisioning(draft)
    return wizard_redirect(request, "provisioning", draft.pk)


def _created_anything(draft: Draft) -> bool:
    if draft.account_mode == Draft.AccountMode.NEW and draft.connection_id:
        return True
    return draft.steps.exclude(
        status__in=[ProvisioningStep.Status.PENDING, ProvisioningStep.Status.DELETED]
    ).exists()


@require_POST
@wizard_view
def discard(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if draft.status in (Draft.Status.DONE, Draft.Status.DISCARDING):
        return wizard_redirect(request, "provisioning", draft.pk)
    if draft.status == Draft.Status.PROVISIONING and not draft.is_stale:
        messages.error(request, _("Wait until creation stops before discarding."))
        return wizard_redirect(request, "provisioning", draft.pk)
    if not _created_anything(draft):
        draft.status = Draft.Status.DISCARDED
        draft.forget_token()
        draft.save()
        messages.success(request, _("The draft was discarded. Nothing had been created in AEP."))
        return wizard_redirect(request, "drafts")
    with transaction.atomic():
        draft.status = Draft.Status.DISCARDING
        draft.heartbeat = None
        draft.error = ""
        draft.save()
        # Celery's Django fixup makes every task a DjangoTask; its stubs know a plain Task only.
        tasks.discard_draft.delay_on_commit(str(draft.pk))  # type: ignore[attr-defined]
    return wizard_redirect(request, "provisioning", draft.pk)


def _monitoring_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@wizard_view
def done(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if draft.status != Draft.Status.DONE:
        return redirect("onboarding:provisioning", draft.pk)
    flow_ids = draft.steps.filter(kind=ProvisioningStep.Kind.FLOW).values_list("aep_id", flat=True)
    flows = Dataflow.objects.filter(sandbox=draft.sandbox, flow_id__in=list(flow_ids))
    rows = [
        (
            flow,
            _monitoring_url("monitoring:dataflow-detail", flow.pk),
            (draft.datasets.get(flow.resource_path) or {}).get("name") or flow.dataset_id,
        )
        for flow in flows
    ]
    context = {
        "draft": draft,
        "rows": rows,
        "overview_url": _monitoring_url("monitoring:overview"),
        "summary": schedule_summary(draft),
    }
    return render(request, "onboarding/done.html", context)
