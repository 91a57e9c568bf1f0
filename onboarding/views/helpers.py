"""What the wizard pages share: access to a draft, the stepper, redirects, jobs and polling.

Only the modules of this package use these; anything two of them need lives here.
"""

from __future__ import annotations

from functools import wraps

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HTMX_STOP_POLLING, HttpResponseClientRedirect

from core.decorators import requires
from core.jobs import latest_job, start_job
from core.models import Job
from onboarding import forms, tasks
from onboarding import schedule as schedules
from onboarding.models import STEP_NAMES, STEPS, Draft


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


def posted(request):
    """The POST data of a POST (even an empty one, which must still be validated), else None."""
    return request.POST if request.method == "POST" else None


def draft_for(request, pk) -> Draft:
    draft = get_object_or_404(Draft.objects.select_related("sandbox", "account"), pk=pk)
    if not draft.can_access(request.user):
        raise NoAccess
    return draft


def redirect_unless_editable(draft: Draft):
    """A redirect to the progress page when the draft has left editing, else None."""
    if draft.is_editable:
        return None
    return redirect("onboarding:provisioning", draft.pk)


def wizard_redirect(request, name: str, *args) -> HttpResponse:
    url = reverse(f"onboarding:{name}", args=args)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# -- background jobs and the fragments that poll them -------------------------------------------


def draft_job(draft: Draft, kind: str) -> Job | None:
    return latest_job(kind, tasks.target(draft))


def start_draft_job(request, draft: Draft, kind: str, task) -> Job:
    return start_job(kind, tasks.target(draft), request.user, task)


def working(job: Job | None) -> bool:
    return job is not None and not job.is_done


def poll(request, template: str, context: dict) -> HttpResponse:
    """A status fragment; htmx stops polling once the context says nothing is working."""
    done = not context["working"]
    status = HTMX_STOP_POLLING if request.htmx and done else 200
    return render(request, template, context, status=status)


# -- the step pages ------------------------------------------------------------------------------


def stepper(draft: Draft, current: str) -> list[dict]:
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


def page_context(draft: Draft, current: str, *parts: dict, **extra) -> dict:
    context: dict = {}
    for part in parts:
        context.update(part)
    context.update(extra)
    context.update(draft=draft, steps=stepper(draft, current), current=current)
    context["share_form"] = forms.ShareForm(draft=draft)
    return context


def save_step(draft: Draft, step: str, *fields: str) -> None:
    draft.mark_reached(step)
    if fields:
        draft.save(update_fields=[*fields, "reached", "updated"])
    else:
        draft.save_entered()


# -- what the draft holds ------------------------------------------------------------------------


def explored_fields(draft: Draft, resource: str) -> list[dict]:
    """The fields exploring `resource` found; empty until it has been explored."""
    return (draft.explore.get(resource) or {}).get("fields") or []


def known_sources(draft: Draft, resource: str) -> set[str]:
    return {f["source"] for f in explored_fields(draft, resource)}


def schedule_summary(draft: Draft) -> str:
    """The schedule in one sentence, once the schedule step has been saved."""
    if not draft.start_time or draft.reached < STEP_NAMES.index("schedule"):
        return ""
    return schedules.summary(
        draft.frequency,
        draft.interval,
        draft.start_time,
        draft.backfill,
        draft.resource_paths,
        draft.time_zone,
    )
