"""Steps 6 and 7: when the dataflows run, then the last look before Create."""

from __future__ import annotations

import json

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.vary import vary_on_headers

from core.http import AuthenticatedHttpRequest
from monitoring.models import Dataflow
from onboarding import forms, identities, mapping, provisioning, tasks
from onboarding import schedule as schedules
from onboarding.models import STEP_NAMES, Draft
from onboarding.views.helpers import (
    draft_for,
    draft_job,
    known_sources,
    page_context,
    poll,
    posted,
    redirect_unless_editable,
    save_step,
    schedule_summary,
    start_draft_job,
    wizard_redirect,
    wizard_view,
    working,
)

# -- step 6: schedule --------------------------------------------------------------------------


def _default_start():
    """Now, as AEP's own wizard offers: the first run follows the creation at once.

    By the time the dataflows are created this has passed. It is sent as chosen: a new flow's
    startTime has no lower bound, and one already past runs its first window on creation
    (docs/aep-api-notes.md §2.4.6).
    """
    return timezone.now().replace(second=0, microsecond=0)


def _schedule_context(draft: Draft) -> dict:
    job = draft_job(draft, tasks.ESTIMATE)
    return {
        "draft": draft,
        "job": job,
        "working": working(job),
        "summary": schedule_summary(draft),
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
    for path in draft.profile_datasets:
        _default_identity(draft, path)


def _default_identity(draft: Draft, path: str) -> None:
    """Profile needs a primary identity: without an identity row, the resource's email field
    becomes one (its namespace defaults to Email on the Mapping step, where it can change)."""
    rows = draft.mappings.get(path) or []
    if any(row.get("identity") for row in rows):
        return
    email = identities.email_row(draft, path)
    if email is not None:
        email["identity"] = True
        draft.mapping_checks.pop(path, None)


def _schedule_zone(request: AuthenticatedHttpRequest, draft: Draft) -> str:
    """The draft's zone once the step was saved; before that, the person's own (their saved
    preference or their browser's, see core.preferences), so the first run is in their time."""
    if draft.reached >= STEP_NAMES.index("schedule"):
        return draft.time_zone
    return getattr(request, "time_zone", draft.time_zone)


@wizard_view
def schedule(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    if draft.reached < STEP_NAMES.index("mapping"):
        return redirect("onboarding:mapping", draft.pk)
    start_time = draft.start_time or _default_start()
    zone = _schedule_zone(request, draft)
    initial = {
        "frequency": draft.frequency,
        "interval": draft.interval or "",
        "start_time": schedules.local_input(start_time, zone),
        "time_zone": zone,
        "backfill": draft.backfill,
        **_options_initial(draft),
    }
    form = forms.ScheduleForm(posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft.frequency = data["frequency"]
        draft.interval = None if draft.frequency == "once" else data["interval"]
        draft.start_time = form.start()
        draft.time_zone = data["time_zone"]
        draft.backfill = data["backfill"] and draft.frequency != "once"
        draft.estimate = {}
        _apply_options(draft, form)
        save_step(draft, "schedule")
        if draft.access_token and (draft.backfill or draft.frequency == "once"):
            start_draft_job(request, draft, tasks.ESTIMATE, tasks.estimate_backfill)
        if request.POST.get("action") == "next":
            return wizard_redirect(request, "review", draft.pk)
        return wizard_redirect(request, "schedule", draft.pk)
    context = page_context(draft, "schedule", _schedule_context(draft), form=form)
    return render(request, "onboarding/step_schedule.html", context)


@wizard_view
@vary_on_headers("HX-Request")
def schedule_status(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    return poll(request, "onboarding/step_schedule.html#estimate", _schedule_context(draft))


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
            draft.mappings.get(path) or [], draft.tenant_namespace, known_sources(draft, path)
        ):
            problems.append(("mapping", f"{path}: {message}"))
        if provisioning.wants_profile(draft, path) and not identities.identities(draft, path):
            problems.append(
                (
                    "mapping",
                    _("%(p)s is enabled for Profile but no mapping row is an identity.")
                    % {"p": path},
                )
            )
        for message in identities.problems(draft, path):
            problems.append(("mapping", f"{path}: {message}"))
    if draft.reached < STEP_NAMES.index("schedule") or not draft.start_time:
        problems.append(("schedule", _("The schedule is not set.")))
    elif schedules.interval_error(draft.frequency, draft.interval):
        problems.append(("schedule", schedules.interval_error(draft.frequency, draft.interval)))
    return problems


@wizard_view
def review(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    problems = draft_problems(draft)
    if request.method == "POST" and not problems:
        # A second click (or another tab) finds the draft no longer editing and changes nothing.
        provisioning.start(draft, tasks.provision)
        return wizard_redirect(request, "provisioning", draft.pk)
    if draft.reached >= STEP_NAMES.index("schedule"):
        draft.mark_reached("review")
        draft.save(update_fields=["reached", "updated"])
    groups = provisioning.review_groups(draft) if not problems else []
    for group in groups:
        for item in group["items"]:
            item["payload"] = json.dumps(item["payload"], indent=2, ensure_ascii=False)
    context = page_context(
        draft, "review", problems=problems, groups=groups, summary=schedule_summary(draft)
    )
    return render(request, "onboarding/step_review.html", context)
