"""Deleting an alert rule keeps its alerts and their deliveries as history; a rule for every
flow may be deleted only by an Admin or the person who made it (#12)."""

from __future__ import annotations

from django.contrib.auth.models import Permission

from monitoring import alerts
from monitoring.models import Alert, AlertDelivery, AlertRule, AuditEvent
from tests.base import make_user
from tests.monitoring.pages import AlertPageTestCase


def with_manage_alerts(username: str):
    """Someone given the capability directly, without the Admin role."""
    user = make_user(username)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["manage_alerts", "view_monitoring"])
    )
    return user


class RuleDeleteTestCase(AlertPageTestCase):
    def test_deleting_a_rule_keeps_its_alerts_and_deliveries(self):
        rule = AlertRule.objects.create(
            kind="run_failed", dataflow=self.own, webhook_url="https://hooks.example.org/t/1"
        )
        alert = Alert.objects.create(rule=rule, dataflow=self.own, kind=rule.kind, summary="x")
        AlertDelivery.objects.create(
            alert=alert, event="opened", channel="email", target="ops@example.org", status="sent"
        )
        self.login(self.mina)
        r = self.client.post(f"/alerts/rules/{rule.pk}/delete/")
        assert r.status_code == 302
        assert Alert.objects.filter(pk=alert.pk).exists()
        assert AlertDelivery.objects.filter(alert=alert).count() == 1
        kept = AlertRule.all_objects.get(pk=rule.pk)
        assert kept.deleted_at is not None
        assert not kept.webhook_url  # its credential is not kept
        assert not AlertRule.objects.filter(pk=rule.pk).exists()
        assert AuditEvent.objects.filter(action="alert_rule.delete").count() == 1
        # Gone from the rules, not from the history.
        assert "Mina&#x27;s charges" not in self.client.get("/alerts/rules/").content.decode()
        body = self.client.get("/alerts/").content.decode()
        assert "x" in body and r.status_code == 302
        assert self.client.get(f"/alerts/rules/{rule.pk}/").status_code == 404

    def test_a_deleted_rule_opens_no_alert_and_its_open_one_is_resolved(self):
        rule = AlertRule.objects.create(kind="run_failed", dataflow=self.own)
        alert = Alert.objects.create(rule=rule, dataflow=self.own, kind=rule.kind, summary="x")
        self.login(self.alex)
        self.client.post(f"/alerts/rules/{rule.pk}/delete/")
        self.own.consecutive_failures = 1
        self.own.save()
        opened, resolved = alerts.evaluate(self.own, lambda pk: None)
        assert opened == [] and [a.pk for a in resolved] == [alert.pk]

    def test_a_global_rule_is_deleted_only_by_an_admin_or_its_maker(self):
        maker = with_manage_alerts("maker")
        other = with_manage_alerts("other")
        rule = AlertRule.objects.create(kind="run_failed", created_by=maker)
        self.client.force_login(other)
        assert self.client.post(f"/alerts/rules/{rule.pk}/delete/").status_code == 403
        assert (
            "Delete this rule" not in self.client.get(f"/alerts/rules/{rule.pk}/").content.decode()
        )
        self.client.force_login(self.mina)
        assert self.client.post(f"/alerts/rules/{rule.pk}/delete/").status_code == 403
        self.client.force_login(maker)
        assert "Delete this rule" in self.client.get(f"/alerts/rules/{rule.pk}/").content.decode()
        assert self.client.post(f"/alerts/rules/{rule.pk}/delete/").status_code == 302
        second = AlertRule.objects.create(kind="late", created_by=maker)
        self.login(self.alex)
        assert self.client.post(f"/alerts/rules/{second.pk}/delete/").status_code == 302
        assert AlertRule.objects.count() == 0
