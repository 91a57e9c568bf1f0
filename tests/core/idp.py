"""Signing in through the local OpenID Connect provider as a browser would, with requests."""

from __future__ import annotations

import re

import requests

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def sso_sign_in(
    base_url: str, provider, username: str, *, next_path: str = "", session=None
) -> requests.Response:
    """Press "Sign in with SSO", sign in at the provider, and follow it back to the dashboard.

    Returns the last answer (the dashboard page reached, or the refusal page).
    """
    session = session or requests.Session()
    start = session.get(f"{base_url}/login/sso/", params={"next": next_path} if next_path else {})
    if not start.url.startswith(provider.url):
        return start  # already signed in at the provider: straight back to the dashboard
    token = CSRF_INPUT.search(start.text)
    assert token, f"no sign-in form at the provider: {start.url}"
    return session.post(
        start.url,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": username,
            "password": provider.password,
            "next": _next_of(start.url),
        },
        headers={"Referer": start.url},
    )


def _next_of(url: str) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(url).query).get("next", [""])[0]
