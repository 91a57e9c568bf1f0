"""The list of drafts, picking one up again, and sharing it with a colleague."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.crypto import defer_secrets
from core.http import AuthenticatedHttpRequest
from core.roles import ADMIN, role_of
from onboarding import forms
from onboarding.models import STEP_NAMES, STEPS, Draft
from onboarding.views.helpers import draft_for, redirect_unless_editable, wizard_view


@wizard_view
def drafts(request: AuthenticatedHttpRequest):
    visible = defer_secrets(
        Draft.objects.exclude(status=Draft.Status.DISCARDED).select_related(
            "sandbox", "account", "created_by"
        ),
        "sandbox",
        "account",
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


@wizard_view
def resume(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    step = STEP_NAMES[min(draft.reached + 1, len(STEP_NAMES) - 1)]
    return redirect(f"onboarding:{step}", draft.pk)


@require_POST
@wizard_view
def share(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
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
