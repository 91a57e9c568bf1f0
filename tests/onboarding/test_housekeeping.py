"""Abandoned drafts do not keep their Stripe keys (#12): housekeeping forgets a key once its
draft sat untouched for DRAFT_KEY_KEPT_FOR, and the wizard asks for it again."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from onboarding.housekeeping import DRAFT_KEY_KEPT_FOR
from onboarding.models import Draft
from onboarding.tasks import housekeeping
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import ready_draft

KEY = "sk_test_abandonedDraftKey51Xy0000"


class DraftKeyHousekeepingTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()

    def draft(self, days_idle: float, status: str = Draft.Status.EDITING) -> Draft:
        draft = ready_draft(self.mina, self.sandbox)
        Draft.objects.filter(pk=draft.pk).update(
            access_token=KEY,
            token_last4=KEY[-4:],
            status=status,
            updated=timezone.now() - timedelta(days=days_idle),
        )
        return Draft.objects.get(pk=draft.pk)

    def test_an_abandoned_drafts_key_is_forgotten_and_the_wizard_asks_again(self):
        assert timedelta(days=7) == DRAFT_KEY_KEPT_FOR
        assert "onboarding-housekeeping" in settings.CELERY_BEAT_SCHEDULE
        abandoned = self.draft(days_idle=8)
        failed = self.draft(days_idle=8, status=Draft.Status.FAILED)
        recent = self.draft(days_idle=1)
        provisioning = self.draft(days_idle=8, status=Draft.Status.PROVISIONING)
        assert housekeeping() == 2
        for draft in (abandoned, failed):
            draft.refresh_from_db()
            assert not draft.access_token and draft.token_last4 == ""
            assert draft.reached == -1
        for draft in (recent, provisioning):
            draft.refresh_from_db()
            assert draft.access_token.reveal() == KEY
        self.login(self.mina)
        r = self.client.get(f"/wizard/{abandoned.pk}/account/")
        assert r.status_code == 200
        self.assertNotContains(r, KEY[-4:])  # no "ends in …" for a key that is gone
