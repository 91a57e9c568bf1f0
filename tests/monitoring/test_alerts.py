"""Alert rules: each fires once, resolves, and notifies by email and signed webhook."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest.mock import patch

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from monitoring import alerts
from monitoring.health import refresh_health
from monitoring.models import Alert, AlertDelivery, AlertRule, Dataflow, Subscription
from monitoring.tasks import deliver_later, sync_dataflow
from monitoring.webhook_targets import label
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run, run_doc
from tests.monitoring.fakes import (
    PUBLIC_ADDRESS,
    FakeClient,
    FakeFlowService,
    Receiver,
    fake_dns,
)

SECRET = "whsec_test_0123456789abcdef"
Kind = AlertRule.Kind


class AlertRulesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.flow = make_dataflow(self.sandbox, name="Charges", frequency="hour", interval=1)
        Subscription.objects.create(user=self.mina, dataflow=self.flow)
        self.enqueued: list[int] = []
        patcher = patch(
            "monitoring.tasks.deliver_alert.delay_on_commit", side_effect=self.enqueued.append
        )
        patcher.start()
        self.addCleanup(patcher.stop)

    def rule(self, kind: str, **fields) -> AlertRule:
        return AlertRule.objects.create(kind=kind, **fields)

    def set_runs(self, *statuses: str, output: int = 10, failed: int = 0) -> None:
        self.flow.runs.all().delete()
        for index, status in enumerate(statuses):
            make_run(
                self.flow,
                ago=timedelta(minutes=10 * (len(statuses) - index)),
                status=status,
                input_records=output + failed,
                output_records=0 if status == "failed" else output,
                failed_records=failed,
            )
        refresh_health(self.flow)

    def evaluate(self):
        self.flow.refresh_from_db()
        return alerts.evaluate(self.flow, deliver_later)

    def assert_fires_once_then_resolves(self, rule: AlertRule, bad, good) -> None:
        bad()
        opened, _ = self.evaluate()
        assert [a.rule for a in opened] == [rule]
        bad()
        assert self.evaluate() == ([], [])  # still open: no second alert
        assert Alert.objects.filter(rule=rule).count() == 1
        good()
        _, resolved = self.evaluate()
        assert [a.rule for a in resolved] == [rule] and resolved[0].resolved_at
        assert self.evaluate() == ([], [])

    def test_run_failed(self):
        rule = self.rule(Kind.RUN_FAILED)
        self.assert_fires_once_then_resolves(
            rule,
            lambda: self.set_runs("success", "failed"),
            lambda: self.set_runs("failed", "success"),
        )

    def test_consecutive_failures(self):
        rule = self.rule(Kind.CONSECUTIVE_FAILURES, threshold=3)
        self.set_runs("success", "failed", "failed")
        assert self.evaluate() == ([], [])
        self.assert_fires_once_then_resolves(
            rule,
            lambda: self.set_runs("success", "failed", "failed", "failed"),
            lambda: self.set_runs("failed", "failed", "failed", "success"),
        )

    def test_late_or_stale(self):
        rule = self.rule(Kind.LATE)

        def late():
            self.set_runs("success")
            Dataflow.objects.filter(pk=self.flow.pk).update(
                health=Dataflow.Health.LATE, late_reason="stale"
            )

        self.assert_fires_once_then_resolves(rule, late, lambda: self.set_runs("success"))
        assert "freshness SLA" in Alert.objects.get(rule=rule).summary

    def test_zero_records(self):
        rule = self.rule(Kind.ZERO_RECORDS)
        self.assert_fires_once_then_resolves(
            rule,
            lambda: self.set_runs("success", "success", output=0),
            lambda: self.set_runs("success"),
        )

    def test_failed_record_ratio_above_threshold(self):
        rule = self.rule(Kind.FAILED_RATIO, threshold=0.1, dataflow=self.flow)
        self.set_runs("partialSuccess", output=95, failed=5)
        assert self.evaluate() == ([], [])
        self.assert_fires_once_then_resolves(
            rule,
            lambda: self.set_runs("partialSuccess", output=80, failed=20),
            lambda: self.set_runs("success", output=100),
        )

    def test_rules_of_other_flows_and_disabled_rules_do_not_fire(self):
        other = make_dataflow(self.sandbox)
        self.rule(Kind.RUN_FAILED, dataflow=other)
        self.rule(Kind.RUN_FAILED, enabled=False)
        self.set_runs("failed")
        assert self.evaluate() == ([], [])

    def test_disabling_the_flow_resolves_its_alerts(self):
        self.rule(Kind.RUN_FAILED)
        self.set_runs("failed")
        self.evaluate()
        Dataflow.objects.filter(pk=self.flow.pk).update(enabled=False)
        _, resolved = self.evaluate()
        assert resolved[0].resolution == "The dataflow was disabled."

    def test_opening_and_resolving_notify_subscribers_and_extra_addresses(self):
        rule = self.rule(Kind.RUN_FAILED, emails="ops@example.org")
        with self.captureOnCommitCallbacks(execute=True):
            self.set_runs("failed")
            self.evaluate()
        deliveries = AlertDelivery.objects.filter(alert__rule=rule).order_by("target")
        assert [(d.channel, d.target, d.event) for d in deliveries] == [
            ("email", "mina@example.org", "opened"),
            ("email", "ops@example.org", "opened"),
        ]
        assert self.enqueued == [d.pk for d in AlertDelivery.objects.order_by("pk")]
        for delivery in deliveries:
            assert alerts.deliver(delivery.pk) is None
        assert len(mail.outbox) == 2
        assert mail.outbox[0].subject == "[Stripe Sources] Alert: Charges"
        assert f"/dataflows/{self.flow.pk}/" in mail.outbox[0].body
        self.set_runs("success")
        self.evaluate()
        assert AlertDelivery.objects.filter(event="resolved").count() == 2

    def test_a_sync_that_changes_health_evaluates_the_rules(self):
        self.rule(Kind.RUN_FAILED)
        aep = FakeFlowService(runs=[run_doc(self.flow.flow_id, status="failed")])
        with patch("monitoring.tasks.pooled_client_for", return_value=FakeClient(aep)):
            assert sync_dataflow(self.flow.pk) == "synced"
        assert Alert.objects.filter(dataflow=self.flow, resolved_at=None).count() == 1


# The receiver listens on 127.0.0.1 over plain http, which only this setting allows.
@override_settings(
    MONITORING_WEBHOOK_RETRY_SECONDS=10,
    MONITORING_WEBHOOK_ATTEMPTS=3,
    ALERT_WEBHOOK_ALLOW_PRIVATE=True,
)
class WebhookDeliveryTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        flow = make_dataflow(make_sandbox(), name="Refunds", resource_path="refunds")
        rule = AlertRule.objects.create(
            kind=Kind.RUN_FAILED, webhook_url=self.receiver.url, webhook_secret=SECRET
        )
        rule.refresh_from_db()
        self.alert = Alert.objects.create(rule=rule, dataflow=flow, kind=rule.kind, summary="x")
        self.delivery = AlertDelivery.objects.create(
            alert=self.alert, event="opened", channel="webhook", target=label(self.receiver.url)
        )

    def test_the_signature_verifies_with_the_shared_secret(self):
        assert alerts.deliver(self.delivery.pk) is None
        headers, body = self.receiver.requests[0]
        signature = headers["X-Stripe-Sources-Signature"]
        assert alerts.verify(SECRET, body, signature)
        assert not alerts.verify("another-secret-0000000", body, signature)
        assert not alerts.verify(SECRET, body.replace(b"Refunds", b"Refunda"), signature)
        payload = json.loads(body)
        assert payload["type"] == "alert.opened"
        assert payload["dataflow"]["name"] == "Refunds"
        assert headers["X-Stripe-Sources-Event"] == "alert.opened"
        self.delivery.refresh_from_db()
        assert (self.delivery.status, self.delivery.attempts) == ("sent", 1)

    def test_an_old_signature_is_refused(self):
        alerts.deliver(self.delivery.pk)
        headers, body = self.receiver.requests[0]
        later = timezone.now().timestamp() + alerts.SIGNATURE_TOLERANCE_SECONDS + 5
        assert not alerts.verify(SECRET, body, headers["X-Stripe-Sources-Signature"], now=later)

    def test_failures_are_retried_with_growing_delays_then_given_up(self):
        self.receiver.statuses = [500, 503, 500]
        delays = [alerts.deliver(self.delivery.pk) for _ in range(3)]
        assert delays == [10, 30, None]
        self.delivery.refresh_from_db()
        assert (self.delivery.status, self.delivery.attempts) == ("failed", 3)
        assert self.delivery.last_error == "HTTP 500 (127.0.0.1)"
        assert alerts.deliver(self.delivery.pk) is None  # nothing more is sent
        assert len(self.receiver.requests) == 3

    def test_a_retry_that_succeeds_marks_the_delivery_sent(self):
        self.receiver.statuses = [502]
        assert alerts.deliver(self.delivery.pk) == 10
        assert alerts.deliver(self.delivery.pk) is None
        self.delivery.refresh_from_db()
        assert (self.delivery.status, self.delivery.attempts) == ("sent", 2)

    def test_a_redirect_is_not_followed(self):
        self.receiver.statuses = [302]
        self.receiver.location = f"http://127.0.0.1:{self.receiver.port}/internal"
        assert alerts.deliver(self.delivery.pk) == 10  # a failed attempt, retried later
        assert self.receiver.paths == ["POST /hook"]
        self.delivery.refresh_from_db()
        assert (self.delivery.status, self.delivery.attempts) == ("pending", 1)
        assert self.delivery.last_error == (
            "HTTP 302 from 127.0.0.1: the receiver answered with a redirect, which is not "
            "followed. Enter the address it redirects to."
        )


@override_settings(MONITORING_WEBHOOK_RETRY_SECONDS=10, MONITORING_WEBHOOK_ATTEMPTS=3)
class WebhookTargetAtSendTimeTestCase(BaseTestCase):
    """Without ALERT_WEBHOOK_ALLOW_PRIVATE: the rule was saved while its host was public."""

    def setUp(self) -> None:
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        # The receiver's port on a name of its own; https, as production rules must be. Were
        # the delivery to go ahead it would connect here, and the receiver would count it.
        self.url = f"https://hooks.example.com:{self.receiver.port}/hook"
        self.dns = {"hooks.example.com": [PUBLIC_ADDRESS]}
        dns = fake_dns(self.dns)
        self.getaddrinfo = dns.start()
        self.addCleanup(dns.stop)
        flow = make_dataflow(make_sandbox(), name="Refunds", resource_path="refunds")
        rule = AlertRule.objects.create(
            kind=Kind.RUN_FAILED, webhook_url=self.url, webhook_secret=SECRET
        )
        alert = Alert.objects.create(rule=rule, dataflow=flow, kind=rule.kind, summary="x")
        self.delivery = AlertDelivery.objects.create(
            alert=alert, event="opened", channel="webhook", target=label(self.url)
        )

    def test_a_host_that_now_points_inside_is_not_posted_to(self):
        self.dns["hooks.example.com"] = ["127.0.0.1"]
        with self.assertLogs("monitoring.alerts", "WARNING") as logs:
            assert alerts.deliver(self.delivery.pk) is None  # refused for good: no retry
        assert self.receiver.connections == 0 and self.receiver.requests == []
        self.delivery.refresh_from_db()
        assert (self.delivery.status, self.delivery.attempts) == ("failed", 1)
        assert self.delivery.last_error == (
            "hooks.example.com points inside the network. Webhooks can only go to "
            "addresses on the public internet."
        )
        assert SECRET not in self.delivery.last_error and SECRET not in "".join(logs.output)

    def test_a_host_that_turns_private_between_check_and_connection_is_not_reached(self):
        # DNS rebinding: public for the check, 127.0.0.1 for whoever asks next.
        def rebinding(host, port, *args, **kwargs):
            if host == "hooks.example.com" and self.getaddrinfo.call_count > 1:
                self.dns[host] = ["127.0.0.1"]
            return original(host, port, *args, **kwargs)

        original = self.getaddrinfo.side_effect
        self.getaddrinfo.side_effect = rebinding
        assert alerts.deliver(self.delivery.pk) is None
        assert self.receiver.connections == 0
        self.delivery.refresh_from_db()
        assert self.delivery.status == "failed"
        assert "points inside the network." in self.delivery.last_error
        assert "127.0.0.1" not in self.delivery.last_error

    def test_a_host_that_stopped_resolving_is_retried(self):
        self.dns["hooks.example.com"] = []
        assert alerts.deliver(self.delivery.pk) == 10
        self.delivery.refresh_from_db()
        assert (self.delivery.status, self.delivery.attempts) == ("pending", 1)
        assert self.delivery.last_error == (
            "hooks.example.com could not be found. Check the host name."
        )
        assert self.receiver.connections == 0

    def test_a_plain_http_rule_is_refused(self):
        http_url = f"http://127.0.0.1:{self.receiver.port}/hook"
        AlertRule.objects.filter(pk=self.delivery.alert.rule_id).update(webhook_url=http_url)
        AlertDelivery.objects.filter(pk=self.delivery.pk).update(target=label(http_url))
        assert alerts.deliver(self.delivery.pk) is None
        assert self.receiver.connections == 0
        self.delivery.refresh_from_db()
        assert self.delivery.status == "failed"
        assert self.delivery.last_error == "Use an address starting with https://."
