"""Single sign-on through a real OpenID Connect provider running as its own process."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.models import User

from core.models import SSOIdentity
from core.roles import MARKETING_OPS, SUPPORT, role_of
from monitoring.models import AuditEvent
from tests.base import PASSWORD, make_user
from tests.core.idp import sso_sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server):
    return live_server.url


def test_login_page_offers_sso(site, sso_settings):
    page = requests.get(f"{site}/login/")
    assert "Sign in with SSO" in page.text
    assert 'href="/login/sso/' in page.text


def test_login_page_without_sso_offers_only_passwords(site):
    page = requests.get(f"{site}/login/")
    assert "Sign in with SSO" not in page.text
    assert 'name="password"' in page.text


def test_support_person_signs_in_and_opens_support_pages(site, oidc_provider, sso_settings):
    answer = sso_sign_in(site, oidc_provider, "sofia", next_path="/ops/audit/")

    assert answer.status_code == 200, answer.text[:500]
    assert answer.url == f"{site}/ops/audit/"
    user = User.objects.get(sso_identity__subject__startswith="local-")
    assert user.username == "sofia"
    assert role_of(user) == SUPPORT
    assert not user.has_usable_password()
    assert user.sso_identity.groups == ["stripe-sources-support"]


def test_sign_in_is_audited_with_the_role_it_gave(site, oidc_provider, sso_settings):
    sso_sign_in(site, oidc_provider, "sofia")

    events = {e.action: e for e in AuditEvent.objects.filter(target_type="user")}
    assert events["user.sso_sign_in"].after["role"] == SUPPORT
    assert events["user.sso_sign_in"].actor_name == "sofia"
    assert events["user.role_change"].before == {"role": ""}
    assert events["user.role_change"].after == {"role": SUPPORT}


def test_role_is_rederived_at_each_sign_in(site, oidc_provider, sso_settings):
    sso_sign_in(site, oidc_provider, "sofia")
    sso_settings.SSO_ROLE_GROUPS = {
        **sso_settings.SSO_ROLE_GROUPS,
        "Support": [],
        "Marketing Ops": ["stripe-sources-marketing", "stripe-sources-support"],
    }

    answer = sso_sign_in(site, oidc_provider, "sofia")

    assert answer.status_code == 200
    user = User.objects.get(username="sofia")
    assert role_of(user) == MARKETING_OPS
    assert User.objects.filter(sso_identity__isnull=False).count() == 1
    change = AuditEvent.objects.filter(action="user.role_change").first()
    assert change.before == {"role": SUPPORT} and change.after == {"role": MARKETING_OPS}
    assert AuditEvent.objects.filter(action="user.sso_sign_in").count() == 2


def test_person_in_no_mapped_group_is_refused(site, oidc_provider, sso_settings):
    answer = sso_sign_in(site, oidc_provider, "felix", next_path="/overview/")

    assert answer.status_code == 403
    assert "none of its groups gives access" in answer.text
    assert "finance" in answer.text
    assert not User.objects.filter(username="felix").exists()
    assert requests.get(f"{site}/overview/", allow_redirects=False).status_code == 302


def test_local_user_of_the_same_name_is_not_taken_over(site, oidc_provider, sso_settings):
    local = make_user("sofia")

    sso_sign_in(site, oidc_provider, "sofia")

    local.refresh_from_db()
    assert local.check_password(PASSWORD)
    assert not SSOIdentity.objects.filter(user=local).exists()
    sso_user = User.objects.get(sso_identity__isnull=False)
    assert sso_user.username.startswith("sofia-")


def test_sign_out_ends_the_provider_session_too(site, oidc_provider, sso_settings):
    browser = requests.Session()
    sso_sign_in(site, oidc_provider, "sofia", session=browser)
    token = browser.cookies.get("csrftoken", domain="localhost.local") or _csrf(browser, site)

    signed_out = browser.post(
        f"{site}/logout/", data={"csrfmiddlewaretoken": token}, headers={"Referer": site + "/"}
    )

    assert signed_out.url.startswith(f"{site}/login/")
    assert [r.url.split("?")[0] for r in signed_out.history][-1].endswith("/openid/end-session")
    # The provider asks for the password again: its own session ended.
    again = browser.get(f"{site}/login/sso/")
    assert again.url.startswith(oidc_provider.url + "/login/")


def _csrf(session: requests.Session, site: str) -> str:
    from tests.core.idp import CSRF_INPUT

    page = session.get(f"{site}/preferences/")
    return CSRF_INPUT.search(page.text).group(1)


def test_provider_down_shows_a_clear_page(site, sso_settings):
    sso_settings.OIDC_ISSUER = "http://127.0.0.1:9/openid"

    answer = requests.get(f"{site}/login/sso/")

    assert answer.status_code == 503
    assert "identity provider could not be reached" in answer.text


def test_stale_callback_asks_to_sign_in_again(site, sso_settings):
    answer = requests.get(f"{site}/login/sso/callback/", params={"code": "x", "state": "y"})

    assert answer.status_code in (400, 401)
    assert "Sign in" in answer.text


def test_sign_in_works_when_the_provider_shares_the_dashboards_host(
    live_server, oidc_provider, sso_settings
):
    """As in `./dev run`: both on 127.0.0.1, whose cookies a browser shares across ports."""
    site = live_server.url.replace("localhost", "127.0.0.1")

    answer = sso_sign_in(site, oidc_provider, "sofia", next_path="/ops/audit/")

    assert answer.status_code == 200, answer.text[:300]
    assert answer.url == f"{site}/ops/audit/"
