"""Wizard pages. They read and write the database only; every AEP or Stripe call is a task."""

from __future__ import annotations

import json
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from core.jobs import latest_job, start_job
from core.models import Job
from core.roles import ADMIN, role_of
from monitoring.models import Account, Dataflow
from onboarding import forms, mapping, profiling, provisioning, tasks
from onboarding import schedule as schedules
from onboarding.models import STEP_NAMES, STEPS, Draft, ProvisioningStep
from onboarding.stripe_probe import READABLE, key_shape


class NoAccess(Exception):
    pass


def wizard_view(view):
    """Role check, and the draft-access page when the user may not open the draft.

    CSRF is the middleware's; an oversized post gets the site's 413 page from core.errors.
    """

    @wraps(view)
    def guarded(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NoAccess:
            return render(request, "onboarding/no_access.html", status=403)

    return requires("run_wizard")(guarded)


def _posted(request):
    """The POST data of a POST (even an empty one, which must still be validated), else None."""
    return request.POST if request.method == "POST" else None


def _draft_for(request, pk, *, editable: bool = True) -> Draft:
    draft = get_object_or_404(Draft.objects.select_related("sandbox", "account"), pk=pk)
    if not draft.can_access(request.user):
        raise NoAccess
    return draft


def _editable(draft: Draft):
    """A redirect to the progress page when the draft has left editing, else None."""
    if draft.is_editable:
        return None
    return redirect("onboarding:provisioning", draft.pk)


def _next(request, name: str, *args) -> HttpResponse:
    url = reverse(f"onboarding:{name}", args=args)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _job(draft: Draft, kind: str) -> Job | None:
    return latest_job(kind, tasks.target(draft))


def _poll(request, template: str, context: dict, done: bool) -> HttpResponse:
    status = HTMX_STOP_POLLING if request.htmx and done else 200
    return render(request, template, context, status=status)


def _stepper(draft: Draft, current: str) -> list[dict]:
    steps = []
    for index, (name, label) in enumerate(STEPS):
        steps.append(
            {
                "name": name,
                "label": label,
                "number": index + 1,
                "current": name == current,
                "done": index <= draft.reached,
                "open": index <= draft.reached + 1,
                "url": reverse(f"onboarding:{name}", args=[draft.pk]),
            }
        )
    return steps


def _context(draft: Draft, current: str, *parts: dict, **extra) -> dict:
    context: dict = {}
    for part in parts:
        context.update(part)
    context.update(extra)
    context.update(draft=draft, steps=_stepper(draft, current), current=current)
    context["share_form"] = forms.ShareForm(draft=draft)
    return context


def _save_step(draft: Draft, step: str, *fields: str) -> None:
    draft.mark_reached(step)
    draft.save(update_fields=[*fields, "reached", "updated"] if fields else None)


# -- drafts list and start ---------------------------------------------------------------------


@wizard_view
def drafts(request: AuthenticatedHttpRequest):
    visible = Draft.objects.exclude(status=Draft.Status.DISCARDED).select_related(
        "sandbox", "account", "created_by"
    )
    if not request.user.is_superuser and role_of(request.user) != ADMIN:
        visible = visible.filter(Q(created_by=request.user) | Q(shared_with=request.user))
    visible = visible.distinct()
    return render(
        request,
        "onboarding/drafts.html",
        {
            "open_drafts": [d for d in visible if d.status != Draft.Status.DONE],
            "finished": [d for d in visible if d.status == Draft.Status.DONE][:10],
            "step_labels": dict(STEPS),
            "step_names": STEP_NAMES,
        },
    )


def _account_context(form, draft: Draft | None) -> dict:
    return {
        "form": form,
        "accounts": forms.accounts_for(),
        "has_sandboxes": form.fields["sandbox"].queryset.exists(),
        "draft": draft,
    }


@wizard_view
def start(request: AuthenticatedHttpRequest):
    form = forms.AccountForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        draft = Draft(sandbox=form.cleaned_data["sandbox"], created_by=request.user)
        with transaction.atomic():
            _apply_account(request, draft, form)
        return _after_account(request, draft)
    context = _account_context(form, None)
    context["steps"] = [
        {"name": name, "label": label, "number": i + 1, "current": i == 0, "open": i == 0}
        for i, (name, label) in enumerate(STEPS)
    ]
    return render(request, "onboarding/step_account.html", context)


def _apply_account(request, draft: Draft, form: forms.AccountForm) -> None:
    """Save step 1 and start the key probe when a new key was entered."""
    data = form.cleaned_data
    draft.account_name = data.get("account_name") or ""
    draft.account_description = data.get("account_description") or ""
    if draft.connection_id:
        draft.save()
        return
    draft.sandbox = data["sandbox"]
    draft.account_mode = data["account_mode"]
    if draft.account_mode == Draft.AccountMode.EXISTING:
        account: Account = data["account"]
        draft.account = account
        draft.account_name = account.name
        draft.probe = account.probe_result or {}
        draft.probed_at = account.probed_at
        draft.key_kind, draft.livemode = account.key_kind, account.livemode
        draft.token_last4 = account.token_last4
        draft.forget_token()
        draft.mark_reached("account")
        draft.save()
        return
    draft.account = None
    token = data.get("access_token")
    draft.save()
    if token:
        draft.access_token = token
        draft.token_last4 = token[-4:]
        draft.key_kind, draft.livemode = key_shape(token) or ("", False)
        draft.probe, draft.probed_at = {}, None
        draft.save()
        start_job(tasks.PROBE, tasks.target(draft), request.user, tasks.probe_stripe_key)


def _after_account(request, draft: Draft) -> HttpResponse:
    if draft.account_mode == Draft.AccountMode.EXISTING:
        return _next(request, "resources", draft.pk)
    return _next(request, "account", draft.pk)


@wizard_view
def resume(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if not draft.is_editable:
        return redirect("onboarding:provisioning", draft.pk)
    step = STEP_NAMES[min(draft.reached + 1, len(STEP_NAMES) - 1)]
    return redirect(f"onboarding:{step}", draft.pk)


# -- step 1: sandbox and account ---------------------------------------------------------------


def _probe_context(draft: Draft) -> dict:
    probe_job = _job(draft, tasks.PROBE)
    connect_job = _job(draft, tasks.CONNECT)
    readable = [p for p, r in (draft.probe or {}).items() if r.get("status") == READABLE]
    key_error = (probe_job.result or {}).get("key_error") if probe_job else ""
    return {
        "draft": draft,
        "probe_job": probe_job,
        "connect_job": connect_job,
        "matrix": [(p, (draft.probe or {}).get(p) or {}) for p in STRIPE_RESOURCE_PATHS],
        "readable": readable,
        "key_error": key_error,
        "live_on_sandbox": draft.livemode and not draft.sandbox.is_production,
        "can_connect": bool(readable) and not key_error and not draft.connection_id,
        "working": _working(probe_job) or _working(connect_job),
    }


def _working(job: Job | None) -> bool:
    return job is not None and not job.is_done


@wizard_view
def account(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    initial = {
        "sandbox": draft.sandbox_id,
        "account_mode": draft.account_mode,
        "account": draft.account_id,
        "account_name": draft.account_name,
        "account_description": draft.account_description,
    }
    form = forms.AccountForm(_posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            _apply_account(request, draft, form)
        return _after_account(request, draft)
    context = _context(draft, "account", _account_context(form, draft), _probe_context(draft))
    return render(request, "onboarding/step_account.html", context)


@wizard_view
@vary_on_headers("HX-Request")
def account_status(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    context = _probe_context(draft)
    return _poll(
        request, "onboarding/step_account.html#probe", context, done=not context["working"]
    )


@require_POST
@wizard_view
def connect(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    context = _probe_context(draft)
    if context["can_connect"] and not _working(context["connect_job"]):
        start_job(tasks.CONNECT, tasks.target(draft), request.user, tasks.connect_account)
    if request.htmx:
        return render(request, "onboarding/step_account.html#probe", _probe_context(draft))
    return redirect("onboarding:account", draft.pk)


# -- step 2: resources -------------------------------------------------------------------------


def _base_ready(draft: Draft) -> bool:
    return bool(draft.base_connection_id)


@wizard_view
def resources(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    if not _base_ready(draft):
        messages.info(request, _("Connect the Stripe account first."))
        return redirect("onboarding:account", draft.pk)
    account_name = draft.account.name if draft.account_id else draft.account_name
    initial = {"resource_paths": draft.resource_paths}
    for path in STRIPE_RESOURCE_PATHS:
        initial[f"name_{path}"] = draft.flow_names.get(path) or provisioning.default_flow_name(
            account_name, path
        )
    form = forms.ResourcesForm(_posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["resource_paths"]
        draft.resource_paths = chosen
        draft.flow_names = form.flow_names()
        for stale in set(draft.explore) - set(chosen):
            draft.explore.pop(stale, None)
            draft.mappings.pop(stale, None)
            draft.datasets.pop(stale, None)
        _save_step(draft, "resources")
        if any(path not in draft.explore for path in chosen):
            start_job(tasks.EXPLORE, tasks.target(draft), request.user, tasks.explore_resources)
        return _next(request, "explore", draft.pk)
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
    context = _context(draft, "resources", form=form, rows=rows, unchecked=not draft.probe)
    return render(request, "onboarding/step_resources.html", context)


# -- step 3: explore ---------------------------------------------------------------------------


def _explore_context(draft: Draft) -> dict:
    job = _job(draft, tasks.EXPLORE)
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
        "working": _working(job),
        "pii_labels": profiling.PII_LABELS,
    }


@wizard_view
def explore(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    if not draft.resource_paths:
        return redirect("onboarding:resources", draft.pk)
    context = _explore_context(draft)
    if request.method == "POST":
        if request.POST.get("action") == "continue" and context["complete"]:
            _save_step(draft, "explore")
            return _next(request, "dataset", draft.pk)
        if not context["working"]:
            start_job(tasks.EXPLORE, tasks.target(draft), request.user, tasks.explore_resources)
        return _next(request, "explore", draft.pk)
    return render(request, "onboarding/step_explore.html", _context(draft, "explore", context))


@wizard_view
@vary_on_headers("HX-Request")
def explore_status(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    context = _explore_context(draft)
    return _poll(
        request, "onboarding/step_explore.html#results", context, done=not context["working"]
    )


# -- step 4: dataset ---------------------------------------------------------------------------


def _dataset_context(draft: Draft, query: str) -> dict:
    job = _job(draft, tasks.DATASETS)
    needle = query.lower()
    shown = [
        d
        for d in draft.dataset_choices
        if not needle or needle in d["name"].lower() or needle in d["schema_title"].lower()
    ]
    return {
        "draft": draft,
        "job": job,
        "working": _working(job),
        "choices": shown,
        "query": query,
    }


@wizard_view
def dataset(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    if not draft.explore:
        return redirect("onboarding:explore", draft.pk)
    initial = {}
    for path in draft.resource_paths:
        chosen = draft.datasets.get(path) or {}
        initial[f"mode_{path}"] = chosen.get("mode", "new")
        initial[f"name_{path}"] = (
            chosen.get("name") if chosen.get("mode", "new") == "new" else ""
        ) or f"Stripe {provisioning.resource_label(path)}"
        initial[f"dataset_{path}"] = chosen.get("dataset_id", "")
    form = forms.DatasetChoiceForm(_posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        draft.datasets = form.datasets()
        draft.mapping_checks = {}
        _save_step(draft, "dataset", "datasets", "mapping_checks")
        return _next(request, "mapping", draft.pk)
    rows = [
        {
            "path": path,
            "mode": form[f"mode_{path}"],
            "name": form[f"name_{path}"],
            "dataset": form[f"dataset_{path}"],
        }
        for path in draft.resource_paths
    ]
    context = _context(
        draft, "dataset", _dataset_context(draft, request.GET.get("q", "")), form=form, rows=rows
    )
    return render(request, "onboarding/step_dataset.html", context)


@require_POST
@wizard_view
def dataset_refresh(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    if not _working(_job(draft, tasks.DATASETS)):
        start_job(tasks.DATASETS, tasks.target(draft), request.user, tasks.list_datasets)
    return _next(request, "dataset", draft.pk)


@wizard_view
@vary_on_headers("HX-Request")
def dataset_status(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    context = _dataset_context(draft, request.GET.get("q", ""))
    response = _poll(
        request, "onboarding/step_dataset.html#datasets", context, done=not context["working"]
    )
    if request.htmx and not context["working"]:
        # The dataset pickers on the page were drawn before the list existed.
        response["HX-Refresh"] = "true"
    return response


# -- step 5: mapping ---------------------------------------------------------------------------


def _mapping_draft(request, pk, resource: str) -> Draft:
    draft = _draft_for(request, pk)
    if resource not in draft.resource_paths:
        raise Http404
    return draft


def _known_sources(draft: Draft, resource: str) -> set[str]:
    fields = (draft.explore.get(resource) or {}).get("fields") or []
    return {f["source"] for f in fields}


def _formset(draft: Draft, resource: str, data=None):
    rows = draft.mappings.get(resource) or []
    return forms.MappingFormSet(
        data,
        initial=None if data is not None else rows,
        prefix="rows",
        tenant_namespace=draft.tenant_namespace,
        known_sources=_known_sources(draft, resource),
    )


def _mapping_context(draft: Draft, resource: str, formset=None, **extra) -> dict:
    check_job = latest_job(tasks.CHECK_MAPPING, f"{tasks.target(draft)}:{resource}")
    import_job = latest_job(tasks.IMPORT_MAPPING, f"{tasks.target(draft)}:{resource}")
    rows = draft.mappings.get(resource) or []
    fields = (draft.explore.get(resource) or {}).get("fields") or []
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
        "working": _working(check_job) or _working(import_job),
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
        **extra,
    }


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
    draft = _draft_for(request, pk)
    if not draft.resource_paths:
        return redirect("onboarding:resources", draft.pk)
    return redirect("onboarding:mapping-resource", draft.pk, draft.resource_paths[0])


@wizard_view
def mapping_resource(request: AuthenticatedHttpRequest, pk, resource: str):
    draft = _mapping_draft(request, pk, resource)
    if response := _editable(draft):
        return response
    if not draft.datasets:
        return redirect("onboarding:dataset", draft.pk)
    if request.method != "POST":
        context = _mapping_context(draft, resource)
        return render(request, "onboarding/step_mapping.html", _context(draft, "mapping", context))
    action = request.POST.get("action", "save")
    if action == "recipe":
        return _add_recipe(request, draft, resource)
    if action == "reset":
        fields = (draft.explore.get(resource) or {}).get("fields") or []
        draft.mappings[resource] = mapping.default_rows(draft.tenant_namespace, resource, fields)
        draft.mapping_checks.pop(resource, None)
        draft.save(update_fields=["mappings", "mapping_checks", "updated"])
        return _next(request, "mapping-resource", draft.pk, resource)
    formset = _formset(draft, resource, request.POST)
    if not formset.is_valid():
        context = _mapping_context(draft, resource, formset)
        return render(request, "onboarding/step_mapping.html", _context(draft, "mapping", context))
    rows = formset.rows()
    if rows != draft.mappings.get(resource):
        draft.mapping_checks.pop(resource, None)
    draft.mappings[resource] = rows
    draft.save(update_fields=["mappings", "mapping_checks", "updated"])
    if action in ("validate", "preview"):
        _start_check(request, draft, resource, action)
    elif action == "next":
        return _mapping_next(request, draft, resource)
    return _next(request, "mapping-resource", draft.pk, resource)


def _start_check(request, draft: Draft, resource: str, action: str) -> None:
    target = f"{tasks.target(draft)}:{resource}"
    job = Job.objects.create(kind=tasks.CHECK_MAPPING, target=target, created_by=request.user)
    tasks.check_mapping.delay_on_commit(str(job.pk), resource, action)


def _mapping_next(request, draft: Draft, resource: str) -> HttpResponse:
    """The next resource's mapping, or the schedule once every mapping is sound."""
    position = draft.resource_paths.index(resource)
    if position + 1 < len(draft.resource_paths):
        return _next(request, "mapping-resource", draft.pk, draft.resource_paths[position + 1])
    for path in draft.resource_paths:
        problems = mapping.mapping_errors(
            draft.mappings.get(path) or [], draft.tenant_namespace, _known_sources(draft, path)
        )
        if problems:
            messages.error(
                request,
                _("The %(resource)s mapping needs attention: %(problem)s")
                % {"resource": path, "problem": problems[0]},
            )
            return _next(request, "mapping-resource", draft.pk, path)
    _save_step(draft, "mapping")
    return _next(request, "schedule", draft.pk)


def _add_recipe(request, draft: Draft, resource: str) -> HttpResponse:
    fields = (draft.explore.get(resource) or {}).get("fields") or []
    recipe_form = forms.RecipeForm(request.POST, fields=fields)
    if not recipe_form.is_valid():
        context = _mapping_context(draft, resource, recipe_form=recipe_form)
        return render(request, "onboarding/step_mapping.html", _context(draft, "mapping", context))
    recipe = mapping.RECIPES[recipe_form.cleaned_data["recipe"]]
    source = recipe_form.cleaned_data["field"]
    destination = mapping.recipe_destination(recipe, source, draft.tenant_namespace, resource)
    rows = draft.mappings.setdefault(resource, [])
    if destination not in {r["destination"] for r in rows}:
        rows.append(mapping.recipe_row(recipe, source, destination))
        draft.mapping_checks.pop(resource, None)
        draft.save(update_fields=["mappings", "mapping_checks", "updated"])
    messages.success(request, _("Added the calculated field %(path)s.") % {"path": destination})
    return _next(request, "mapping-resource", draft.pk, resource)


@require_POST
@wizard_view
def mapping_import(request: AuthenticatedHttpRequest, pk, resource: str):
    draft = _mapping_draft(request, pk, resource)
    if response := _editable(draft):
        return response
    if "csv_file" in request.FILES:
        csv_form = forms.ImportCSVForm(request.POST, request.FILES)
        if not csv_form.is_valid():
            context = _mapping_context(draft, resource, csv_form=csv_form)
            return render(
                request, "onboarding/step_mapping.html", _context(draft, "mapping", context)
            )
        draft.mappings[resource] = csv_form.cleaned_data["csv_file"]
        draft.mapping_checks.pop(resource, None)
        draft.save(update_fields=["mappings", "mapping_checks", "updated"])
        messages.success(request, _("Imported the mapping from the CSV file."))
        return _next(request, "mapping-resource", draft.pk, resource)
    flow_form = forms.ImportFlowForm(request.POST, draft=draft)
    if not flow_form.is_valid():
        context = _mapping_context(draft, resource, flow_form=flow_form)
        return render(request, "onboarding/step_mapping.html", _context(draft, "mapping", context))
    job = Job.objects.create(
        kind=tasks.IMPORT_MAPPING,
        target=f"{tasks.target(draft)}:{resource}",
        created_by=request.user,
    )
    tasks.import_flow_mapping.delay_on_commit(
        str(job.pk), resource, flow_form.cleaned_data["dataflow"].pk
    )
    return _next(request, "mapping-resource", draft.pk, resource)


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
    response = _poll(
        request, "onboarding/step_mapping.html#checks", context, done=not context["working"]
    )
    if request.htmx and not context["working"] and request.GET.get("refresh"):
        # An import replaced the rows the page shows.
        response["HX-Refresh"] = "true"
    return response


# -- step 6: schedule --------------------------------------------------------------------------


def _default_start():
    soon = timezone.now() + timezone.timedelta(minutes=10)
    return soon.replace(second=0, microsecond=0)


def _schedule_context(draft: Draft) -> dict:
    job = _job(draft, tasks.ESTIMATE)
    summary = ""
    if draft.start_time and draft.reached >= STEP_NAMES.index("schedule"):
        summary = schedules.summary(
            draft.frequency,
            draft.interval,
            draft.start_time,
            draft.backfill,
            draft.resource_paths,
            draft.time_zone,
        )
    return {
        "draft": draft,
        "job": job,
        "working": _working(job),
        "summary": summary,
        "estimates": [(p, draft.estimate.get(p)) for p in draft.resource_paths],
        "can_estimate": bool(draft.access_token),
    }


def _options_initial(draft: Draft) -> dict:
    percent = draft.partial_ingestion_percent
    return {
        "error_diagnostics": draft.error_diagnostics,
        "partial_ingestion": draft.partial_ingestion,
        "partial_ingestion_percent": "" if percent is None else f"{percent:g}",
        "alert_on_failure": draft.alert_on_failure,
        **{f"profile_{path}": True for path in draft.profile_datasets or []},
    }


def _apply_options(draft: Draft, form: forms.ScheduleForm) -> None:
    data = form.cleaned_data
    draft.error_diagnostics = data["error_diagnostics"]
    draft.partial_ingestion = data["partial_ingestion"]
    draft.partial_ingestion_percent = (
        data["partial_ingestion_percent"] if draft.partial_ingestion else None
    )
    draft.alert_on_failure = data["alert_on_failure"]
    draft.profile_datasets = form.profile_choice()


@wizard_view
def schedule(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    if draft.reached < STEP_NAMES.index("mapping"):
        return redirect("onboarding:mapping", draft.pk)
    start_time = draft.start_time or _default_start()
    initial = {
        "frequency": draft.frequency,
        "interval": draft.interval or "",
        "start_time": schedules.local_input(start_time, draft.time_zone),
        "time_zone": draft.time_zone,
        "backfill": draft.backfill,
        **_options_initial(draft),
    }
    form = forms.ScheduleForm(_posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft.frequency = data["frequency"]
        draft.interval = None if draft.frequency == "once" else data["interval"]
        draft.start_time = form.start()
        draft.time_zone = data["time_zone"]
        draft.backfill = data["backfill"] and draft.frequency != "once"
        draft.estimate = {}
        _apply_options(draft, form)
        _save_step(draft, "schedule")
        if draft.access_token and (draft.backfill or draft.frequency == "once"):
            start_job(tasks.ESTIMATE, tasks.target(draft), request.user, tasks.estimate_backfill)
        if request.POST.get("action") == "next":
            return _next(request, "review", draft.pk)
        return _next(request, "schedule", draft.pk)
    context = _context(draft, "schedule", _schedule_context(draft), form=form)
    return render(request, "onboarding/step_schedule.html", context)


@wizard_view
@vary_on_headers("HX-Request")
def schedule_status(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    context = _schedule_context(draft)
    return _poll(
        request, "onboarding/step_schedule.html#estimate", context, done=not context["working"]
    )


# -- step 7: review and create -----------------------------------------------------------------


def draft_problems(draft: Draft) -> list[tuple[str, str]]:
    """(step, sentence) for everything that still stops Create."""
    problems: list[tuple[str, str]] = []
    if not draft.base_connection_id:
        problems.append(("account", _("The Stripe account is not connected yet.")))
    if not draft.resource_paths:
        problems.append(("resources", _("No Stripe data is chosen.")))
    taken = set(
        Dataflow.objects.filter(sandbox=draft.sandbox, deleted_at=None).values_list(
            "name", flat=True
        )
    )
    for path in draft.resource_paths:
        name = provisioning.names_for(draft, path).flow
        if name in taken:
            problems.append(("resources", _("A dataflow called “%(n)s” exists.") % {"n": name}))
        if path not in draft.explore:
            problems.append(("explore", _("%(p)s has not been explored.") % {"p": path}))
        if path not in draft.datasets:
            problems.append(("dataset", _("No dataset chosen for %(p)s.") % {"p": path}))
        for message in mapping.mapping_errors(
            draft.mappings.get(path) or [], draft.tenant_namespace, _known_sources(draft, path)
        ):
            problems.append(("mapping", f"{path}: {message}"))
        if provisioning.wants_profile(draft, path) and not any(
            row.get("identity") for row in draft.mappings.get(path) or []
        ):
            problems.append(
                (
                    "mapping",
                    _("%(p)s is enabled for Profile but no mapping row is an identity.")
                    % {"p": path},
                )
            )
    if draft.reached < STEP_NAMES.index("schedule") or not draft.start_time:
        problems.append(("schedule", _("The schedule is not set.")))
    elif schedules.interval_error(draft.frequency, draft.interval):
        problems.append(("schedule", schedules.interval_error(draft.frequency, draft.interval)))
    return problems


@wizard_view
def review(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if response := _editable(draft):
        return response
    problems = draft_problems(draft)
    if request.method == "POST" and not problems:
        _start_provisioning(request, draft)
        return _next(request, "provisioning", draft.pk)
    if draft.reached >= STEP_NAMES.index("schedule"):
        draft.mark_reached("review")
        draft.save(update_fields=["reached", "updated"])
    groups = provisioning.review_groups(draft) if not problems else []
    for group in groups:
        for item in group["items"]:
            item["payload"] = json.dumps(item["payload"], indent=2, ensure_ascii=False)
    context = _context(
        draft,
        "review",
        problems=problems,
        groups=groups,
        summary=_schedule_context(draft)["summary"],
    )
    return render(request, "onboarding/step_review.html", context)


def _start_provisioning(request, draft: Draft) -> None:
    with transaction.atomic():
        provisioning.create_steps(draft)
        draft.status = Draft.Status.PROVISIONING
        draft.attempt += 1
        draft.heartbeat = None
        draft.error = ""
        draft.save()
        tasks.provision.delay_on_commit(str(draft.pk), draft.attempt)


# -- provisioning ------------------------------------------------------------------------------


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
    draft = _draft_for(request, pk)
    if draft.status == Draft.Status.EDITING:
        return redirect("onboarding:review", draft.pk)
    if draft.status == Draft.Status.DONE:
        return redirect("onboarding:done", draft.pk)
    return render(request, "onboarding/provisioning.html", _progress_context(draft))


@wizard_view
@vary_on_headers("HX-Request")
def progress_status(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if draft.status == Draft.Status.DONE and request.htmx:
        return HttpResponseClientRedirect(reverse("onboarding:done", args=[draft.pk]))
    context = _progress_context(draft)
    return _poll(
        request, "onboarding/provisioning.html#progress", context, done=not context["working"]
    )


@require_POST
@wizard_view
def retry(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    resumable = draft.status == Draft.Status.FAILED or draft.is_stale
    if resumable:
        with transaction.atomic():
            # Objects a failed discard already removed must be created again.
            draft.steps.filter(status=ProvisioningStep.Status.DELETED).update(
                status=ProvisioningStep.Status.PENDING, aep_id="", created_here=False
            )
            draft.status = Draft.Status.PROVISIONING
            draft.attempt += 1
            draft.heartbeat = None
            draft.error = ""
            draft.save()
            tasks.provision.delay_on_commit(str(draft.pk), draft.attempt)
    return _next(request, "provisioning", draft.pk)


def _created_anything(draft: Draft) -> bool:
    if draft.account_mode == Draft.AccountMode.NEW and draft.connection_id:
        return True
    return draft.steps.exclude(
        status__in=[ProvisioningStep.Status.PENDING, ProvisioningStep.Status.DELETED]
    ).exists()


@require_POST
@wizard_view
def discard(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if draft.status in (Draft.Status.DONE, Draft.Status.DISCARDING):
        return _next(request, "provisioning", draft.pk)
    if draft.status == Draft.Status.PROVISIONING and not draft.is_stale:
        messages.error(request, _("Wait until creation stops before discarding."))
        return _next(request, "provisioning", draft.pk)
    if not _created_anything(draft):
        draft.status = Draft.Status.DISCARDED
        draft.forget_token()
        draft.save()
        messages.success(request, _("The draft was discarded. Nothing had been created in AEP."))
        return _next(request, "drafts")
    with transaction.atomic():
        draft.status = Draft.Status.DISCARDING
        draft.heartbeat = None
        draft.error = ""
        draft.save()
        tasks.discard_draft.delay_on_commit(str(draft.pk))
    return _next(request, "provisioning", draft.pk)


def _monitoring_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@wizard_view
def done(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
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
        "summary": _schedule_context(draft)["summary"],
    }
    return render(request, "onboarding/done.html", context)


@require_POST
@wizard_view
def share(request: AuthenticatedHttpRequest, pk):
    draft = _draft_for(request, pk)
    if draft.created_by_id != request.user.pk and not request.user.is_superuser:
        raise PermissionDenied
    form = forms.ShareForm(request.POST, draft=draft)
    if form.is_valid():
        colleague = form.cleaned_data["user"]
        draft.shared_with.add(colleague)
        messages.success(
            request, _("%(name)s can now continue this draft.") % {"name": colleague.username}
        )
    else:
        messages.error(request, _("Choose a colleague who may use the wizard."))
    return redirect("onboarding:resume", draft.pk)
