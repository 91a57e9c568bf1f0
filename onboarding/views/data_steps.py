"""Steps 2 to 4: which Stripe data to load, what a sample of it looks like, where it lands."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core import profiling
from core.http import AuthenticatedHttpRequest
from onboarding import forms, provisioning, tasks
from onboarding.models import Draft
from onboarding.views.helpers import (
    draft_for,
    draft_job,
    page_context,
    poll,
    posted,
    redirect_unless_editable,
    save_step,
    start_draft_job,
    wizard_redirect,
    wizard_view,
    working,
)

# -- step 2: resources -------------------------------------------------------------------------


def _base_ready(draft: Draft) -> bool:
    return bool(draft.base_connection_id)


@wizard_view
def resources(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    if not _base_ready(draft):
        messages.info(request, _("Connect the Stripe account first."))
        return redirect("onboarding:account", draft.pk)
    account_name = draft.account.name if draft.account else draft.account_name
    initial = {"resource_paths": draft.resource_paths}
    for path in STRIPE_RESOURCE_PATHS:
        initial[f"name_{path}"] = draft.flow_names.get(path) or provisioning.default_flow_name(
            account_name, path
        )
    form = forms.ResourcesForm(posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["resource_paths"]
        draft.resource_paths = chosen
        draft.flow_names = form.flow_names()
        for stale in set(draft.explore) - set(chosen):
            draft.explore.pop(stale, None)
            draft.mappings.pop(stale, None)
            draft.datasets.pop(stale, None)
        save_step(draft, "resources")
        if any(path not in draft.explore for path in chosen):
            start_draft_job(request, draft, tasks.EXPLORE, tasks.explore_resources)
        return wizard_redirect(request, "explore", draft.pk)
    unreadable = form.unreadable()
    rows = [
        {
            "path": path,
            "help": forms.RESOURCE_HELP[path],
            "blocked": unreadable.get(path),
            "checked": path in (form["resource_paths"].value() or []),
            "name_field": form[f"name_{path}"],
        }
        for path in STRIPE_RESOURCE_PATHS
    ]
    context = page_context(draft, "resources", form=form, rows=rows, unchecked=not draft.probe)
    return render(request, "onboarding/step_resources.html", context)


# -- step 3: explore ---------------------------------------------------------------------------


def _explore_context(draft: Draft) -> dict:
    job = draft_job(draft, tasks.EXPLORE)
    results = []
    for path in draft.resource_paths:
        explored = draft.explore.get(path)
        if not explored:
            continue
        fields = explored["fields"]
        results.append(
            {
                "path": path,
                "fields": fields,
                "leaf_count": len(profiling.leaf_fields(fields)),
                "pii_count": sum(1 for f in fields if f["pii"] and f["leaf"]),
                "table": profiling.sample_table(explored.get("sample") or [], fields),
                "sample_size": explored.get("sample_size", 0),
            }
        )
    complete = all(path in draft.explore for path in draft.resource_paths)
    return {
        "draft": draft,
        "job": job,
        "results": results,
        "complete": complete,
        "working": working(job),
        "pii_labels": profiling.PII_LABELS,
    }


@wizard_view
def explore(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    if not draft.resource_paths:
        return redirect("onboarding:resources", draft.pk)
    context = _explore_context(draft)
    if request.method == "POST":
        if request.POST.get("action") == "continue" and context["complete"]:
            save_step(draft, "explore")
            return wizard_redirect(request, "dataset", draft.pk)
        if not context["working"]:
            start_draft_job(request, draft, tasks.EXPLORE, tasks.explore_resources)
        return wizard_redirect(request, "explore", draft.pk)
    return render(request, "onboarding/step_explore.html", page_context(draft, "explore", context))


@wizard_view
@vary_on_headers("HX-Request")
def explore_status(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    return poll(request, "onboarding/step_explore.html#results", _explore_context(draft))


# -- step 4: dataset ---------------------------------------------------------------------------


def _dataset_context(draft: Draft, query: str) -> dict:
    job = draft_job(draft, tasks.DATASETS)
    needle = query.lower()
    shown = [
        d
        for d in draft.dataset_choices
        if not needle or needle in d["name"].lower() or needle in d["schema_title"].lower()
    ]
    return {
        "draft": draft,
        "job": job,
        "working": working(job),
        "choices": shown,
        "query": query,
    }


@wizard_view
def dataset(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    if not draft.explore:
        return redirect("onboarding:explore", draft.pk)
    account_name = draft.account.name if draft.account else draft.account_name
    initial = {}
    for path in draft.resource_paths:
        chosen = draft.datasets.get(path) or {}
        initial[f"mode_{path}"] = chosen.get("mode", "new")
        initial[f"name_{path}"] = (
            chosen.get("name") if chosen.get("mode", "new") == "new" else ""
        ) or provisioning.default_dataset_name(account_name, path)
        initial[f"dataset_{path}"] = chosen.get("dataset_id", "")
    form = forms.DatasetChoiceForm(posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        draft.datasets = form.datasets()
        draft.mapping_checks = {}
        save_step(draft, "dataset", "datasets", "mapping_checks")
        if not draft.sandbox.identity_namespaces:
            # Identity rows of a new schema choose their namespace on the Mapping step.
            start_draft_job(request, draft, tasks.NAMESPACES, tasks.list_namespaces)
        return wizard_redirect(request, "mapping", draft.pk)
    rows = [
        {
            "path": path,
            "mode": form[f"mode_{path}"],
            "name": form[f"name_{path}"],
            "dataset": form[f"dataset_{path}"],
        }
        for path in draft.resource_paths
    ]
    context = page_context(
        draft, "dataset", _dataset_context(draft, request.GET.get("q", "")), form=form, rows=rows
    )
    return render(request, "onboarding/step_dataset.html", context)


@require_POST
@wizard_view
def dataset_refresh(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    if not working(draft_job(draft, tasks.DATASETS)):
        start_draft_job(request, draft, tasks.DATASETS, tasks.list_datasets)
    return wizard_redirect(request, "dataset", draft.pk)


@wizard_view
@vary_on_headers("HX-Request")
def dataset_status(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    context = _dataset_context(draft, request.GET.get("q", ""))
    response = poll(request, "onboarding/step_dataset.html#datasets", context)
    if request.htmx and not context["working"]:
        # The dataset pickers on the page were drawn before the list existed.
        response["HX-Refresh"] = "true"
    return response
