"""Step 5: the mapping editor, one Stripe resource at a time, with checks, imports and export."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from core.http import AuthenticatedHttpRequest
from core.jobs import latest_job, start_job
from core.uploads import refused_uploads
from onboarding import forms, mapping, provisioning, tasks
from onboarding.models import Draft
from onboarding.views.helpers import (
    draft_for,
    explored_fields,
    known_sources,
    page_context,
    poll,
    redirect_unless_editable,
    save_step,
    wizard_redirect,
    wizard_view,
    working,
)


def _mapping_draft(request, pk, resource: str) -> Draft:
    draft = draft_for(request, pk)
    if resource not in draft.resource_paths:
        raise Http404
    return draft


def _resource_target(draft: Draft, resource: str) -> str:
    """The job target of one resource's mapping: its checks and imports are per resource."""
    return f"{tasks.target(draft)}:{resource}"


def _set_rows(draft: Draft, resource: str, rows: list[dict]) -> None:
    """Store new rows for `resource`; its last check described the old ones, so drop it."""
    draft.mappings[resource] = rows
    draft.mapping_checks.pop(resource, None)
    draft.save(update_fields=["mappings", "mapping_checks", "updated"])


def _formset(draft: Draft, resource: str, data=None):
    rows = draft.mappings.get(resource) or []
    return forms.MappingFormSet(
        data,
        initial=None if data is not None else rows,
        prefix="rows",
        tenant_namespace=draft.tenant_namespace,
        known_sources=known_sources(draft, resource),
    )


def _mapping_context(draft: Draft, resource: str, formset=None, **extra) -> dict:
    check_job = latest_job(tasks.CHECK_MAPPING, _resource_target(draft, resource))
    import_job = latest_job(tasks.IMPORT_MAPPING, _resource_target(draft, resource))
    namespaces_job = latest_job(tasks.NAMESPACES, tasks.target(draft))
    rows = draft.mappings.get(resource) or []
    fields = explored_fields(draft, resource)
    check = draft.mapping_checks.get(resource)
    failed = sum(1 for r in (check or {}).get("rows", []) if not r["ok"])
    return {
        "draft": draft,
        "resource": resource,
        "formset": formset if formset is not None else _formset(draft, resource),
        "sources": [f["source"] for f in fields if f["leaf"]],
        "recipe_form": extra.pop("recipe_form", None) or forms.RecipeForm(fields=fields),
        "flow_form": extra.pop("flow_form", None) or forms.ImportFlowForm(draft=draft),
        "csv_form": extra.pop("csv_form", None) or forms.ImportCSVForm(),
        "recipes": mapping.RECIPES.values(),
        "check": check,
        "preview_rows": _preview_rows(check),
        "check_job": check_job,
        "import_job": import_job,
        "namespaces_job": namespaces_job,
        "working": working(check_job) or working(import_job) or working(namespaces_job),
        "identity_form": extra.pop("identity_form", None)
        or forms.IdentityForm(draft=draft, path=resource),
        "health": {
            "rows": len(rows),
            "identity": sum(1 for r in rows if r.get("identity")),
            "calculated": sum(1 for r in rows if r.get("kind") == mapping.EXPRESSION),
            "unmapped": len(
                {f["source"] for f in fields if f["leaf"]}
                - {r["source"] for r in rows if r.get("kind") != mapping.EXPRESSION}
            ),
            "failed": failed,
        },
        "namespace": draft.tenant_namespace,
        "new_dataset": provisioning.uses_new_dataset(draft, resource),
        "schema_pending": provisioning.schema_for_checks(draft, resource) is None,
        **extra,
    }


def _mapping_page(request, draft: Draft, resource: str, formset=None, **extra) -> HttpResponse:
    """The editor page; `formset` and the form keywords carry a submission back with its errors."""
    context = _mapping_context(draft, resource, formset, **extra)
    return render(request, "onboarding/step_mapping.html", page_context(draft, "mapping", context))


def _preview_rows(check: dict | None) -> list[tuple[str, list]]:
    if not check or check.get("action") != "preview":
        return []
    errors = check.get("errors") or []
    return [
        (json.dumps(record, indent=2, ensure_ascii=False), errors[i] if i < len(errors) else [])
        for i, record in enumerate(check.get("records") or [])
    ]


