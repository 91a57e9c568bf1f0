"""New alert rules: global ones with a webhook secret never shown back, thresholds, webhooks
refused for internal addresses, and the three webhook formats with their suggestions."""

from __future__ import annotations

from monitoring.forms import suggested_format
from monitoring.models import AlertRule, AuditEvent
from tests.monitoring.fakes import PUBLIC_ADDRESS
from tests.monitoring.pages import SLACK_URL, AlertPageTestCase

SECRET = "whsec_page_test_0123456789"
TEAMS_URL = "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"


class RuleCreateTestCase(AlertPageTestCase):
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
            "metadata.example.org points inside the network. Webhooks can only "
            "go to addresses on the public internet."
        ) in r.content.decode()
        r = self.client.post(
            "/alerts/rules/new/", {**fields, "webhook_url": "http://127.0.0.1:6379/"}
        )
        assert r.status_code == 200 and not AlertRule.objects.exists()
        assert "Use an address starting with https://." in r.content.decode()


class WebhookFormatFormTestCase(AlertPageTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dns["hooks.slack.com"] = [PUBLIC_ADDRESS]
        self.dns["prod-01.westus.logic.azure.com"] = [PUBLIC_ADDRESS]
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
