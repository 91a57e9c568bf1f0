"""Webhook formats on the wire: Slack blocks, a Teams card, the generic signed JSON."""

from __future__ import annotations

import json
from unittest.mock import patch

from django.test import override_settings
from django.utils import translation

from monitoring import alerts
from monitoring.health import refresh_health
from monitoring.models import Alert, AlertDelivery, AlertRule
from monitoring.tasks import deliver_later
from monitoring.webhook_targets import label
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run
from tests.monitoring.fakes import Receiver

SECRET = "whsec_format_test_0123456789"
SITE = "https://sources.example.com"
Format = AlertRule.WebhookFormat


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
            alert=alert, event="opened", channel="webhook", target=label(self.receiver.url)
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
