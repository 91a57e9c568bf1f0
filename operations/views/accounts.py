"""Support's account pages: the list, edit, key rotation and delete."""

from __future__ import annotations

from django.shortcuts import redirect, render

from core.decorators import requires
from core.http import AuthenticatedHttpRequest, positive_int
from core.permissions import OPERATE, VIEW
from monitoring import queries
from operations import forms, steps
from operations.concurrency import account_seen, seen_from, seen_token
from operations.views.access import (
    Kind,
    accepted,
    account_or_404,
    changed_fields,
    launch,
    posted,
    reason_fields,
    running_operation,
    to_operation_page,
)


@requires(VIEW)
def index(request: AuthenticatedHttpRequest):
    return redirect("operations:account-list")


@requires(VIEW)
def account_list(request: AuthenticatedHttpRequest):
    """The accounts, a page at a time, with their flows and failing flows (from the flows'
    health, never from their runs)."""
    page = queries.account_page(positive_int(request.GET.get("page")) or 1)
    return render(request, "operations/account_list.html", {"page": page})


@requires(VIEW)
def account_detail(request: AuthenticatedHttpRequest, pk: int):
    """One account page: monitoring's, which shows Support's actions to those who may."""
    return redirect("monitoring:account-detail", pk, permanent=True)


@requires(OPERATE)
def account_edit(request: AuthenticatedHttpRequest, pk: int):
    account = account_or_404(pk)
    now = account_seen(account)
    form = forms.AccountEditForm(posted(request), initial={**now, "seen": seen_token(now)})
    if accepted(request, form, account=account):
        changes, seen = changed_fields(form, now)
        if changes:
            operation = launch(
                request,
                Kind.ACCOUNT_UPDATE,
                account=account,
                **reason_fields(form),
                params={"changes": changes, "seen": seen},
                steps=steps.account_update_steps(account),
            )
            return to_operation_page(request, operation)
    return render(request, "operations/account_edit.html", {"account": account, "form": form})


@requires(OPERATE)
def account_rotate(request: AuthenticatedHttpRequest, pk: int):
    account = account_or_404(pk)
    form = forms.RotateKeyForm(posted(request))
    if accepted(request, form, account=account):
        operation = launch(
            request,
            Kind.ACCOUNT_ROTATE_KEY,
            account=account,
            **reason_fields(form),
            params={"seen": seen_from("", account_seen(account))},
            secret=form.cleaned_data["new_key"],
        )
        return to_operation_page(request, operation)
    return render(request, "operations/account_rotate.html", {"account": account, "form": form})


@requires(OPERATE)
def account_delete(request: AuthenticatedHttpRequest, pk: int):
    account = account_or_404(pk)
    if request.method == "POST" and not running_operation(request, account=account):
        return to_operation_page(request, launch(request, Kind.ACCOUNT_DELETE, account=account))
    context = {"account": account, "dataflows": account.dataflows.filter(deleted_at=None)}
    return render(request, "operations/account_delete.html", context)
