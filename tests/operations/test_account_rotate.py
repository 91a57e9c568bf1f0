"""Rotating an account's Stripe key: the new key is kept encrypted and never shown again, the
preview names the dataflows that would lose access, and a key nobody confirms is forgotten."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from operations.models import Operation
from operations.tasks import housekeeping
from tests.operations.pages import AccountPageTestCase

NEW_KEY = "sk_live_brand_new_secret_4242"


class AccountRotateTestCase(AccountPageTestCase):
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

    def test_housekeeping_forgets_an_unconfirmed_key_without_another_rotation(self):
        stale = self.rotation_awaiting([])
        fresh = self.rotation_awaiting([])
        Operation.objects.filter(pk=stale.pk).update(updated=timezone.now() - timedelta(hours=2))
        assert "operations-housekeeping" in settings.CELERY_BEAT_SCHEDULE
        assert housekeeping() == 1
        stale.refresh_from_db()
        fresh.refresh_from_db()
        assert not stale.secret
        assert fresh.secret.reveal() == NEW_KEY
