"""Security headers, CSRF on htmx posts, cookies, and a clean `check --deploy` in production."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import patch

from django.conf import settings
from django.test import Client, override_settings

from tests.base import PASSWORD, BaseTestCase

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_CSP = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
}
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)


def csp_directives(response) -> set[str]:
    return {part.strip() for part in response["Content-Security-Policy"].split(";")}


class HeadersTestCase(BaseTestCase):
    def test_every_kind_of_response_gets_the_policy(self):
        self.login(self.alex)
        for url in ("/", "/login/", "/no-such-page/", "/healthz", "/sandboxes/"):
            r = self.client.get(url)
            assert csp_directives(r) == EXPECTED_CSP, url
            assert r["X-Frame-Options"] == "DENY", url
            assert r["X-Content-Type-Options"] == "nosniff", url

    def test_pages_have_no_inline_script_and_configure_htmx_without_eval(self):
        pages = [self.client.get("/login/")]
        self.login(self.alex)
        pages += [self.client.get("/"), self.client.get("/sandboxes/")]
        for r in pages:
            body = r.content.decode()
            assert not INLINE_SCRIPT.search(body), INLINE_SCRIPT.search(body)
            assert not INLINE_HANDLER.search(body), INLINE_HANDLER.search(body)
            meta = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'', body)
            assert meta, "htmx-config meta missing"
            config = json.loads(html.unescape(meta[1]))
            assert config == {"includeIndicatorStyles": False, "allowEval": False}
            assert 'src="/static/django_htmx/htmx-2.min.js"' in body

    def test_session_and_csrf_cookies_are_secure_and_http_only(self):
        r = self.client.post("/login/", {"username": "mina", "password": PASSWORD})
        assert r.status_code == 302
        session = r.cookies["sessionid"]
        assert session["secure"] and session["httponly"]
        self.client.logout()
        r = self.client.get("/login/")
        csrf = r.cookies["csrftoken"]
        assert csrf["secure"] and csrf["httponly"]

    def test_a_session_ends_after_12_idle_hours_and_requests_extend_it(self):
        r = self.client.post("/login/", {"username": "mina", "password": PASSWORD})
        assert int(r.cookies["sessionid"]["max-age"]) == 12 * 3600
        assert self.client.session.get_expiry_age() == 12 * 3600
        # Within a few minutes of the last renewal a request writes nothing.
        assert "sessionid" not in self.client.get("/").cookies
        later = time.time() + 6 * 60
        with patch("core.middleware.time.time", return_value=later):
            r = self.client.get("/")
        assert "sessionid" in r.cookies  # saved again: the 12 hours start over
        assert int(r.cookies["sessionid"]["max-age"]) == 12 * 3600

    @override_settings(SECURE_SSL_REDIRECT=True)
    def test_plain_http_is_redirected_except_probes(self):
        r = self.client.get("/login/")
        assert r.status_code == 301
        assert r["Location"] == "https://testserver/login/"
        for probe in ("/healthz", "/healthz/live", "/healthz/ready"):
            assert self.client.get(probe).status_code == 200, probe
        assert self.client.get("/healthz/background").status_code in (200, 503)
        token = {"Authorization": f"Bearer {settings.METRICS_TOKEN}"}
        assert self.client.get("/metrics", headers=token).status_code == 200
        assert self.client.get("/login/", secure=True).status_code == 200


class CsrfTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.client = Client(enforce_csrf_checks=True)
        self.login(self.alex)

    def page_token(self) -> str:
        body = self.client.get("/").content.decode()
        match = re.search(r"<body hx-headers='([^']*)'", body)
        return json.loads(html.unescape(match[1]))["x-csrftoken"]

    def test_htmx_post_without_the_token_is_refused(self):
        r = self.client.post("/logout/", headers={"HX-Request": "true"})
        assert r.status_code == 403
        assert self.client.get("/").status_code == 200  # still logged in

    def test_htmx_post_with_a_wrong_token_is_refused(self):
        self.client.get("/")
        headers = {"HX-Request": "true", "X-CSRFToken": "x" * 64}
        assert self.client.post("/logout/", headers=headers).status_code == 403

    def test_htmx_post_with_the_pages_header_passes(self):
        token = self.page_token()
        r = self.client.post("/logout/", headers={"HX-Request": "true", "X-CSRFToken": token})
        assert r.status_code == 302
        assert self.client.get("/").status_code == 302  # logged out


PRODUCTION = {
    "SECRET_KEY": "k8Jd92-x_Lq0vZ3pW7mN4rT6yB1cF5hG9jK2lP8sD0aQ-rE7tY3uI",
    "FIELD_ENCRYPTION_KEY": "Egff6j5QvyPRk9RUNQ381atrSywkEyE-mZAqTevzNIc=",
    "ALLOWED_HOSTS": "stripe-sources.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "DEBUG", "DJANGO_", "SECRET_KEY"))
    }
    clean.update(PRODUCTION, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_notices_a_weakened_setting():
    # The guard above would also pass if --deploy checked nothing.
    result = manage("check", "--deploy", "--fail-level", "WARNING", SECURE_SSL_REDIRECT="False")
    assert result.returncode == 1
    assert "security.W008" in result.stderr


def test_proxy_ssl_header_comes_from_the_environment():
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    result = manage("shell", "-c", code, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.stdout.splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')", result.stderr
    result = manage("shell", "-c", code)
    assert result.stdout.splitlines()[-1] == "None", result.stderr
