"""PASSWORD_LOGIN: passwords for everyone, for a break-glass Admin only, or for no one."""

from __future__ import annotations

from django.test import override_settings

from tests.base import PASSWORD, BaseTestCase

SSO = {
    "OIDC_ISSUER": "https://idp.example.com",
    "OIDC_RP_CLIENT_ID": "stripe-sources",
    "OIDC_RP_CLIENT_SECRET": "secret",
}


@override_settings(**SSO, PASSWORD_LOGIN="admins")
class BreakGlassAdminTestCase(BaseTestCase):
    def test_admin_signs_in_with_a_password(self):
        r = self.client.post("/login/", {"username": "alex", "password": PASSWORD})
        assert r.status_code == 302
        assert self.client.get("/").status_code == 200

    def test_everyone_else_is_refused(self):
        r = self.client.post("/login/", {"username": "sam", "password": PASSWORD})
        assert r.status_code == 200
        self.assertContains(r, "enter a correct username and password")
        assert self.client.get("/").status_code == 302

    def test_a_password_session_the_policy_no_longer_allows_ends(self):
        with override_settings(PASSWORD_LOGIN="on"):
            self.client.post("/login/", {"username": "sam", "password": PASSWORD})
            assert self.client.get("/").status_code == 200
        assert self.client.get("/").status_code == 302

    def test_page_offers_sso_first_and_the_form_for_admins(self):
        r = self.client.get("/login/")
        self.assertContains(r, "Sign in with SSO")
        self.assertContains(r, "Admins: sign in with a password")


@override_settings(**SSO, PASSWORD_LOGIN="off")
class PasswordLoginOffTestCase(BaseTestCase):
    def test_form_is_hidden(self):
        r = self.client.get("/login/")
        self.assertContains(r, "Sign in with SSO")
        self.assertNotContains(r, 'name="password"')

    def test_posting_a_password_is_refused_even_for_an_admin(self):
        r = self.client.post("/login/", {"username": "alex", "password": PASSWORD})
        assert r.status_code == 403
        self.assertContains(r, "Password sign-in is switched off", status_code=403)
        assert self.client.get("/").status_code == 302

    def test_admin_site_login_is_refused_too(self):
        r = self.client.post(
            "/admin/login/?next=/admin/", {"username": "alex", "password": PASSWORD}
        )
        assert r.status_code == 200
        assert self.client.get("/admin/").status_code == 302


@override_settings(**SSO)
class IdTokenTestCase(BaseTestCase):
    """The ID token's issuer and audience are checked (the library checks signature and nonce)."""

    def test_a_token_from_our_issuer_for_our_client_passes(self):
        from core.sso import check_id_token

        check_id_token({"iss": "https://idp.example.com/", "aud": ["stripe-sources", "other"]})

    def test_another_issuer_or_client_is_refused(self):
        from django.core.exceptions import SuspiciousOperation

        from core.sso import check_id_token

        for payload in (
            {"iss": "https://evil.example.com", "aud": "stripe-sources"},
            {"iss": "https://idp.example.com", "aud": "another-app"},
            {"iss": "https://idp.example.com"},
        ):
            with self.subTest(payload=payload), self.assertRaises(SuspiciousOperation):
                check_id_token(payload)
