"""Dataflow options on the wizard's pages: Profile, error diagnostics, partial ingestion and
alerts on the schedule step, and inside the payloads on the review step."""

from __future__ import annotations

import json
from unittest.mock import patch

from onboarding import identities
from onboarding.models import STEP_NAMES
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import PROFILE_TAGS, mark_identity, ready_draft


class ScheduleOptionsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox(), paths=("charges", "customers"))
        self.draft.datasets["customers"] = {
            "mode": "existing",
            "dataset_id": "ds-1",
            "name": "Customers",
            "schema_id": "https://ns.adobe.com/acme/schemas/1",
            "schema_title": "Customers",
        }
        self.draft.reached = STEP_NAMES.index("mapping")
        self.draft.save()
        self.url = f"/wizard/{self.draft.pk}/schedule/"
        self.login(self.mina)

    def post(self, **overrides):
        data = {
            "frequency": "hour",
            "interval": "2",
            "start_time": "2030-12-03T10:00",
            "time_zone": "UTC",
            "action": "save",
            **overrides,
        }
        with (
            patch("onboarding.tasks.estimate_backfill.delay_on_commit"),
            self.captureOnCommitCallbacks(execute=True),
        ):
            return self.client.post(self.url, data)

    def test_bad_thresholds_are_explained_next_to_the_field(self):
        cases = {
            "0": "Enter a percent above 0 and at most 100.",
            "101": "Enter a percent above 0 and at most 100.",
            "abc": "Enter a number, e.g. 5 or 2.5.",
            "": "Enter the threshold, e.g. 5, or switch partial ingestion off.",
        }
        for text, message in cases.items():
            r = self.post(partial_ingestion="on", partial_ingestion_percent=text)
            assert r.status_code == 200, text
            field_errors = r.context["form"].errors["partial_ingestion_percent"]
            assert field_errors == [message], (text, field_errors)
            self.assertContains(r, f'<div class="error" role="alert">{message}</div>')
        self.draft.refresh_from_db()
        assert not self.draft.partial_ingestion

    def test_options_are_saved_and_shown_again(self):
        mark_identity(self.draft, "charges")
        r = self.post(
            partial_ingestion="on",
            partial_ingestion_percent="2.5",
            error_diagnostics="on",
            alert_on_failure="on",
            profile_charges="on",
        )
        assert r.status_code == 302
        self.draft.refresh_from_db()
        assert self.draft.partial_ingestion and self.draft.partial_ingestion_percent == 2.5
        assert self.draft.error_diagnostics and self.draft.alert_on_failure
        assert self.draft.profile_datasets == ["charges"]
        r = self.client.get(self.url)
        self.assertContains(r, 'name="partial_ingestion_percent" value="2.5"')
        self.assertContains(r, 'name="profile_charges" id="id_profile_charges" checked')
        # An existing dataset keeps its own Profile setting: no toggle for it.
        self.assertNotContains(r, "profile_customers")

    def test_profile_without_an_identity_row_makes_the_email_field_the_identity(self):
        r = self.post(profile_charges="on")
        assert r.status_code == 302
        self.draft.refresh_from_db()
        ticked = [r["source"] for r in self.draft.mappings["charges"] if r["identity"]]
        assert ticked == ["data.billing_details.email"]
        (identity,) = identities.identities(self.draft, "charges")
        assert (identity.namespace, identity.primary) == ("Email", True)

    def test_profile_without_an_identity_row_or_an_email_field_is_refused(self):
        rows = self.draft.mappings["charges"]
        self.draft.mappings["charges"] = [r for r in rows if "email" not in r["destination"]]
        self.draft.save()
        r = self.post(profile_charges="on")
        assert r.status_code == 200
        errors = r.context["form"].errors["profile_charges"]
        assert "tick Identity on a row of charges" in errors[0]

    def test_threshold_is_dropped_when_partial_ingestion_is_off(self):
        # Whatever the hidden box holds, even text that is no number, does not block the step.
        for text in ("5", "abc"):
            r = self.post(partial_ingestion_percent=text)
            assert r.status_code == 302, text
            self.draft.refresh_from_db()
            assert self.draft.partial_ingestion_percent is None


class ReviewOptionsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = ready_draft(self.mina, make_sandbox(), paths=("charges",))
        self.login(self.mina)

    def payloads(self) -> dict[str, dict]:
        r = self.client.get(f"/wizard/{self.draft.pk}/review/")
        assert r.status_code == 200
        items = r.context["groups"][1]["items"]
        return {item["kind"]: json.loads(item["payload"]) for item in items}

    def test_options_appear_inside_the_flow_and_dataset_payloads(self):
        mark_identity(self.draft, "charges")
        self.draft.profile_datasets = ["charges"]
        self.draft.error_diagnostics = True
        self.draft.partial_ingestion, self.draft.partial_ingestion_percent = True, 10.0
        self.draft.save()
        payloads = self.payloads()
        assert payloads["flow"]["options"] == {
            "errorDiagnosticsEnabled": True,
            "partialIngestionPercent": 10,
        }
        assert payloads["dataset"]["tags"] == PROFILE_TAGS

    def test_without_options_the_payloads_carry_none(self):
        payloads = self.payloads()
        assert "options" not in payloads["flow"]
        assert "tags" not in payloads["dataset"]

    def test_profile_without_identity_blocks_create(self):
        self.draft.profile_datasets = ["charges"]
        self.draft.save()
        r = self.client.get(f"/wizard/{self.draft.pk}/review/")
        self.assertContains(r, "charges is enabled for Profile but no mapping row is an identity.")
