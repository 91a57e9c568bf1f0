"""Step 1: the sandbox and the Stripe account, with the key probe and the AEP connection."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core.demo import STRIPE_DEMO_KEYS
from core.http import AuthenticatedHttpRequest
from core.stripe import READABLE, key_shape
from monitoring.models import Account
from onboarding import forms, tasks
from onboarding.models import STEPS, Draft
from onboarding.views.helpers import (
    draft_for,
    draft_job,
    page_context,
    poll,
    posted,
    redirect_unless_editable,
    start_draft_job,
    wizard_redirect,
    wizard_view,
    working,
)


def _account_context(form, draft: Draft | None) -> dict:
    return {
        "form": form,
        "accounts": forms.accounts_for(),
        "has_sandboxes": form.fields["sandbox"].queryset.exists(),
        # The page shows them only while a sandbox on the local AEP emulator is chosen.
        "demo_keys": STRIPE_DEMO_KEYS if form.offers_demo_keys() else (),
        "draft": draft,
    }


@wizard_view
def start(request: AuthenticatedHttpRequest):
    form = forms.AccountForm(posted(request))
    if request.method == "POST" and form.is_valid():
        draft = Draft(sandbox=form.cleaned_data["sandbox"], created_by=request.user)
        with transaction.atomic():
            _apply_account(request, draft, form)
        return _after_account(request, draft)
    context = _account_context(form, None)
    context["steps"] = [
        {"name": name, "label": label, "number": i + 1, "current": i == 0, "open": i == 0}
        for i, (name, label) in enumerate(STEPS)
    ]
    return render(request, "onboarding/step_account.html", context)


def _apply_account(request, draft: Draft, form: forms.AccountForm) -> None:
    """Save step 1 and start the key probe when a new key was entered."""
    data = form.cleaned_data
    draft.account_name = data.get("account_name") or ""
    draft.account_description = data.get("account_description") or ""
    if draft.connection_id:
        draft.save_entered()
        return
    draft.sandbox = data["sandbox"]
    draft.account_mode = data["account_mode"]
    if draft.account_mode == Draft.AccountMode.EXISTING:
        account: Account = data["account"]
        draft.account = account
        draft.account_name = account.name
        draft.probe = account.probe_result or {}
        draft.probed_at = account.probed_at
        draft.key_kind, draft.livemode = account.key_kind, account.livemode
        draft.token_last4 = account.token_last4
        draft.forget_token()
        draft.mark_reached("account")
        draft.save_entered()
        return
    draft.account = None
    token = data.get("access_token")
    draft.save_entered()
    if token:
        draft.access_token = token
        draft.token_last4 = token[-4:]
        draft.key_kind, draft.livemode = key_shape(token) or ("", False)
        draft.probe, draft.probed_at = {}, None
        draft.save_entered()
        start_draft_job(request, draft, tasks.PROBE, tasks.probe_stripe_key)


def _after_account(request, draft: Draft) -> HttpResponse:
    if draft.account_mode == Draft.AccountMode.EXISTING:
        return wizard_redirect(request, "resources", draft.pk)
    return wizard_redirect(request, "account", draft.pk)


def _probe_context(draft: Draft) -> dict:
    probe_job = draft_job(draft, tasks.PROBE)
    connect_job = draft_job(draft, tasks.CONNECT)
    readable = [p for p, r in (draft.probe or {}).items() if r.get("status") == READABLE]
    key_error = (probe_job.result or {}).get("key_error") if probe_job else ""
    return {
        "draft": draft,
        "probe_job": probe_job,
        "connect_job": connect_job,
        "matrix": [(p, (draft.probe or {}).get(p) or {}) for p in STRIPE_RESOURCE_PATHS],
        "readable": readable,
        "key_error": key_error,
        "live_on_sandbox": draft.livemode and not draft.sandbox.is_production,
        "can_connect": bool(readable) and not key_error and not draft.connection_id,
        "working": working(probe_job) or working(connect_job),
    }


@wizard_view
def account(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    initial = {
        "sandbox": draft.sandbox_id,
        "account_mode": draft.account_mode,
        "account": draft.account_id,
        "account_name": draft.account_name,
        "account_description": draft.account_description,
    }
    form = forms.AccountForm(posted(request), initial=initial, draft=draft)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            _apply_account(request, draft, form)
        return _after_account(request, draft)
    context = page_context(draft, "account", _account_context(form, draft), _probe_context(draft))
    return render(request, "onboarding/step_account.html", context)


@wizard_view
@vary_on_headers("HX-Request")
def account_status(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    return poll(request, "onboarding/step_account.html#probe", _probe_context(draft))


@require_POST
@wizard_view
def connect(request: AuthenticatedHttpRequest, pk):
    draft = draft_for(request, pk)
    if response := redirect_unless_editable(draft):
        return response
    with transaction.atomic():
        # Under the draft's row lock, so two clicks start one connect job.
        draft = (
            Draft.objects.select_for_update(of=("self",)).select_related("sandbox").get(pk=draft.pk)
        )
        context = _probe_context(draft)
        if context["can_connect"] and not working(context["connect_job"]):
            start_draft_job(request, draft, tasks.CONNECT, tasks.connect_account)
    if request.htmx:
        return render(request, "onboarding/step_account.html#probe", _probe_context(draft))
    return redirect("onboarding:account", draft.pk)
