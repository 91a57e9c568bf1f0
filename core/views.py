from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django.views.i18n import set_language as django_set_language
from django_htmx.http import HTMX_STOP_POLLING

from core.forms import PreferenceForm
from core.http import AuthenticatedHttpRequest
from core.models import Job, Preference
from core.preferences import browser_time_zone, save_language


@login_required
def home(request: AuthenticatedHttpRequest):
    return render(request, "core/home.html")


@require_GET
@login_required
@vary_on_headers("HX-Request")
def job_status(request: AuthenticatedHttpRequest, pk):
    """DB-only status of a background job; stops the page's polling once the job has ended."""
    job = get_object_or_404(Job, pk=pk)
    if job.created_by_id != request.user.pk and not request.user.is_superuser:
        raise Http404
    status = HTMX_STOP_POLLING if request.htmx and job.is_done else 200
    return render(request, "core/job_status.html", {"job": job}, status=status)


@require_POST
def set_language(request: HttpRequest):
    """The header's language picker: Django's cookie, and the person's preference when signed in."""
    response = django_set_language(request)
    save_language(request.user, request.POST.get("language", ""))
    return response


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedHttpRequest):
    preference = Preference.objects.filter(user=request.user).first() or Preference(
        user=request.user
    )
    browser_zone = browser_time_zone(request)
    # Bound on every post: an empty one is a choice too (both blank: the browser decides).
    posted = request.POST if request.method == "POST" else None
    form = PreferenceForm(posted, instance=preference, browser_time_zone=browser_zone)
    if form.is_bound and form.is_valid():
        saved = form.save()
        # Show the confirmation in the language just chosen, not the one the post arrived in.
        with translation.override(saved.language or translation.get_language()):
            messages.success(request, _("Your preferences are saved."))
        response = redirect("preferences")
        if saved.language:
            # The cookie too: after signing out, the login page speaks the same language.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                saved.language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
    context = {"form": form, "browser_time_zone": browser_zone}
    return render(request, "core/preferences.html", context)
