"""Alert history and rule pages: who may edit which rules, how each alert was delivered, and
what the rule pages say of a webhook's format."""

from __future__ import annotations

from monitoring.models import Alert, AlertDelivery, AlertRule
from monitoring.webhook_targets import label
from tests.monitoring.pages import SLACK_URL, AlertPageTestCase


class AlertPagesTestCase(AlertPageTestCase):
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
            target=label("https://hooks.example.org/in/tok_secret_path?key=abc"),
            status=Delivery.Status.FAILED,
            last_error="HTTP 503",
        )
        quiet = Alert.objects.create(rule=rule, dataflow=self.other, kind=rule.kind, summary="y")
        Delivery.objects.create(alert=quiet, event="opened", channel="email", target="a@b.org")
        self.login(self.sam)
        body = self.client.get("/alerts/").content.decode()
        assert "1 sent" in body and "1 waiting to be sent" in body
        assert "Webhook to https://hooks.example.org/…#" in body
        assert "failed: HTTP 503" in body
        # The receiver's path and query may hold its own token.
        assert "tok_secret_path" not in body and "key=abc" not in body

    def test_a_rule_whose_address_looks_like_another_format_says_so(self):
        self.login(self.alex)
        rule = AlertRule.objects.create(kind="run_failed", webhook_url=SLACK_URL)
        body = self.client.get(f"/alerts/rules/{rule.pk}/").content.decode()
        assert "This address looks like Slack incoming webhook." in body
        rule.webhook_format = AlertRule.WebhookFormat.SLACK
        rule.save()
        body = self.client.get(f"/alerts/rules/{rule.pk}/").content.decode()
        assert "This address looks like" not in body

    def test_the_rule_list_names_the_receiver(self):
        self.login(self.alex)
        AlertRule.objects.create(kind="run_failed", webhook_url=SLACK_URL, webhook_format="slack")
        body = self.client.get("/alerts/rules/").content.decode()
        assert "Slack <span" in body
