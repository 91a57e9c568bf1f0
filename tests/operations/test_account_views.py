"""Account pages: what they start, what they refuse, and that a new key never shows again."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from django.db import connection
from django.utils import timezone

from monitoring.models import Account
from operations import service
from operations.models import Operation
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow

NEW_KEY = "sk_live_brand_new_secret_4242"


class AccountViewsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.account = make_account(make_sandbox())
        self.flow = make_dataflow(self.account, "prices")
        self.login(self.sam)

    def post(self, url: str, data: dict, task: str = "execute_operation"):
        with (
            patch(f"operations.tasks.{task}.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(url, data)
        return response, delay

    def test_edit_starts_a_job_with_what_the_user_saw(self):
        form = self.client.get(f"/ops/accounts/{self.account.pk}/edit/").context["form"]
        # Meanwhile the mirror learns a newer description; the user did not touch it.
        Account.objects.filter(pk=self.account.pk).update(description="Newer", etag='"e-2"')
        response, delay = self.post(
            f"/ops/accounts/{self.account.pk}/edit/",
            {
                "name": "Acme EU",
                "description": form["description"].value(),
                "seen": form["seen"].value(),
                "reason": "rename",
                "ticket": "SUP-1",
            },
        )
        operation = Operation.objects.get()
        assert response["Location"] == f"/ops/operations/{operation.pk}/"
        assert operation.params["changes"] == {"name": "Acme EU"}
        seen = operation.params["seen"]
        assert (seen["name"], seen["description"], seen["etag"]) == (
            "Acme Stripe",
            "Acme's live account",
            '"etag-conn-1"',
        )
        assert (operation.actor, operation.reason, operation.ticket) == (
            self.sam,
            "rename",
            "SUP-1",
        )
        delay.assert_called_once_with(str(operation.job_id), str(operation.pk))

    def test_a_forged_baseline_is_ignored(self):
        self.post(
            f"/ops/accounts/{self.account.pk}/edit/",
            {"name": "Acme EU", "description": "", "seen": "forged"},
        )
        assert Operation.objects.get().params["seen"]["etag"] == '"etag-conn-1"'

    def test_an_edit_that_changes_nothing_is_refused(self):
        response, delay = self.post(
            f"/ops/accounts/{self.account.pk}/edit/",
            {"name": self.account.name, "description": self.account.description},
        )
        self.assertContains(response, "Nothing changed")
        delay.assert_not_called()

    def test_one_change_at_a_time(self):
        self.post(f"/ops/accounts/{self.account.pk}/edit/", {"name": "One", "description": ""})
        response, delay = self.post(
            f"/ops/accounts/{self.account.pk}/edit/", {"name": "Two", "description": ""}
        )
        assert response.status_code == 200
        assert Operation.objects.count() == 1
        delay.assert_not_called()

    def test_rotate_keeps_the_key_encrypted_and_never_renders_it(self):
        response, delay = self.post(
            f"/ops/accounts/{self.account.pk}/rotate/",
            {"new_key": NEW_KEY, "reason": "Leaked in a screenshot"},
            task="preview_operation",
        )
        operation = Operation.objects.get()
        assert operation.status == Operation.Status.PREVIEWING
        assert operation.secret.reveal() == NEW_KEY
        delay.assert_called_once()
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM operations_operation")
            (stored,) = cursor.fetchone()
        assert NEW_KEY not in stored
        page = self.client.get(response["Location"])
        self.assertNotContains(page, NEW_KEY)
        self.assertNotContains(self.client.get("/ops/audit/"), NEW_KEY)

    def test_rotate_refuses_something_that_is_not_a_stripe_key(self):
        response, delay = self.post(
            f"/ops/accounts/{self.account.pk}/rotate/",
            {"new_key": "pk_live_publishable_1234", "reason": "x"},
            task="preview_operation",
        )
        self.assertContains(response, "not a Stripe secret or restricted key")
        self.assertNotContains(response, "pk_live_publishable_1234")
        delay.assert_not_called()

    def rotation_awaiting(self, losing: list) -> Operation:
        return Operation.objects.create(
            kind=Operation.Kind.ACCOUNT_ROTATE_KEY,
            status=Operation.Status.AWAITING_CONFIRMATION,
            sandbox=self.account.sandbox,
            account=self.account,
            actor=self.sam,
            reason="leak",
            secret=NEW_KEY,
            preview={
                "check": {
                    "key_ending": "4242",
                    "key_kind": "restricted",
                    "livemode": True,
                    "resources": {
                        "charges": {"status": "readable", "message": ""},
                        "prices": {"status": "forbidden", "message": ""},
                    },
                },
                "losing": losing,
                "usable": True,
                "livemode_changes": True,
            },
        )

    def test_the_rotation_preview_lists_the_dataflows_that_would_lose_access(self):
        operation = self.rotation_awaiting(
            [{"pk": self.flow.pk, "name": self.flow.name, "resource_path": "prices"}]
        )
        page = self.client.get(f"/ops/operations/{operation.pk}/")
        self.assertContains(page, "1 dataflow would lose access")
        self.assertContains(page, self.flow.name)
        self.assertContains(page, "…4242")
        self.assertNotContains(page, NEW_KEY)
        response, delay = self.post(f"/ops/operations/{operation.pk}/confirm/", {})
        assert response.status_code == 422  # the loss must be acknowledged
        delay.assert_not_called()
        response, delay = self.post(
            f"/ops/operations/{operation.pk}/confirm/", {"accept_losses": "on"}
        )
        operation.refresh_from_db()
        assert operation.status == Operation.Status.QUEUED
        assert [s["action"] for s in operation.steps] == ["patch_connection"]
        delay.assert_called_once()

    def test_cancelling_a_rotation_forgets_the_key(self):
        operation = self.rotation_awaiting([])
        self.client.post(f"/ops/operations/{operation.pk}/cancel/")
        operation.refresh_from_db()
        assert operation.status == Operation.Status.CANCELLED
        assert not operation.secret

    def awaiting_delete(self) -> Operation:
        return Operation.objects.create(
            kind=Operation.Kind.ACCOUNT_DELETE,
            status=Operation.Status.AWAITING_CONFIRMATION,
            sandbox=self.account.sandbox,
            account=self.account,
            actor=self.sam,
            target_label=self.account.name,
            preview={
                "connection": {"id": self.account.connection_id, "name": "Acme Stripe"},
                "flow_ids": [self.flow.flow_id],
                "flows": [{"id": self.flow.flow_id, "name": self.flow.name, "state": "enabled"}],
                "source_connections": [{"id": "src-1", "name": "s", "shared": False}],
                "target_connections": [{"id": "tgt-1", "name": "t", "shared": True}],
                "mapping_sets": [{"id": "map-1", "shared": False}],
                "datasets": [{"id": "ds-1", "name": "Charges", "shared": False}],
                "schemas": [],
            },
        )

    def test_delete_starts_with_an_impact_preview(self):
        _response, delay = self.post(
            f"/ops/accounts/{self.account.pk}/delete/", {}, task="preview_operation"
        )
        operation = Operation.objects.get()
        assert operation.kind == Operation.Kind.ACCOUNT_DELETE
        assert operation.status == Operation.Status.PREVIEWING
        delay.assert_called_once_with(str(operation.job_id), str(operation.pk))

    def test_delete_needs_the_typed_name_and_a_reason(self):
        operation = self.awaiting_delete()
        page = self.client.get(f"/ops/operations/{operation.pk}/")
        self.assertContains(page, "kept: used by another dataflow")
        response, delay = self.post(
            f"/ops/operations/{operation.pk}/confirm/", {"confirm_name": "acme stripe"}
        )
        assert response.status_code == 422
        self.assertContains(response, "Type the name exactly as shown", status_code=422)
        self.assertContains(response, "This field is required", status_code=422)
        delay.assert_not_called()

        response, delay = self.post(
            f"/ops/operations/{operation.pk}/confirm/",
            {"confirm_name": "Acme Stripe", "reason": "Customer left", "ticket": "SUP-9"},
        )
        operation.refresh_from_db()
        assert (operation.reason, operation.ticket) == ("Customer left", "SUP-9")
        actions = [(s["action"], s["id"]) for s in operation.steps]
        assert actions == [
            ("verify_account_flows", self.account.connection_id),
            ("delete_flow", self.flow.flow_id),
            ("delete_source_connection", "src-1"),
            ("delete_mapping_set", "map-1"),  # the shared target connection is kept
            ("delete_connection", self.account.connection_id),
        ]
        delay.assert_called_once()

    def test_the_operation_status_stops_polling_once_settled(self):
        operation = self.awaiting_delete()
        response = self.client.get(
            f"/ops/operations/{operation.pk}/status/", headers={"HX-Request": "true"}
        )
        assert response.status_code == 286
        self.assertNotContains(response, "<html", status_code=286)
        operation.status = Operation.Status.RUNNING
        operation.save()
        response = self.client.get(
            f"/ops/operations/{operation.pk}/status/", headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        self.assertContains(response, 'hx-trigger="every 1s"')

    def test_a_key_nobody_confirmed_within_an_hour_is_forgotten(self):
        stale = self.rotation_awaiting([])
        Operation.objects.filter(pk=stale.pk).update(updated=timezone.now() - timedelta(hours=2))
        self.post(
            f"/ops/accounts/{self.account.pk}/rotate/",
            {"new_key": "sk_test_another_key_5555", "reason": "again"},
            task="preview_operation",
        )
        stale.refresh_from_db()
        assert not stale.secret

    def test_an_operation_stuck_for_long_no_longer_blocks_new_ones(self):
        stuck = service.create(Operation.Kind.ACCOUNT_UPDATE, actor=self.sam, account=self.account)
        Operation.objects.filter(pk=stuck.pk).update(updated=timezone.now() - timedelta(hours=1))
        self.post(f"/ops/accounts/{self.account.pk}/edit/", {"name": "New", "description": ""})
        assert Operation.objects.count() == 2
