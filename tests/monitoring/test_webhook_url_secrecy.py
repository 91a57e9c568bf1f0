"""A webhook URL is a credential (#12): encrypted on its rule, and everywhere else only its
label (scheme, host, short hash); a delivery reads at most 64 KB within one deadline."""

from __future__ import annotations

import logging
import time

from django.db import connection
from django.test import override_settings

from core.logging import mask_secrets
from monitoring import alerts
from monitoring.models import Alert, AlertDelivery, AlertRule, AuditEvent
from monitoring.webhook_targets import MAX_RESPONSE_BYTES, label
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow
from tests.monitoring.fakes import PUBLIC_ADDRESS, EndlessReceiver, fake_dns
from tests.security.canaries import WEBHOOK_URL_TOKEN

SLACK_URL = f"https://hooks.slack.com/services/T0001/B0002/{WEBHOOK_URL_TOKEN}"
SECRET = "whsec_test_0123456789abcdef"


def raw_webhook_url(rule: AlertRule) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_url FROM monitoring_alertrule WHERE id = %s", [rule.pk])
        return cursor.fetchone()[0]


class LabelTestCase(BaseTestCase):
    def test_the_label_keeps_scheme_host_and_a_hash_only(self):
        shown = label(SLACK_URL)
        assert shown.startswith("https://hooks.slack.com/…#")
        assert WEBHOOK_URL_TOKEN[:8] not in shown and "T0001" not in shown
        assert label(SLACK_URL) != label(SLACK_URL + "x")
        assert label("https://hooks.example.com:8443/a?b=c").startswith(
            "https://hooks.example.com:8443/…#"
        )

    def test_the_rule_keeps_its_url_encrypted(self):
        rule = AlertRule.objects.create(kind="run_failed", webhook_url=SLACK_URL)
        assert WEBHOOK_URL_TOKEN not in raw_webhook_url(rule)
        assert AlertRule.objects.get(pk=rule.pk).webhook_url.reveal() == SLACK_URL
        assert rule.webhook_label == label(SLACK_URL)

    def test_log_masking_hides_chat_webhook_paths_and_signed_queries(self):
        text = mask_secrets(
            f"POST {SLACK_URL} failed; "
            "https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/0123456789/xyz; "
            "https://prod-01.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/"
            "invoke?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=SIGNATURE0123456789"
        )
        assert WEBHOOK_URL_TOKEN not in text and "T0001" not in text
        assert "IncomingWebhook/0123456789" not in text
        assert "SIGNATURE0123456789" not in text
        assert "hooks.slack.com" in text and "logic.azure.com" in text


class RulePagesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        dns = fake_dns({"hooks.slack.com": [PUBLIC_ADDRESS]})
        dns.start()
        self.addCleanup(dns.stop)
        self.login(self.alex)

    def create(self) -> AlertRule:
        data = {"kind": "run_failed", "enabled": "on", "webhook_url": SLACK_URL}
        r = self.client.post("/alerts/rules/new/", {**data, "webhook_format": "slack"})
        assert r.status_code == 302, r.content.decode()[-2000:]
        return AlertRule.objects.get()

    def test_audit_list_and_form_show_the_label_never_the_url(self):
        rule = self.create()
        event = AuditEvent.objects.get(action="alert_rule.create")
        assert event.after["webhook_url"] == label(SLACK_URL)
        for path in ("/alerts/rules/", f"/alerts/rules/{rule.pk}/", "/ops/audit/"):
            body = self.client.get(path).content.decode()
            assert WEBHOOK_URL_TOKEN[:-4] not in body, path
        assert label(SLACK_URL) in self.client.get("/alerts/rules/").content.decode()

    def test_an_empty_address_on_edit_keeps_it_and_remove_clears_it(self):
        rule = self.create()
        data = {"kind": "run_failed", "enabled": "on", "webhook_format": "slack"}
        assert self.client.post(f"/alerts/rules/{rule.pk}/", data).status_code == 302
        rule.refresh_from_db()
        assert rule.webhook_url.reveal() == SLACK_URL
        data["remove_webhook"] = "on"
        assert self.client.post(f"/alerts/rules/{rule.pk}/", data).status_code == 302
        rule.refresh_from_db()
        assert not rule.webhook_url
        assert rule.webhook_label == ""


@override_settings(ALERT_WEBHOOK_ALLOW_PRIVATE=True, MONITORING_WEBHOOK_ATTEMPTS=3)
class DeliveryErrorsTestCase(BaseTestCase):
    def deliver_to(self, url: str) -> AlertDelivery:
        flow = make_dataflow(make_sandbox())
        rule = AlertRule.objects.create(kind="run_failed", webhook_url=url, webhook_secret=SECRET)
        alert = Alert.objects.create(rule=rule, dataflow=flow, kind=rule.kind, summary="x")
        return AlertDelivery.objects.create(
            alert=alert, event="opened", channel="webhook", target=rule.webhook_label
        )

    def test_a_connection_error_keeps_only_its_type_and_host(self):
        with socket_nobody_listens() as port:
            url = f"http://127.0.0.1:{port}/hook/{WEBHOOK_URL_TOKEN}"
        delivery = self.deliver_to(url)
        with self.assertLogs("monitoring.alerts", logging.WARNING) as logs:
            assert alerts.deliver(delivery.pk) is not None
        delivery.refresh_from_db()
        assert delivery.last_error == "ConnectionError (127.0.0.1)"
        assert WEBHOOK_URL_TOKEN not in "\n".join(logs.output)
        assert delivery.target == label(url)

    def test_a_delivery_whose_rule_moved_to_another_address_is_not_sent_there(self):
        delivery = self.deliver_to("https://hooks.example.com/old")
        rule = delivery.alert.rule
        rule.webhook_url = "https://hooks.example.com/new"
        rule.save()
        assert alerts.deliver(delivery.pk) is None
        delivery.refresh_from_db()
        assert delivery.status == "failed"
        assert "address changed" in delivery.last_error

    def test_at_most_64_kb_of_an_endless_answer_are_read(self):
        receiver = EndlessReceiver(chunk=64 * 1024, pause=0)
        self.addCleanup(receiver.close)
        delivery = self.deliver_to(receiver.url)
        started = time.monotonic()
        assert alerts.deliver(delivery.pk) is None
        assert time.monotonic() - started < 5
        delivery.refresh_from_db()
        assert delivery.status == "sent"
        assert MAX_RESPONSE_BYTES == 64 * 1024

    @override_settings(MONITORING_WEBHOOK_TIMEOUT_SECONDS=1)
    def test_an_answer_that_trickles_in_fails_at_the_deadline(self):
        receiver = EndlessReceiver(chunk=1, pause=0.05)
        self.addCleanup(receiver.close)
        delivery = self.deliver_to(receiver.url)
        started = time.monotonic()
        assert alerts.deliver(delivery.pk) is not None  # retried later
        assert time.monotonic() - started < 2.5
        delivery.refresh_from_db()
        assert delivery.last_error == "ResponseTooSlow (127.0.0.1)"


class socket_nobody_listens:
    """A local port that was free a moment ago: connecting to it is refused."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
