from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from core.http import AuthenticatedHttpRequest
from core.models import Job


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
