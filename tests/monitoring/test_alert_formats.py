"""Webhook formats: generic signed JSON, Slack and Microsoft Teams, on the form and on the wire."""

from __future__ import annotations

import json
from unittest.mock import patch

from django.test import override_settings
from django.utils import translation

from monitoring import alerts
from monitoring.forms import suggested_format
from monitoring.health import refresh_health
from monitoring.models import Alert, AlertDelivery, AlertRule, AuditEvent
from monitoring.tasks import deliver_later
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run
from tests.monitoring.fakes import PUBLIC_ADDRESS, Receiver, fake_dns

SECRET = "whsec_format_test_0123456789"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXX"
TEAMS_URL = "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
SITE = "https://sources.example.com"
Format = AlertRule.WebhookFormat


class WebhookFormatFormTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox(), name="Charges")
        self.dns = {
            "hooks.slack.com": [PUBLIC_ADDRESS],
            "prod-01.westus.logic.azure.com": [PUBLIC_ADDRESS],
            "hooks.example.org": [PUBLIC_ADDRESS],
        }
        dns = fake_dns(self.dns)
        dns.start()
        self.addCleanup(dns.stop)
        self.login(self.alex)

    def post(self, **fields):
        return self.client.post("/alerts/rules/new/", {"kind": "run_failed", **fields})

    def test_the_form_offers_the_three_formats_and_explains_them(self):
        body = self.client.get("/alerts/rules/new/").content.decode()
        assert 'name="webhook_format"' in body
        for label in (
            "Generic signed JSON",
            "Slack incoming webhook",
            "Microsoft Teams (incoming webhook or Workflows)",
        ):
            assert label in body
        assert "hooks.slack.com" in body and "webhook.office.com" in body
        assert "Slack and Teams check no signature: leave it empty for them." in body
        assert "js/alert_rule_form.js" in body

    def test_slack_and_teams_need_no_secret(self):
        r = self.post(webhook_url=SLACK_URL, webhook_format="slack")
        assert r.status_code == 302
        r = self.post(webhook_url=TEAMS_URL, webhook_format="teams")
        assert r.status_code == 302
        rules = AlertRule.objects.order_by("pk")
        assert [(rule.webhook_format, bool(rule.webhook_secret)) for rule in rules] == [
            ("slack", False),
            ("teams", False),
        ]
        audits = AuditEvent.objects.filter(action="alert_rule.create").order_by("pk")
        assert [event.after["webhook_format"] for event in audits] == ["slack", "teams"]

    def test_generic_json_still_needs_a_secret(self):
        r = self.post(webhook_url="https://hooks.example.org/aep", webhook_format="generic")
        assert r.status_code == 200 and not AlertRule.objects.exists()
        assert "Generic signed JSON needs a signing secret." in r.content.decode()

    def test_a_slack_address_sent_as_generic_without_secret_gets_the_format_suggested(self):
        r = self.post(webhook_url=SLACK_URL, webhook_format="generic")
        assert r.status_code == 200 and not AlertRule.objects.exists()
        assert (
            "This address looks like Slack incoming webhook: choose that format, or give a "
            "signing secret to send generic signed JSON."
        ) in r.content.decode()

    def test_the_choice_of_the_user_wins_over_the_suggestion(self):
        r = self.post(webhook_url=SLACK_URL, webhook_format="generic", webhook_secret=SECRET)
        assert r.status_code == 302
        assert AlertRule.objects.get().webhook_format == "generic"

    def test_a_post_without_a_format_is_generic_as_before(self):
        r = self.post(webhook_url="https://hooks.example.org/aep", webhook_secret=SECRET)
        assert r.status_code == 302
        assert AlertRule.objects.get().webhook_format == "generic"

    def test_an_unknown_format_is_refused_with_an_error(self):
        r = self.post(webhook_url=SLACK_URL, webhook_format="<script>")
        assert r.status_code == 200 and not AlertRule.objects.exists()
        assert "Select a valid choice." in r.content.decode()

    def test_a_rule_whose_address_looks_like_another_format_says_so(self):
        rule = AlertRule.objects.create(kind="run_failed", webhook_url=SLACK_URL)
        body = self.client.get(f"/alerts/rules/{rule.pk}/").content.decode()
        assert "This address looks like Slack incoming webhook." in body
        rule.webhook_format = Format.SLACK
        rule.save()
        body = self.client.get(f"/alerts/rules/{rule.pk}/").content.decode()
        assert "This address looks like" not in body

    def test_the_rule_list_names_the_receiver(self):
        AlertRule.objects.create(kind="run_failed", webhook_url=SLACK_URL, webhook_format="slack")
        body = self.client.get("/alerts/rules/").content.decode()
        assert "Slack <span" in body

    def test_volume_threshold_is_a_fraction(self):
        r = self.post(kind="volume_drop", threshold="2")
        assert "e.g. 0.5 for half a usual day" in r.content.decode()
        r = self.post(kind="volume_drop", threshold="0.3", enabled="on")
        assert r.status_code == 302
        assert AlertRule.objects.get().effective_threshold == 0.3

    def test_the_form_reads_in_korean(self):
        body = self.client.get("/alerts/rules/new/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert "웹후크 형식" in body and "일반 서명 JSON" in body
        assert "Slack과 Teams는 서명을 확인하지 않으므로 비워 두세요." in body

    def test_hosts_that_suggest_a_format(self):
        assert suggested_format(SLACK_URL) == "slack"
        assert suggested_format(TEAMS_URL) == "teams"
        assert suggested_format("https://acme.webhook.office.com/webhookb2/x") == "teams"
        assert suggested_format("https://x.environment.api.powerplatform.com/p") == "teams"
        assert suggested_format("https://hooks.slack.com.evil.example/x") is None
        assert suggested_format("https://notlogic.azure.com/x") is None
        assert suggested_format("https://hooks.example.org/aep") is None
        assert suggested_format("https://[::1") is None


# The receiver listens on 127.0.0.1 over plain http, which only this setting allows.
@override_settings(ALERT_WEBHOOK_ALLOW_PRIVATE=True, SITE_URL=SITE)
class ChatDeliveryTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.flow = make_dataflow(make_sandbox(), name="Refunds & <!channel>")
        self.enqueued: list[int] = []
        patcher = patch(
            "monitoring.tasks.deliver_alert.delay_on_commit", side_effect=self.enqueued.append
        )
        patcher.start()
        self.addCleanup(patcher.stop)

    def rule(self, webhook_format: str, **fields) -> AlertRule:
        return AlertRule.objects.create(
            kind=AlertRule.Kind.RUN_FAILED,
            notify_subscribers=False,
            webhook_url=self.receiver.url,
            webhook_format=webhook_format,
            **fields,
        )

    def fail_then_recover(self) -> list[dict]:
        """Open and resolve an alert through the rules; returns the bodies the receiver got."""
        make_run(self.flow, status="failed", output_records=0)
        refresh_health(self.flow)
        alerts.evaluate(self.flow, deliver_later)
        self.flow.runs.all().delete()
        make_run(self.flow)
        refresh_health(self.flow)
        alerts.evaluate(self.flow, deliver_later)
        for pk in self.enqueued:
            assert alerts.deliver(pk) is None
        assert AlertDelivery.objects.filter(status="sent").count() == 2
        return [json.loads(body) for _headers, body in self.receiver.requests]

    def test_slack_gets_text_and_blocks_without_a_signature(self):
        self.rule(Format.SLACK)
        opened, resolved = self.fail_then_recover()
        url = f"{SITE}/dataflows/{self.flow.pk}/"
        name = "Refunds &amp; &lt;!channel&gt;"  # Slack markup is escaped: nobody gets pinged
        assert opened["text"] == (
            f"Alert for {name}: The latest run failed. <{url}|Open the dataflow>"
        )
        assert opened["blocks"][0]["text"] == {
            "type": "mrkdwn",
            "text": f"*Alert for {name}*\nThe latest run failed.",
        }
        assert opened["blocks"][1]["elements"][0]["text"] == (
            f"Rule: Run failed · <{url}|Open the dataflow>"
        )
        assert resolved["text"].startswith(f"Alert resolved for {name}: The condition no longer")
        headers = self.receiver.requests[0][0]
        assert "X-Stripe-Sources-Signature" not in headers
        assert headers["Content-Type"] == "application/json"
        delivery = AlertDelivery.objects.first()
        assert delivery.webhook_format == "slack"

    def test_teams_gets_an_adaptive_card(self):
        self.rule(Format.TEAMS)
        opened, resolved = self.fail_then_recover()
        assert opened["type"] == "message"
        [attachment] = opened["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        texts = [block["text"] for block in card["body"]]
        assert texts == [
            "Alert for Refunds & <!channel>",
            "The latest run failed.",
            "Rule: Run failed",
        ]
        assert card["actions"] == [
            {
                "type": "Action.OpenUrl",
                "title": "Open the dataflow",
                "url": f"{SITE}/dataflows/{self.flow.pk}/",
            }
        ]
        assert resolved["attachments"][0]["content"]["body"][1]["text"] == (
            "The condition no longer holds."
        )
        assert "X-Stripe-Sources-Signature" not in self.receiver.requests[0][0]

    @override_settings(LANGUAGE_CODE="ko")
    def test_chat_messages_are_in_the_default_language_of_the_site(self):
        self.rule(Format.SLACK)
        with translation.override("en"):
            opened, _resolved = self.fail_then_recover()
        assert opened["text"].startswith("Refunds &amp; &lt;!channel&gt; 알림: 최근 실행이 실패")
        assert "데이터플로 열기" in opened["text"]

    @override_settings(SITE_URL="")
    def test_without_a_site_address_no_broken_link_is_sent(self):
        self.rule(Format.TEAMS)
        opened, _resolved = self.fail_then_recover()
        card = opened["attachments"][0]["content"]
        assert "actions" not in card
        assert card["body"][-1]["text"] == f"/dataflows/{self.flow.pk}/"

    def test_a_retry_keeps_the_format_the_delivery_was_made_with(self):
        rule = self.rule(Format.SLACK)
        self.receiver.statuses = [503]
        make_run(self.flow, status="failed", output_records=0)
        refresh_health(self.flow)
        alerts.evaluate(self.flow, deliver_later)
        [pk] = self.enqueued
        assert alerts.deliver(pk) is not None  # to be retried
        AlertRule.objects.filter(pk=rule.pk).update(
            webhook_format=Format.GENERIC, webhook_secret=SECRET
        )
        assert alerts.deliver(pk) is None
        assert [json.loads(body)["text"][:9] for _h, body in self.receiver.requests] == [
            "Alert for",
            "Alert for",
        ]

    def test_the_generic_format_is_unchanged(self):
        rule = self.rule(Format.GENERIC, webhook_secret=SECRET)
        rule.refresh_from_db()
        alert = Alert.objects.create(
            rule=rule, dataflow=self.flow, kind=rule.kind, summary="The latest run failed."
        )
        delivery = AlertDelivery.objects.create(
            alert=alert, event="opened", channel="webhook", target=self.receiver.url
        )
        assert delivery.webhook_format == "generic"
        assert alerts.deliver(delivery.pk) is None
        headers, body = self.receiver.requests[0]
        assert alerts.verify(SECRET, body, headers["X-Stripe-Sources-Signature"])
        assert headers["X-Stripe-Sources-Event"] == "alert.opened"
        assert headers["X-Stripe-Sources-Delivery"] == str(delivery.pk)
        expected = alerts.payload(delivery)
        assert body == json.dumps(expected, separators=(",", ":"), sort_keys=True).encode()
        assert sorted(expected) == ["alert", "dataflow", "delivery_id", "type"]
        assert sorted(expected["alert"]) == [
            "details",
            "id",
            "kind",
            "opened_at",
            "resolution",
            "resolved_at",
            "rule",
            "summary",
        ]
        assert sorted(expected["dataflow"]) == [
            "flow_id",
            "health",
            "id",
            "name",
            "resource_path",
            "url",
        ]
