"""The API's docs and the API tokens page in a real browser: Swagger UI comes from this
server's static files (no CDN) and runs under the Content-Security-Policy; a new token is
shown once."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from core.roles import SUPPORT, ensure_roles
from tests.base import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_from_local_files_only(page, live_server, screenshots):
    hosts, errors = set(), []
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    assert page.locator(".opblock-summary-path", has_text="/api/v1/dataflows").first.is_visible()
    screenshots(page, "api-docs")
    assert hosts == {urlsplit(live_server.url).netloc}
    assert not [e for e in errors if "Content Security Policy" in e]


def test_a_new_token_is_shown_once_on_the_tokens_page(page, login, screenshots):
    ensure_roles()
    sam = make_user("sam", SUPPORT)
    login(page, sam)
    page.goto("/preferences/")
    page.click("text=Manage API tokens")
    page.fill("#id_name", "nightly report")
    page.click("button:has-text('Create token')")
    token = page.locator("[data-testid=new-token]").inner_text().strip()
    assert token.startswith("ss_")
    screenshots(page, "api-tokens")
    page.reload()
    assert token not in page.content()
    assert page.locator("td", has_text="nightly report").is_visible()
