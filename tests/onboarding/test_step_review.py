"""Step 7: every object with its payload, problems that block Create, and Create itself."""

from __future__ import annotations

from unittest.mock import patch

from monitoring.models import Dataflow
from onboarding.models import Draft, ProvisioningStep
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import ready_draft


class StepReviewTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.draft = ready_draft(self.mina, self.sandbox)
        self.url = f"/wizard/{self.draft.pk}/review/"
        self.login(self.mina)

    def test_it_lists_every_object_per_resource_with_payloads_and_no_secret(self):
        r = self.client.get(self.url)
        body = r.content.decode()
        for label in ("Source connection", "Field group", "XDM schema", "Dataset",
                      "Target connection", "Mapping set", "Dataflow", "XDM class"):  # fmt: skip
            assert label in body, label
        assert "&quot;resourcePath&quot;: &quot;customers&quot;" in body
        assert "_acme.charges_data.amount" in body
        assert "sk_test" not in body
        assert "Every 2 hours from 3 Dec 2030 09:00 UTC" in body
        assert "Create 2 dataflows" in body

    def test_create_builds_the_steps_and_enqueues_provisioning(self):
        with (
            patch("onboarding.tasks.provision.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            r = self.client.post(self.url)
        self.draft.refresh_from_db()
        assert r["Location"] == f"/wizard/{self.draft.pk}/provisioning/"
        assert self.draft.status == Draft.Status.PROVISIONING
        delay.assert_called_once_with(str(self.draft.pk), 1)
        kinds = list(self.draft.steps.values_list("resource_path", "kind"))
        assert kinds[0] == ("", "schema_class")
        assert kinds[1:8] == [
            ("charges", k)
            for k in ("source_connection", "field_group", "schema", "dataset",
                      "target_connection", "mapping_set", "flow")
        ]  # fmt: skip
        assert len(kinds) == 15
        # Steps of an editing draft are now locked.
        assert self.client.get(f"/wizard/{self.draft.pk}/schedule/")["Location"].endswith(
            "/provisioning/"
        )

    def test_problems_block_create_and_link_to_their_step(self):
        Dataflow.objects.create(sandbox=self.sandbox, flow_id="f", name="Stripe charges")
        self.draft.mappings["customers"].append({"source": "data.x", "destination": "y"})
        self.draft.save()
        with patch("onboarding.tasks.provision.delay_on_commit") as delay:
            r = self.client.post(self.url)
        body = r.content.decode()
        assert "A dataflow called “Stripe charges” exists." in body
        assert f'href="/wizard/{self.draft.pk}/mapping/"' in body
        assert "“data.x” is not a field" in body
        delay.assert_not_called()
        assert not ProvisioningStep.objects.exists()
