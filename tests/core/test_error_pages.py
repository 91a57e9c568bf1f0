"""Friendly 403, 404, 413 and 500 pages in the site's layout."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path
from django.views import defaults

from tests.base import BaseTestCase

TEN_MB = 10 * 1024 * 1024


def boom(request):
    raise RuntimeError("kaboom sk_live_51HxAbCdEfGhIjKlMnOpQr")


def echo(request):
    return HttpResponse(f"got {len(request.POST.get('note', ''))}")


urlpatterns = [
    path("boom/", boom),
    path("echo/", echo),
    path("", include("config.urls")),
]
handler400 = "core.errors.bad_request"


class ErrorPagesTestCase(BaseTestCase):
    def test_404_is_friendly_and_in_the_layout(self):
        r = self.client.get("/no-such-page/")
        assert r.status_code == 404
        self.assertContains(r, "Page not found", status_code=404)
        self.assertContains(r, 'class="topbar"', status_code=404)
        self.assertContains(r, "Back to the overview", status_code=404)

    def test_403_explains_roles(self):
        self.login(self.nora)
        r = self.client.get("/sandboxes/")
        assert r.status_code == 403
        self.assertContains(r, "ask an Admin to change your role", status_code=403)
        self.assertContains(r, 'class="topbar"', status_code=403)

    def test_posting_10_mb_to_the_login_form_is_a_413_page(self):
        r = self.client.post("/login/", {"username": "mina", "password": "x", "note": "a" * TEN_MB})
        assert r.status_code == 413
        self.assertContains(r, "too much data to send at once", status_code=413)
        self.assertContains(r, "at most 2 MB", status_code=413)

    def test_413_also_when_the_csrf_check_reads_the_body_first(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alex)
        client.get("/sandboxes/new/")  # sets the CSRF cookie, so the check reads request.POST
        r = client.post("/sandboxes/new/", {"display_name": "a" * TEN_MB})
        assert r.status_code == 413

    @override_settings(ROOT_URLCONF=__name__)
    def test_a_small_post_still_works_and_other_bad_requests_stay_400(self):
        assert self.client.post("/echo/", {"note": "hello"}).content == b"got 5"
        r = self.client.get("/echo/", HTTP_HOST="bad host name")
        assert r.status_code == 400

    @override_settings(ROOT_URLCONF=__name__)
    def test_500_page_and_the_logged_error(self):
        client = Client(raise_request_exception=False)
        with self.assertLogs("django.request", logging.ERROR) as logs:
            r = client.get("/boom/", headers={"X-Request-ID": "req-500"})
        assert r.status_code == 500
        self.assertContains(r, "Something went wrong on our side", status_code=500)
        assert r["X-Request-ID"] == "req-500"
        assert logs.records[0].request.request_id == "req-500"

    def test_500_renders_without_a_request_context(self):
        # Django renders 500.html with an empty context: no user, no context processors.
        r = defaults.server_error(RequestFactory().get("/"))
        assert r.status_code == 500
        assert b"Something went wrong on our side" in r.content
        assert b'class="topbar"' in r.content
