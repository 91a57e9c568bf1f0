"""API tokens on the Preferences page: a person's own, and (for Admins) everyone's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api import tokens
from api.forms import DUPLICATE_NAME, TokenForm
from api.models import ApiToken
from core.decorators import requires
from core.http import AuthenticatedHttpRequest
from core.permissions import can

# Admins (the role that manages users) see and revoke every token.
MANAGE_TOKENS = "manage_sandboxes"


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: AuthenticatedHttpRequest):
    """The person's tokens and the form for a new one; a new token is shown on this answer only."""
    form = TokenForm(request.POST if request.method == "POST" else None, user=request.user)
    new_token = ""
    if form.is_bound and form.is_valid():
        try:
            _token, new_token = tokens.issue(
                request.user, form.cleaned_data["name"], expires_at=form.expires_at()
            )
        except tokens.TokenError:  # the same name, created by another request meanwhile
            form.add_error("name", DUPLICATE_NAME)
        else:
            form = TokenForm(user=request.user)
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": ApiToken.objects.filter(user=request.user, revoked_at=None),
        "can_manage": can(request.user, MANAGE_TOKENS),
    }
    return render(request, "api/tokens.html", context, status=422 if form.errors else 200)


@requires(MANAGE_TOKENS)
def token_admin(request: AuthenticatedHttpRequest):
    live = (
        ApiToken.objects.filter(revoked_at=None)
        .select_related("user")
        .order_by("user__username", "name")
    )
    return render(request, "api/token_admin.html", {"tokens": live})


@require_POST
@login_required
def token_revoke(request: AuthenticatedHttpRequest, pk: int):
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    admin = can(request.user, MANAGE_TOKENS)
    if token.user_id != request.user.pk and not admin:
        raise Http404
    if tokens.revoke(token, by=request.user):
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    if token.user_id != request.user.pk:
        return redirect("api-token-admin")
    return redirect("api-tokens")
