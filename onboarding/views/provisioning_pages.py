"""Creating in AEP: progress, retry after a failure, discarding a draft, and the result."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from core.http import AuthenticatedHttpRequest
from monitoring.models import Dataflow
from onboarding import provisioning, tasks
from onboarding.models import Draft, ProvisioningStep
from onboarding.views.helpers import (
    draft_for,
    poll,
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
    """Retry after a failure, or Resume a provisioning or discard whose worker went away."""
    draft = draft_for(request, pk)
    provisioning.resume(draft, tasks.provision)
    return wizard_redirect(request, "provisioning", draft.pk)


@require_POST
@wizard_view
def discard(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    outcome = provisioning.start_discard(draft, tasks.discard_draft)
    if outcome == Draft.Status.DISCARDED:
        messages.success(request, _("The draft was discarded. Nothing had been created in AEP."))
        return wizard_redirect(request, "drafts")
    if not outcome and draft.status == Draft.Status.PROVISIONING:
        messages.error(request, _("Wait until creation stops before discarding."))
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