@wizard_view
def mapping_start(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if not draft.resource_paths:
        return redirect("onboarding:resources", draft.pk)
    return redirect("onboarding:mapping-resource", draft.pk, draft.resource_paths[0])


@wizard_view
def mapping_resource(request: AuthenticatedHttpRequest, pk, resource: str):
    draft = _mapping_draft(request, pk, resource)
    if response := redirect_unless_editable(draft):
        return response
    if not draft.datasets:
        return redirect("onboarding:dataset", draft.pk)
    if request.method != "POST":
        return _mapping_page(request, draft, resource)
    action = request.POST.get("action", "save")
    if action == "recipe":
        return _add_recipe(request, draft, resource)
    if action == "identities":
        return _save_identities(request, draft, resource)
    if action == "namespaces":
        if not working(latest_job(tasks.NAMESPACES, tasks.target(draft))):
            start_job(tasks.NAMESPACES, tasks.target(draft), request.user, tasks.list_namespaces)
        return wizard_redirect(request, "mapping-resource", draft.pk, resource)
    if action == "reset":
        fields = explored_fields(draft, resource)
        _set_rows(draft, resource, mapping.default_rows(draft.tenant_namespace, resource, fields))
        return wizard_redirect(request, "mapping-resource", draft.pk, resource)
    formset = _formset(draft, resource, request.POST)
    if not formset.is_valid():
        return _mapping_page(request, draft, resource, formset)
    rows = formset.rows()
    # Saving the rows unchanged keeps the last check: it still describes them.
    if rows != draft.mappings.get(resource):
        draft.mapping_checks.pop(resource, None)
    draft.mappings[resource] = rows
    draft.save(update_fields=["mappings", "mapping_checks", "updated"])
    if action in ("validate", "preview"):
        _start_check(request, draft, resource, action)
    elif action == "next":
        return _mapping_next(request, draft, resource)
    return wizard_redirect(request, "mapping-resource", draft.pk, resource)


def _start_check(request, draft: Draft, resource: str, action: str) -> None:
    target = _resource_target(draft, resource)
    start_job(tasks.CHECK_MAPPING, target, request.user, tasks.check_mapping, resource, action)


def _mapping_next(request, draft: Draft, resource: str) -> HttpResponse:
    """The next resource's mapping, or the schedule once every mapping is sound."""
    position = draft.resource_paths.index(resource)
    if position + 1 < len(draft.resource_paths):
        return wizard_redirect(
            request, "mapping-resource", draft.pk, draft.resource_paths[position + 1]
        )
    for path in draft.resource_paths:
        problems = mapping.mapping_errors(
            draft.mappings.get(path) or [], draft.tenant_namespace, known_sources(draft, path)
        )
        if problems:
            messages.error(
                request,
                _("The %(resource)s mapping needs attention: %(problem)s")
                % {"resource": path, "problem": problems[0]},
            )
            return wizard_redirect(request, "mapping-resource", draft.pk, path)
    save_step(draft, "mapping")
    return wizard_redirect(request, "schedule", draft.pk)


def _save_identities(request, draft: Draft, resource: str) -> HttpResponse:
    identity_form = forms.IdentityForm(request.POST, draft=draft, path=resource)
    if not identity_form.is_valid():
        return _mapping_page(request, draft, resource, identity_form=identity_form)
    identity_form.save(resource)
    draft.save(update_fields=["identities", "custom_namespace", "updated"])
    messages.success(request, _("Saved the identities of %(resource)s.") % {"resource": resource})
    return wizard_redirect(request, "mapping-resource", draft.pk, resource)


def _add_recipe(request, draft: Draft, resource: str) -> HttpResponse:
    recipe_form = forms.RecipeForm(request.POST, fields=explored_fields(draft, resource))
    if not recipe_form.is_valid():
        return _mapping_page(request, draft, resource, recipe_form=recipe_form)
    recipe = mapping.RECIPES[recipe_form.cleaned_data["recipe"]]
    source = recipe_form.cleaned_data["field"]
    destination = mapping.recipe_destination(recipe, source, draft.tenant_namespace, resource)
    rows = draft.mappings.get(resource) or []
    if destination not in {r["destination"] for r in rows}:
        _set_rows(draft, resource, [*rows, mapping.recipe_row(recipe, source, destination)])
    messages.success(request, _("Added the calculated field %(path)s.") % {"path": destination})
    return wizard_redirect(request, "mapping-resource", draft.pk, resource)


@require_POST
@wizard_view
def mapping_import(request: AuthenticatedHttpRequest, pk, resource: str):
    draft = _mapping_draft(request, pk, resource)
    if response := redirect_unless_editable(draft):
        return response
    uploaded = "csv_file" in request.FILES  # reads the body, refusing an oversized file
    refused = "csv_file" in refused_uploads(request)
    if uploaded or refused:
        csv_form = forms.ImportCSVForm(request.POST, request.FILES, refused=refused)
        if not csv_form.is_valid():
            return _mapping_page(request, draft, resource, csv_form=csv_form)
        _set_rows(draft, resource, csv_form.cleaned_data["csv_file"])
        messages.success(request, _("Imported the mapping from the CSV file."))
        return wizard_redirect(request, "mapping-resource", draft.pk, resource)
    flow_form = forms.ImportFlowForm(request.POST, draft=draft)
    if not flow_form.is_valid():
        return _mapping_page(request, draft, resource, flow_form=flow_form)
    start_job(
        tasks.IMPORT_MAPPING,
        _resource_target(draft, resource),
        request.user,
        tasks.import_flow_mapping,
        resource,
        flow_form.cleaned_data["dataflow"].pk,
    )
    return wizard_redirect(request, "mapping-resource", draft.pk, resource)


@wizard_view
def mapping_export(request: AuthenticatedHttpRequest, pk, resource: str):
    draft = _mapping_draft(request, pk, resource)
    response = HttpResponse(
        mapping.rows_to_csv(draft.mappings.get(resource) or []), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="mapping-{resource}.csv"'
    return response


@wizard_view
@vary_on_headers("HX-Request")
def mapping_status(request: AuthenticatedHttpRequest, pk, resource: str):
    draft = _mapping_draft(request, pk, resource)
    context = _mapping_context(draft, resource)
    response = poll(request, "onboarding/step_mapping.html#checks", context)
    if request.htmx and not context["working"] and request.GET.get("refresh"):
        # An import replaced the rows the page shows, or the namespaces arrived.
        response["HX-Refresh"] = "true"
    return response
