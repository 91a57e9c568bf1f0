"""The audit trail page: filters, CSV export, redaction, and who may see it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from django.utils import timezone

from monitoring.audit import record
from monitoring.models import AuditEvent
from tests.base import BaseTestCase, make_sandbox


class AuditViewsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        sandbox = make_sandbox()
        self.rotate = record(
            self.sam,
            "account.rotate_key",
            target_type="account",
            target_id="conn-1",
            target_label="Acme Stripe",
            sandbox=sandbox,
            reason="leaked",
            ticket="SUP-3",
            before={"auth": {"params": {"accessToken": "sk_live_old_secret_1111"}}},
            after={"key_ending": "2222"},
            request_id="req-a",
        )
        self.create = record(
            self.mina,
            "dataflow.create",
            target_type="dataflow",
            target_id="flow-1",
            target_label="Stripe charges",
            sandbox=sandbox,
        )
        old = record(
            self.alex,
            "dataflow.delete",
            target_type="dataflow",
            target_id="flow-2",
            target_label='=HYPERLINK("http://evil")',
            sandbox=sandbox,
            result=AuditEvent.Result.FAILED,
            error="AEP had an internal error.",
        )
        AuditEvent.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=10))
        self.login(self.sam)

    def labels(self, response) -> list[str]:
        return [event.target_label for event in response.context["page"].object_list]

    def test_it_lists_newest_first_with_redacted_secrets(self):
        response = self.client.get("/ops/audit/")
        assert self.labels(response) == [
            "Stripe charges",
            "Acme Stripe",
            '=HYPERLINK("http://evil")',
        ]
        self.assertNotContains(response, "sk_live_old_secret")
        self.assertContains(response, "req-a")

    def test_it_filters_by_actor_action_target_and_date(self):
        assert self.labels(self.client.get("/ops/audit/?actor=min")) == ["Stripe charges"]
        assert self.labels(self.client.get("/ops/audit/?action=account.rotate_key")) == [
            "Acme Stripe"
        ]
        assert self.labels(self.client.get("/ops/audit/?target=flow-2")) == [
            '=HYPERLINK("http://evil")'
        ]
        since = (timezone.now() - timedelta(days=2)).date().isoformat()
        assert len(self.labels(self.client.get(f"/ops/audit/?since={since}"))) == 2
        until = (timezone.now() - timedelta(days=5)).date().isoformat()
        assert self.labels(self.client.get(f"/ops/audit/?until={until}")) == [
            '=HYPERLINK("http://evil")'
        ]

    def test_csv_export_follows_the_filters(self):
        response = self.client.get("/ops/audit/export.csv?actor=sam")
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [row["action"] for row in rows] == ["account.rotate_key"]
        row = rows[0]
        assert (row["actor"], row["role"], row["reason"], row["ticket"]) == (
            "sam",
            "Support",
            "leaked",
            "SUP-3",
        )
        assert json.loads(row["before"]) == {"auth": {"params": {"accessToken": "••••"}}}
        assert json.loads(row["after"]) == {"key_ending": "2222"}
        assert row["request_id"] == "req-a"

    def test_csv_cells_cannot_run_as_formulas(self):
        response = self.client.get("/ops/audit/export.csv?action=dataflow.delete")
        text = b"".join(response.streaming_content).decode()
        assert "'=HYPERLINK" in text
        assert ",=HYPERLINK" not in text

    def test_the_nav_shows_audit_only_to_those_who_may_see_it(self):
        self.assertContains(self.client.get("/ops/accounts/"), 'href="/ops/audit/"')
        self.client.logout()
        self.login(self.mina)
        self.assertNotContains(self.client.get("/ops/accounts/"), 'href="/ops/audit/"')
