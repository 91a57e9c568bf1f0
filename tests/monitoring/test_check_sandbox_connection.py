"""The Test connection task, with AEP faked at the HTTP layer."""

from __future__ import annotations

import uuid

import responses
from cryptography.fernet import Fernet
from django.test import override_settings

from aep.payloads import STRIPE_CONNECTION_SPEC_ID
from core.models import Job
from monitoring.tasks import check_sandbox_connection
from tests.base import BaseTestCase, make_sandbox

PLATFORM = "http://aep.invalid"
SPEC_URL = f"{PLATFORM}/data/foundation/flowservice/connectionSpecs/{STRIPE_CONNECTION_SPEC_ID}"
STATS_URL = f"{PLATFORM}/data/foundation/schemaregistry/stats"
TOKEN_URL = f"{PLATFORM}/ims/token/v3"


class TestSandboxConnectionTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # A unique client id keeps this test's token out of other tests' shared Redis cache.
        self.sandbox = make_sandbox(client_id=f"client-{uuid.uuid4().hex}")
        self.job = Job.objects.create(
            kind="sandbox.test_connection",
            target=f"sandbox:{self.sandbox.pk}",
            created_by=self.alex,
        )

    def token_ok(self) -> None:
        responses.post(
            TOKEN_URL,
            json={"access_token": "tok-1", "token_type": "bearer", "expires_in": 86399},
        )

    @responses.activate
    def test_success_records_spec_and_tenant(self):
        self.token_ok()
        responses.get(
            SPEC_URL, json={"items": [{"id": STRIPE_CONNECTION_SPEC_ID, "name": "stripe"}]}
        )
        responses.get(STATS_URL, json={"imsOrg": self.sandbox.org_id, "tenantId": "acme"})
        check_sandbox_connection(str(self.job.pk))
        self.job.refresh_from_db()
        assert self.job.status == Job.Status.SUCCEEDED
        assert self.job.result["tenant_id"] == "acme"
        assert "tenant acme" in self.job.result["summary"]
        self.sandbox.refresh_from_db()
        assert self.sandbox.tenant_id == "acme"
        sent = responses.calls[1].request
        assert sent.headers["x-sandbox-name"] == "prod"
        assert sent.headers["x-gw-ims-org-id"] == self.sandbox.org_id

    @responses.activate
    def test_an_unreadable_client_secret_fails_naming_the_sandbox_and_the_fix(self):
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            check_sandbox_connection(str(self.job.pk))
        self.job.refresh_from_db()
        assert self.job.status == Job.Status.FAILED
        assert "Demo (prod)" in self.job.error
        assert "cannot be read with the current FIELD_ENCRYPTION_KEY" in self.job.error
        assert "Enter the secret again" in self.job.error
        assert len(responses.calls) == 0  # nothing was sent

    @responses.activate
    def test_bad_credentials_fail_in_plain_words(self):
        responses.post(
            TOKEN_URL,
            status=401,
            json={"error": "invalid_client", "error_description": "invalid client_secret"},
        )
        check_sandbox_connection(str(self.job.pk))
        self.job.refresh_from_db()
        assert self.job.status == Job.Status.FAILED
        assert "refused the credentials" in self.job.error
        assert "demo-client-secret" not in self.job.error

    def test_unreachable_platform_is_a_clear_failure(self):
        # Port 9 on loopback: nothing listens there, the connection is refused at once.
        self.sandbox.platform_url = self.sandbox.ims_url = "http://127.0.0.1:9"
        self.sandbox.save()
        check_sandbox_connection(str(self.job.pk))
        self.job.refresh_from_db()
        assert self.job.status == Job.Status.FAILED
        assert "Cannot reach AEP" in self.job.error

    @responses.activate
    def test_a_job_already_claimed_is_left_alone(self):
        self.job.claim()
        check_sandbox_connection(str(self.job.pk))
        assert len(responses.calls) == 0
