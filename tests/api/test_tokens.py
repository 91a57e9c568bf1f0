"""API tokens: only the digest is kept, revoked and expired ones get 401, last use is noted."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from api import tokens
from api.models import ApiToken
from monitoring.models import AuditEvent
from tests.api.cases import ApiTestCase


class TokenTestCase(ApiTestCase):
    def test_only_the_digest_of_a_token_is_stored(self):
        token, raw = tokens.issue(self.sam, "reports")
        assert raw.startswith("ss_") and len(raw) > 40
        stored = ApiToken.objects.get(pk=token.pk)
        assert raw not in (stored.digest, stored.prefix, stored.name)
        assert stored.digest == tokens.digest_of(raw)
        assert raw.startswith(stored.prefix)

    def test_a_live_token_is_accepted_and_its_use_noted(self):
        response = self.api(self.sam, "get", "dataflows")
        assert response.status_code == 200
        token = ApiToken.objects.get(user=self.sam, name="ci")
        assert token.last_used_at is not None

    def test_a_revoked_token_gets_401(self):
        token = ApiToken.objects.get(user=self.sam, name="ci")
        assert tokens.revoke(token, by=self.sam)
        response = self.api(self.sam, "get", "dataflows")
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert AuditEvent.objects.filter(action="api_token.revoke", actor=self.sam).exists()

    def test_an_expired_token_gets_401(self):
        _token, raw = tokens.issue(self.sam, "short", expires_at=timezone.now() + timedelta(days=1))
        ApiToken.objects.filter(name="short").update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert self.api(self.sam, "get", "dataflows", token=raw).status_code == 401

    def test_an_inactive_owner_s_token_gets_401(self):
        self.sam.is_active = False
        self.sam.save()
        assert self.api(self.sam, "get", "dataflows").status_code == 401

    def test_unknown_missing_and_malformed_tokens_get_401(self):
        assert self.api(self.sam, "get", "dataflows", token="ss_nope").status_code == 401
        assert self.api(self.sam, "get", "dataflows", token="").status_code == 401
        response = self.client.get("/api/v1/dataflows", HTTP_AUTHORIZATION="Basic c2FtOnB3")
        assert response.status_code == 401

    def test_a_session_cookie_is_no_way_into_the_api(self):
        self.login(self.alex)
        assert self.client.get("/api/v1/dataflows").status_code == 401

    def test_a_live_name_is_unique_per_person_but_may_be_reused_after_revoking(self):
        with pytest.raises(tokens.TokenError):
            tokens.issue(self.sam, "ci")
        tokens.revoke(ApiToken.objects.get(user=self.sam, name="ci"), by=self.sam)
        assert tokens.issue(self.sam, "ci")[0].name == "ci"

    def test_the_command_prints_a_token_that_works(self):
        out = StringIO()
        call_command("create_api_token", "alex", "--name", "deploy", stdout=out)
        raw = out.getvalue().strip()
        assert self.api(self.alex, "get", "accounts", token=raw).status_code == 200
        assert AuditEvent.objects.filter(
            action="api_token.create", target_label="deploy (alex)"
        ).exists()

    def test_the_command_refuses_an_unknown_user_and_a_taken_name(self):
        with pytest.raises(CommandError):
            call_command("create_api_token", "ghost", "--name", "x", stdout=StringIO())
        with pytest.raises(CommandError):
            call_command("create_api_token", "sam", "--name", "ci", stdout=StringIO())
