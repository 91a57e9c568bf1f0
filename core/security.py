"""Login throttling (django-axes): who is counted, and what a locked-out person sees.

Two tiers: a username+address pair is locked after LOGIN_FAILURE_LIMIT failures (django-axes),
and a username from any address after LOGIN_USERNAME_FAILURE_LIMIT, so guessing one person's
password from many addresses is slowed too. Both lift after the same cool-off.
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
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
        if username and username_locked_out(username):
            request.axes_locked_out = True  # AxesMiddleware answers with lockout_response
            request.username_locked_out = True
            raise AxesBackendPermissionDenied("too many failed logins for this username")
        return super().authenticate(request, username=username, password=password, **kwargs)


def username_locked_out(username: str) -> bool:
    """Whether `username` failed LOGIN_USERNAME_FAILURE_LIMIT times, from any addresses, within
    the cool-off."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    failures = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return (failures or 0) >= settings.LOGIN_USERNAME_FAILURE_LIMIT


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
    form.add_error(None, lockout_message(getattr(request, "username_locked_out", False)))
    context = {"form": form, "next": request.POST.get("next", ""), "locked_out": True}
    return render(request, "registration/login.html", context, status=LOCKOUT_STATUS)


def lockout_message(whole_username: bool = False) -> str:
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    if whole_username:
        return ngettext(
            "Too many failed log-in attempts for this user. For your security, logging in as "
            "this user is paused for %(minutes)d minute. Try again then, or ask an Admin to "
            "check your account.",
            "Too many failed log-in attempts for this user. For your security, logging in as "
            "this user is paused for %(minutes)d minutes. Try again then, or ask an Admin to "
            "check your account.",
            minutes,
        ) % {"minutes": minutes}
    return ngettext(
        "Too many failed log-in attempts. For your security, logging in as this user from "
        "your address is paused for %(minutes)d minute. Try again then, or ask an Admin to "
        "check your account.",
        "Too many failed log-in attempts. For your security, logging in as this user from "
        "your address is paused for %(minutes)d minutes. Try again then, or ask an Admin to "
        "check your account.",
        minutes,
    ) % {"minutes": minutes}
