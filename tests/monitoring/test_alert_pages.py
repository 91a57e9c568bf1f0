"""Alert history and rule pages: who may edit which rules; secrets are never shown back."""

from __future__ import annotations

from monitoring.models import Alert, AlertDelivery, AlertRule, AuditEvent
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow
from tests.monitoring.fakes import PUBLIC_ADDRESS, fake_dns

SECRET = "whsec_page_test_0123456789"


class AlertPagesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.own = make_dataflow(self.sandbox, name="Mina's charges", owner=self.mina)
        self.other = make_dataflow(self.sandbox, name="Other refunds")
        # Webhook URLs are resolved when saved; these names stand for public receivers.
        self.dns = {"hooks.example.org": [PUBLIC_ADDRESS], "x.example.org": [PUBLIC_ADDRESS]}
        dns = fake_dns(self.dns)
        dns.start()
        self.addCleanup(dns.stop)

    def test_admins_create_global_rules_with_a_webhook_secret_never_shown_back(self):
        self.login(self.alex)
        r = self.client.post(
            "/alerts/rules/new/",
            {
                "kind": "failed_ratio",
                "threshold": "0.1",
                "enabled": "on",
                "notify_subscribers": "on",
                "emails": "ops@example.org; data@example.org",
                "webhook_url": "https://hooks.example.org/aep",
                "webhook_secret": SECRET,
            },
        )
        assert r.status_code == 302
        rule = AlertRule.objects.get()
        assert rule.dataflow is None and rule.webhook_secret.reveal() == SECRET
        assert rule.emails == "ops@example.org, data@example.org"
        body = self.client.get(f"/alerts/rules/{rule.pk}/").content.decode()
        assert SECRET not in body and "ends in …6789" in body
        assert SECRET not in str(AuditEvent.objects.get(action="alert_rule.create").after)
        # Saving without retyping the secret keeps it.
        self.client.post(
            f"/alerts/rules/{rule.pk}/",
            {
                "kind": "failed_ratio",
                "threshold": "0.2",
                "enabled": "on",
                "webhook_url": "https://hooks.example.org/aep",
            },
        )
        rule.refresh_from_db()
        assert rule.threshold == 0.2 and rule.webhook_secret.reveal() == SECRET

    def test_owners_edit_rules_of_their_own_flows_only(self):
        self.login(self.mina)
        r = self.client.post(
            "/alerts/rules/new/", {"dataflow": self.own.pk, "kind": "run_failed", "enabled": "on"}
        )
        assert r["Location"] == f"/dataflows/{self.own.pk}/"
        r = self.client.post(
            "/alerts/rules/new/", {"dataflow": self.other.pk, "kind": "run_failed"}
        )
        assert r.status_code == 200 and AlertRule.objects.count() == 1  # not a choice for her
        r = self.client.post("/alerts/rules/new/", {"kind": "run_failed"})
        assert AlertRule.objects.count() == 1  # no global rules either
        other_rule = AlertRule.objects.create(dataflow=self.other, kind="late")
        assert self.client.get(f"/alerts/rules/{other_rule.pk}/").status_code == 403
        assert self.client.post(f"/alerts/rules/{other_rule.pk}/delete/").status_code == 403

    def test_support_views_rules_but_edits_none(self):
        rule = AlertRule.objects.create(kind="run_failed")
        self.login(self.sam)
        assert self.client.get("/alerts/rules/").status_code == 200
        assert self.client.get("/alerts/rules/new/").status_code == 403
        assert self.client.get(f"/alerts/rules/{rule.pk}/").status_code == 403

    def test_thresholds_are_checked(self):
        self.login(self.alex)
        r = self.client.post("/alerts/rules/new/", {"kind": "failed_ratio", "threshold": "5"})
        assert "fraction between 0 and 1" in r.content.decode()
        r = self.client.post(
            "/alerts/rules/new/", {"kind": "run_failed", "webhook_url": "https://x.example.org"}
        )
        assert "needs a signing secret" in r.content.decode()

    def test_webhooks_to_internal_addresses_are_refused_with_a_reason(self):
        self.dns["metadata.example.org"] = ["169.254.169.254"]
        self.login(self.alex)
        fields = {"kind": "run_failed", "enabled": "on", "webhook_secret": SECRET}
        r = self.client.post(
            "/alerts/rules/new/", {**fields, "webhook_url": "https://metadata.example.org/"}
        )
        assert r.status_code == 200 and not AlertRule.objects.exists()
        assert (
            "metadata.example.org points inside the network (169.254.169.254). Webhooks can only "
            "go to addresses on the public internet."
        ) in r.content.decode()
        r = self.client.post(
            "/alerts/rules/new/", {**fields, "webhook_url": "http://127.0.0.1:6379/"}
        )
        assert r.status_code == 200 and not AlertRule.objects.exists()
        assert "Use an address starting with https://." in r.content.decode()

    def test_the_history_lists_open_and_resolved_alerts(self):
        rule = AlertRule.objects.create(kind="run_failed")
        Alert.objects.create(rule=rule, dataflow=self.own, kind=rule.kind, summary="Still broken")
        from django.utils import timezone

        Alert.objects.create(
            rule=rule,
            dataflow=self.other,
            kind=rule.kind,
            summary="Was broken",
            resolved_at=timezone.now(),
            resolution="The condition no longer holds.",
        )
        self.login(self.sam)
        body = self.client.get("/alerts/?state=open").content.decode()
        assert "Still broken" in body and "Was broken" not in body
        body = self.client.get(f"/alerts/?dataflow={self.other.pk}").content.decode()
        assert "Was broken" in body and "Still broken" not in body

    def test_the_history_shows_how_each_alert_was_delivered_and_why_one_failed(self):
        rule = AlertRule.objects.create(kind="run_failed")
        alert = Alert.objects.create(rule=rule, dataflow=self.own, kind=rule.kind, summary="x")
        Delivery = AlertDelivery
        common = {"alert": alert, "event": Delivery.Event.OPENED}
        Delivery.objects.create(
            **common, channel="email", target="ops@example.org", status=Delivery.Status.SENT
        )
        Delivery.objects.create(
            **common,
            channel="webhook",
            target="https://hooks.example.org/in/tok_secret_path?key=abc",
            status=Delivery.Status.FAILED,
            last_error="HTTP 503",
        )
        quiet = Alert.objects.create(rule=rule, dataflow=self.other, kind=rule.kind, summary="y")
        Delivery.objects.create(alert=quiet, event="opened", channel="email", target="a@b.org")
        self.login(self.sam)
        body = self.client.get("/alerts/").content.decode()
        assert "1 sent" in body and "1 waiting to be sent" in body
        assert "Webhook to hooks.example.org failed: HTTP 503" in body
        # The receiver's path and query may hold its own token.
        assert "tok_secret_path" not in body and "key=abc" not in body
