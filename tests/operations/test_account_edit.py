"""Editing an account: the job starts with what the user saw, and one change at a time."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from monitoring.models import Account
from operations import service
from operations.models import Operation
from tests.operations.pages import AccountPageTestCase


class AccountEditTestCase(AccountPageTestCase):
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

    def test_an_operation_stuck_for_long_no_longer_blocks_new_ones(self):
        stuck = service.create(Operation.Kind.ACCOUNT_UPDATE, actor=self.sam, account=self.account)
        Operation.objects.filter(pk=stuck.pk).update(updated=timezone.now() - timedelta(hours=1))
        self.post(f"/ops/accounts/{self.account.pk}/edit/", {"name": "New", "description": ""})
        assert Operation.objects.count() == 2
