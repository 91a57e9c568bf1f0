"""Sandbox pages (Admins): the list, adding one, editing it, Test connection and the readiness
check (started here, run in a worker, its report read back from the Job)."""

from __future__ import annotations

import json
import re

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING

from core.crypto import defer_secrets
from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from core.jobs import latest_job, start_job
from core.models import Job
from monitoring import readiness
from monitoring.audit import record
from monitoring.forms import SandboxForm
from monitoring.models import Sandbox
from monitoring.tasks import check_sandbox_connection, check_sandbox_readiness

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
    return render(request, "monitoring/sandbox_form.html", _detail_context(sandbox, form))


def _detail_context(sandbox: Sandbox, form: SandboxForm) -> dict:
    return {
        "form": form,
        "sandbox": sandbox,
        "job": latest_job(TEST_CONNECTION, _target(sandbox)),
        "readiness_job": latest_job(readiness.KIND, _target(sandbox)),
    }


def _target(sandbox: Sandbox) -> str:
    return f"sandbox:{sandbox.pk}"


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


@require_POST
@requires("manage_sandboxes")
def sandbox_readiness(request: AuthenticatedHttpRequest, pk: int):
    """Start the readiness check; with writes, only once the person has confirmed them."""
    sandbox = get_object_or_404(Sandbox, pk=pk)
    write = request.POST.get("write") == "1"
    if write and request.POST.get("confirm") != "1":
        context = {"sandbox": sandbox, "readiness_job": None, "confirm_write": True}
        if request.htmx:
            return render(request, "monitoring/_readiness.html", context)
        return render(request, "monitoring/sandbox_readiness_confirm.html", context)
    job = start_job(readiness.KIND, _target(sandbox), request.user, check_sandbox_readiness, write)
    if request.htmx:
        return render(
            request, "monitoring/_readiness.html", {"sandbox": sandbox, "readiness_job": job}
        )
    return redirect("monitoring:sandbox-detail", sandbox.pk)


@require_GET
@requires("manage_sandboxes")
def sandbox_readiness_status(request: AuthenticatedHttpRequest, pk: int):
    """The latest check's progress or report (database only); stops the polling once done."""
    sandbox = get_object_or_404(Sandbox, pk=pk)
    job = latest_job(readiness.KIND, _target(sandbox))
    done = job is None or job.is_done
    status = HTMX_STOP_POLLING if request.htmx and done else 200
    context = {"sandbox": sandbox, "readiness_job": job}
    return render(request, "monitoring/_readiness.html", context, status=status)


@require_GET
@requires("manage_sandboxes")
def sandbox_readiness_report(request: AuthenticatedHttpRequest, pk: int):
    """The latest finished report as a JSON file, to send to support (it holds no secret)."""
    sandbox = get_object_or_404(Sandbox, pk=pk)
    job = (
        Job.objects.filter(
            kind=readiness.KIND, target=_target(sandbox), status=Job.Status.SUCCEEDED
        )
        .order_by("-created")
        .first()
    )
    if job is None:
        raise Http404
    body = json.dumps(job.result, indent=2, ensure_ascii=False) + "\n"
    stamp = timezone.localtime(job.finished or job.created).strftime("%Y%m%d-%H%M")
    label = re.sub(r"[^A-Za-z0-9_-]+", "-", sandbox.sandbox_name) or "sandbox"
    name = f"stripe-sources-readiness-{label}-{stamp}.json"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
