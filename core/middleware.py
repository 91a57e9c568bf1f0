"""Request ids for the logs, the Content-Security-Policy header, and idle sessions' end."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.logging import REQUEST_ID_HEADER, new_request_id, request_id_var


class RequestIdMiddleware:
    """Give each request an id (the proxy's X-Request-ID or a new one) for logs and the response.

    First in MIDDLEWARE, so every log line of the request, and every task it enqueues, carries it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def build_policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY on every response that has none of its own.

    The pages load scripts only from our own static files (htmx included), so the policy allows
    no inline script and no eval; see the htmx-config meta tag in base.html.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = build_policy(settings.CONTENT_SECURITY_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


SESSION_REFRESHED_KEY = "_refreshed_at"
# How stale a session's expiry may get before a request renews it: a write on every request
# would cost a query each, and five minutes do not matter against a 12-hour idle limit.
SESSION_REFRESH_SECONDS = 300


class SessionIdleMiddleware:
    """A signed-in person's session ends after SESSION_COOKIE_AGE without requests: each
    request renews its expiry (and the cookie's), at most every SESSION_REFRESH_SECONDS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            mark_session_fresh(request, only_if_stale=True)
        return response


def session_fresh_at_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        mark_session_fresh(request)


def mark_session_fresh(request: HttpRequest, only_if_stale: bool = False) -> None:
    now = int(time.time())
    last = request.session.get(SESSION_REFRESHED_KEY, 0)
    if not only_if_stale or now - last >= SESSION_REFRESH_SECONDS:
        request.session[SESSION_REFRESHED_KEY] = now  # modified: saved with a new expiry
