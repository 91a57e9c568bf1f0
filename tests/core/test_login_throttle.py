"""Login throttling: a username+address pair is locked out after repeated failures."""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from tests.base import PASSWORD, BaseTestCase


def fail(client, username: str = "mina", ip: str = "203.0.113.7"):
    return client.post("/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=ip)


def log_in(client, username: str = "mina", ip: str = "203.0.113.7"):
    return client.post("/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)


class LoginThrottleTestCase(BaseTestCase):
    def lock_out(self, **kwargs):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            r = fail(self.client, **kwargs)
            assert r.status_code == 200
            self.assertContains(r, "enter a correct username and password")
        return fail(self.client, **kwargs)

    def test_lockout_after_the_limit_shows_a_friendly_message_on_the_login_page(self):
        assert settings.AXES_FAILURE_LIMIT == 5
        r = self.lock_out()
        assert r.status_code == 429
        self.assertContains(r, "Too many failed log-in attempts", status_code=429)
        self.assertContains(r, "15 minutes", status_code=429)
        self.assertContains(r, 'name="password"', status_code=429)  # still the login page
        self.assertContains(r, 'value="mina"', status_code=429)

    def test_the_right_password_is_refused_while_locked_out(self):
        self.lock_out()
        r = log_in(self.client)
        assert r.status_code == 429
        assert self.client.get("/").status_code == 302  # not logged in

    def test_other_users_and_other_addresses_are_not_locked(self):
        self.lock_out()
        assert log_in(self.client, username="sam").status_code == 302
        self.client.logout()
        assert log_in(self.client, ip="198.51.100.9").status_code == 302

    def test_the_lock_lifts_after_the_cool_off(self):
        self.lock_out()
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
        r = log_in(self.client)
        assert r.status_code == 302
        assert self.client.get("/").status_code == 200

    def test_a_success_resets_the_count(self):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            fail(self.client)
        assert log_in(self.client).status_code == 302
        self.client.logout()
        assert fail(self.client).status_code == 200  # counting starts again

    def test_programmatic_logins_are_not_throttled(self):
        self.lock_out()
        assert self.client.login(username="mina", password=PASSWORD)

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_a_proxy_the_forwarded_address_is_counted(self):
        # The client forges a left-most entry; our proxy appends the real address.
        forged = {"X-Forwarded-For": "10.9.9.9, 203.0.113.50"}
        for _ in range(settings.AXES_FAILURE_LIMIT):
            self.client.post(
                "/login/",
                {"username": "mina", "password": "wrong"},
                REMOTE_ADDR="10.0.0.2",
                headers=forged,
            )
        assert AccessAttempt.objects.get().ip_address == "203.0.113.50"
        other = {"X-Forwarded-For": "203.0.113.51"}
        r = self.client.post(
            "/login/",
            {"username": "mina", "password": PASSWORD},
            REMOTE_ADDR="10.0.0.2",
            headers=other,
        )
        assert r.status_code == 302


@override_settings(LOGIN_USERNAME_FAILURE_LIMIT=8)
class UsernameTierTestCase(BaseTestCase):
    """One username guessed from many addresses is locked too, from every address (#12)."""

    def test_failures_from_several_addresses_lock_the_username(self):
        for ip in ("203.0.113.1", "203.0.113.2"):
            for _ in range(4):
                assert fail(self.client, ip=ip).status_code == 200
        r = log_in(self.client, ip="198.51.100.77")
        assert r.status_code == 429
        self.assertContains(r, "logging in as this user is paused", status_code=429)
        assert self.client.get("/").status_code == 302  # not logged in
        assert log_in(self.client, username="sam", ip="198.51.100.77").status_code == 302

    def test_the_username_lock_lifts_after_the_cool_off(self):
        for ip in ("203.0.113.1", "203.0.113.2"):
            for _ in range(4):
                fail(self.client, ip=ip)
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
        assert log_in(self.client, ip="198.51.100.77").status_code == 302
