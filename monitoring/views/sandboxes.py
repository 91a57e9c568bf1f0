"""Sandbox pages (Admins): the list, adding one, editing it, and Test connection."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.crypto import defer_secrets
from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from core.jobs import latest_job, start_job
from monitoring.audit import record
from monitoring.forms import SandboxForm
from monitoring.models import Sandbox
from monitoring.tasks import check_sandbox_connection

TEST_CONNECTION = "sandbox.test_connection"


@requires("manage_sandboxes")
def sandbox_list(request: AuthenticatedHttpRequest):
    sandboxes = [
        (sandbox, latest_job(TEST_CONNECTION, f"sandbox:{sandbox.pk}"))
        for sandbox in defer_secrets(Sandbox.objects.all())
    ]
    return render(request, "monitoring/sandbox_list.html", {"sandboxes": sandboxes})


def _posted(request: AuthenticatedHttpRequest):
    """The form data of a POST, even an empty one (which must be refused, not ignored)."""
    return request.POST if request.method == "POST" else None


def _state(sandbox: Sandbox) -> dict[str, str]:
    """What an audit record keeps of a sandbox: everything but the secret itself."""
    return {
        "display_name": sandbox.display_name,
        "org_id": sandbox.org_id,
        "sandbox_name": sandbox.sandbox_name,
        "client_id": sandbox.client_id,
        "scope": sandbox.scope,
        "platform_url": sandbox.platform_url,
        "ims_url": sandbox.ims_url,
    }


def _audit(
    request: AuthenticatedHttpRequest,
    action: str,
    sandbox: Sandbox,
    before: dict[str, str] | None = None,
    secret_changed: bool = False,
) -> None:
    after: dict[str, object] = {**_state(sandbox)}
    if secret_changed:
        after["credential"] = "replaced"  # that the client secret changed, never what it is
    record(
        request.user,
        action,
        target_type="sandbox",
        target_id=str(sandbox.pk),
        target_label=str(sandbox),
        sandbox=sandbox,
        before=before,
        after=after,
        request_id=getattr(request, "request_id", ""),
    )


@requires("manage_sandboxes")
def sandbox_create(request: AuthenticatedHttpRequest):
    form = SandboxForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        sandbox = form.save()
        _audit(request, "sandbox.create", sandbox)
        messages.success(request, _("Sandbox “%s” saved. Test its connection next.") % sandbox)
        return redirect("monitoring:sandbox-detail", sandbox.pk)
    return render(request, "monitoring/sandbox_form.html", {"form": form})


@requires("manage_sandboxes")
def sandbox_detail(request: AuthenticatedHttpRequest, pk: int):
    sandbox = get_object_or_404(Sandbox, pk=pk)
    before = _state(sandbox)
    form = SandboxForm(_posted(request), instance=sandbox)
    if request.method == "POST" and form.is_valid():
        form.save()
        _audit(
            request,
            "sandbox.update",
            sandbox,
            before,
            secret_changed=bool(request.POST.get("client_secret", "").strip()),
        )
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
