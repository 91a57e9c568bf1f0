"""Provisioning with the dataflow options: the dataset's Profile tags and the flow's options sent
to AEP, and the creator subscribed to run failures."""

from __future__ import annotations

from unittest.mock import patch

from django.test import override_settings

from monitoring.models import AlertRule, Dataflow, Subscription
from onboarding import tasks
from onboarding.models import Draft
from onboarding.provisioning import create_steps
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import PROFILE_TAGS, mark_identity, ready_draft
from tests.onboarding.fakes import FakeAEP


@override_settings(ONBOARDING_STEP_RETRIES=0)
class ProvisionOptionsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox(), paths=("charges", "customers"))
        self.fake = FakeAEP()
        patcher = patch("onboarding.tasks.client_for", return_value=self.fake)
        patcher.start()
        self.addCleanup(patcher.stop)

    def provision(self) -> None:
        create_steps(self.draft)
        self.draft.status = Draft.Status.PROVISIONING
        self.draft.attempt += 1
        self.draft.save()
        tasks.provision(str(self.draft.pk), self.draft.attempt)
        self.draft.refresh_from_db()
        assert self.draft.status == Draft.Status.DONE

    def test_provisioning_sends_tags_and_options(self):
        mark_identity(self.draft, "charges")
        self.draft.profile_datasets = ["charges"]
        self.draft.error_diagnostics = True
        self.draft.partial_ingestion, self.draft.partial_ingestion_percent = True, 2.5
        self.draft.save()
        self.provision()
        datasets = {d["name"]: d for d in self.fake.objects["dataset"].values()}
        assert datasets["Stripe charges data"]["tags"] == PROFILE_TAGS
        assert "tags" not in datasets["Stripe customers data"]
        options = [f.get("options") for f in self.fake.objects["flow"].values()]
        assert options == [{"errorDiagnosticsEnabled": True, "partialIngestionPercent": 2.5}] * 2

    def test_success_subscribes_the_creator_to_run_failures(self):
        self.draft.alert_on_failure = True
        self.draft.save()
        self.provision()
        flows = set(Dataflow.objects.all())
        assert len(flows) == 2
        subscribed = {s.dataflow for s in Subscription.objects.filter(user=self.mina)}
        assert subscribed == flows
        rules = AlertRule.objects.filter(kind=AlertRule.Kind.RUN_FAILED)
        assert {r.dataflow for r in rules} == flows
        assert all(r.notify_subscribers and r.enabled for r in rules)

    def test_an_existing_global_failure_rule_is_reused(self):
        AlertRule.objects.create(kind=AlertRule.Kind.RUN_FAILED, notify_subscribers=True)
        self.draft.alert_on_failure = True
        self.draft.save()
        self.provision()
        assert Subscription.objects.filter(user=self.mina).count() == 2
        assert AlertRule.objects.count() == 1

    def test_without_the_alert_option_nobody_is_subscribed(self):
        self.provision()
        assert not Subscription.objects.exists()
        assert not AlertRule.objects.exists()
