"""Editing an account: the PATCH, its If-Match, the mirror, the audit and the conflict path."""

from __future__ import annotations

import json
import uuid

import responses

from core.models import Job
from monitoring.models import AuditEvent
from operations import service, steps
from operations.models import Operation
from operations.tasks import execute_operation
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import FLOWSERVICE, TOKEN_URL, make_account
from tests.operations.jobs import queue


class AccountUpdateTaskTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox(client_id=f"client-{uuid.uuid4().hex}")
        self.account = make_account(self.sandbox)
        self.url = f"{FLOWSERVICE}/connections/{self.account.connection_id}"
        self.op = service.create(
            Operation.Kind.ACCOUNT_UPDATE,
            actor=self.sam,
            account=self.account,
            reason="Customer asked for a clearer name",
            ticket="SUP-12",
            params={
                "changes": {"name": "Acme (EU)"},
                "seen": {
                    "name": "Acme Stripe",
                    "description": "Acme's live account",
                    "key_ending": "0001",
                    "etag": '"etag-conn-1"',
                },
            },
            steps=steps.account_update_steps(self.account),
        )
        self.job_id = queue(self.op, execute_operation)
        responses.start()
        responses.post(TOKEN_URL, json={"access_token": "t", "expires_in": 86399})

    def tearDown(self) -> None:
        responses.stop()
        responses.reset()
        super().tearDown()

    def current(self, etag: str, name: str = "Acme Stripe", request_id: str = "") -> None:
        """GET /connections/{id}: the connection as AEP has it now."""
        item = {
            "id": self.account.connection_id,
            "name": name,
            "description": "Acme's live account",
            "etag": etag,
        }
        headers = {"x-request-id": request_id} if request_id else {}
        responses.get(self.url, json={"items": [item]}, headers=headers)

    def test_it_patches_with_the_etag_aep_has_now(self):
        # The etag moved, but no field the person can change did: that is no conflict.
        self.current('"etag-conn-5"')
        responses.patch(
            self.url,
            json={"id": self.account.connection_id, "etag": '"etag-conn-2"'},
            headers={"x-request-id": "req-123"},
        )
        execute_operation(self.job_id, str(self.op.pk))
        sent = responses.calls[-1].request
        assert sent.headers["If-Match"] == '"etag-conn-5"'
        assert json.loads(sent.body) == [{"op": "replace", "path": "/name", "value": "Acme (EU)"}]
        self.account.refresh_from_db()
        assert self.account.name == "Acme (EU)"
        assert self.account.etag == '"etag-conn-2"'
        self.op.refresh_from_db()
        assert self.op.status == Operation.Status.SUCCEEDED
        event = AuditEvent.objects.get()
        assert (event.action, event.actor, event.role) == ("account.update", self.sam, "Support")
        assert event.before == {"name": "Acme Stripe"}
        assert event.after == {"name": "Acme (EU)"}
        assert (event.reason, event.ticket, event.request_id) == (
            "Customer asked for a clearer name",
            "SUP-12",
            "req-123",
        )
        assert Job.objects.get(pk=self.job_id).status == Job.Status.SUCCEEDED

    def test_a_name_changed_in_aep_shows_what_changed_and_overwrites_nothing(self):
        self.current('"etag-conn-7"', name="Acme Payments", request_id="req-9")
        execute_operation(self.job_id, str(self.op.pk))
        assert not [c for c in responses.calls if c.request.method == "PATCH"]
        self.op.refresh_from_db()
        assert self.op.status == Operation.Status.CONFLICT
        assert "“Acme Stripe” → “Acme Payments”" in self.op.error
        assert "nothing was overwritten" in self.op.error
        self.account.refresh_from_db()
        assert self.account.name == "Acme Payments"  # AEP's value, not ours
        assert self.account.etag == '"etag-conn-7"'
        event = AuditEvent.objects.get()
        assert event.result == AuditEvent.Result.FAILED
        assert event.request_id == "req-9"
        job = Job.objects.get(pk=self.job_id)
        assert job.status == Job.Status.FAILED
        assert "Acme Payments" in job.error

    def test_a_412_is_checked_again_and_the_patch_tried_once_more(self):
        self.current('"etag-conn-1"')
        self.current('"etag-conn-3"')  # read again after the 412: only the etag moved
        stale = {"type": "https://ns.adobe.com/aep/errors/FLOW-1404-412", "status": 412}
        responses.patch(self.url, status=412, json=stale)
        responses.patch(self.url, json={"id": self.account.connection_id, "etag": '"e4"'})
        execute_operation(self.job_id, str(self.op.pk))
        self.op.refresh_from_db()
        assert self.op.status == Operation.Status.SUCCEEDED, self.op.error
        patches = [c.request for c in responses.calls if c.request.method == "PATCH"]
        assert [p.headers["If-Match"] for p in patches] == ['"etag-conn-1"', '"etag-conn-3"']

    def test_a_key_rotated_meanwhile_is_a_conflict_naming_it(self):
        self.account.token_last4 = "9999"
        self.account.save()
        self.current('"etag-conn-2"')
        execute_operation(self.job_id, str(self.op.pk))
        self.op.refresh_from_db()
        assert self.op.status == Operation.Status.CONFLICT
        assert self.op.result["conflict"]["changes"] == [
            {"field": "Stripe key ending", "was": "0001", "now": "9999"}
        ]

    def test_the_worker_refuses_a_user_who_lost_the_role(self):
        self.sam.groups.clear()
        execute_operation(self.job_id, str(self.op.pk))
        assert not [c for c in responses.calls if c.request.method == "PATCH"]
        self.op.refresh_from_db()
        assert self.op.status == Operation.Status.FAILED
        assert AuditEvent.objects.get().result == AuditEvent.Result.FAILED

    def test_a_rotation_whose_key_was_forgotten_stops_before_aep(self):
        rotation = service.create(
            Operation.Kind.ACCOUNT_ROTATE_KEY,
            actor=self.sam,
            account=self.account,
            reason="leak",
            steps=steps.rotate_key_steps(self.account),
        )
        Operation.objects.filter(pk=rotation.pk).update(status=Operation.Status.QUEUED)
        execute_operation(queue(rotation, execute_operation), str(rotation.pk))
        rotation.refresh_from_db()
        assert rotation.status == Operation.Status.FAILED
        assert "no longer kept" in rotation.error
        assert not [c for c in responses.calls if c.request.method == "PATCH"]
