"""In headless chromium: signing in through the local OpenID Connect provider as a person would.
SCREENSHOT_DIR keeps the pages."""

from __future__ import annotations

import pytest

from core.roles import ensure_roles

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _roles():
    ensure_roles()


def sign_in_at_provider(page, provider, username: str) -> None:
    page.get_by_role("link", name="Sign in with SSO").click()
    page.wait_for_url(f"{provider.url}/login/**")
    page.fill("#id_username", username)
    page.fill("#id_password", provider.password)
    page.get_by_role("button", name="Sign in").click()


def test_support_person_signs_in_with_sso_and_opens_support_pages(
    page, oidc_provider, sso_settings, screenshots
):
    page.goto("/ops/audit/")
    assert "/login/" in page.url
    screenshots(page, "login-with-sso")

    sign_in_at_provider(page, oidc_provider, "sofia")

    page.wait_for_url("**/ops/audit/")
    assert page.get_by_role("heading", name="Audit trail").is_visible()
    assert "Support" in page.locator("header").inner_text()
    assert "user.sso_sign_in" in page.content()
    screenshots(page, "sso-support-audit")


def test_person_in_no_mapped_group_is_refused(page, oidc_provider, sso_settings, screenshots):
    page.goto("/login/")

    sign_in_at_provider(page, oidc_provider, "felix")

    page.wait_for_url("**/login/sso/callback/**")
    assert page.get_by_role("heading", name="No access yet").is_visible()
    assert "finance" in page.content()
    screenshots(page, "sso-refused")
    page.goto("/overview/")
    assert "/login/" in page.url


def test_password_login_switched_off_hides_the_form(page, oidc_provider, sso_settings):
    sso_settings.PASSWORD_LOGIN = "off"

    page.goto("/login/")

    assert page.get_by_role("link", name="Sign in with SSO").is_visible()
    assert page.locator("#id_password").count() == 0
