"""Sandbox pages (Admins): the list, adding one, editing it, and Test connection."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from core.jobs import latest_job, start_job
from monitoring.forms import SandboxForm
from monitoring.models import Sandbox
from monitoring.tasks import check_sandbox_connection

TEST_CONNECTION = "sandbox.test_connection"


@requires("manage_sandboxes")
def sandbox_list(request: AuthenticatedHttpRequest):
    sandboxes = [
        (sandbox, latest_job(TEST_CONNECTION, f"sandbox:{sandbox.pk}"))
        for sandbox in Sandbox.objects.all()
    ]
    return render(request, "monitoring/sandbox_list.html", {"sandboxes": sandboxes})


def _posted(request: AuthenticatedHttpRequest):
    """The form data of a POST, even an empty one (which must be refused, not ignored)."""
    return request.POST if request.method == "POST" else None


@requires("manage_sandboxes")
def sandbox_create(request: AuthenticatedHttpRequest):
    form = SandboxForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        sandbox = form.save()
        messages.success(request, _("Sandbox “%s” saved. Test its connection next.") % sandbox)
        return redirect("monitoring:sandbox-detail", sandbox.pk)
    return render(request, "monitoring/sandbox_form.html", {"form": form})


@requires("manage_sandboxes")
def sandbox_detail(request: AuthenticatedHttpRequest, pk: int):
    sandbox = get_object_or_404(Sandbox, pk=pk)
    form = SandboxForm(_posted(request), instance=sandbox)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Sandbox “%s” saved.") % sandbox)
        return redirect("monitoring:sandbox-detail", sandbox.pk)
    job = latest_job(TEST_CONNECTION, f"sandbox:{sandbox.pk}")
    return render(
        request, "monitoring/sandbox_form.html", {"form": form, "sandbox": sandbox, "job": job}
    )


@require_POST
@requires("manage_sandboxes")
def sandbox_test(request: AuthenticatedHttpRequest, pk: int):
    sandbox = get_object_or_404(Sandbox, pk=pk)
    job = start_job(
        TEST_CONNECTION, f"sandbox:{sandbox.pk}", request.user, check_sandbox_connection
    )
    if request.htmx:
        return render(request, "core/job_status.html", {"job": job})
    return redirect("monitoring:sandbox-detail", sandbox.pk)
