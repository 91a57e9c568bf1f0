"""Login throttling (django-axes): who is counted, and what a locked-out person sees."""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext

LOCKOUT_STATUS = 429


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuse logins while a username+address pair is locked out.

    Only web logins are throttled: an authenticate() call without a request (a management
    command, a script) has no client address to count and passes to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as our own proxies append.

    Each of TRUSTED_PROXY_COUNT proxies appends the address it saw, so the client is the
    entry that many places from the right; anything further left may be forged by the client.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """The login page again, with a message saying why and for how long."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    # An unbound form: binding it would run authenticate() again and count another failure.
    form = AuthenticationForm(request, initial={"username": username})
    form.cleaned_data = {}  # add_error() expects it, and only a bound form gets one
    form.add_error(None, lockout_message())
    context = {"form": form, "next": request.POST.get("next", ""), "locked_out": True}
    return render(request, "registration/login.html", context, status=LOCKOUT_STATUS)


def lockout_message() -> str:
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return ngettext(
        "Too many failed log-in attempts. For your security, logging in as this user from "
        "your address is paused for %(minutes)d minute. Try again then, or ask an Admin to "
        "check your account.",
        "Too many failed log-in attempts. For your security, logging in as this user from "
        "your address is paused for %(minutes)d minutes. Try again then, or ask an Admin to "
        "check your account.",
        minutes,
    ) % {"minutes": minutes}
