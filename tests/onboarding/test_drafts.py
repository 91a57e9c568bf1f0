"""The Drafts list, sharing, resuming, and oversized posts."""

from __future__ import annotations

from onboarding.models import STEP_NAMES
from tests.base import BaseTestCase, make_sandbox, make_user
from tests.onboarding.onboarding_builders import connected_draft, explored_draft


class DraftsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.url = "/wizard/"
        self.kim = make_user("kim", "Marketing Ops")

    def test_it_lists_own_and_shared_drafts_only(self):
        mine = connected_draft(self.mina, self.sandbox, account_name="Mine")
        theirs = connected_draft(self.kim, self.sandbox, account_name="Kims")
        self.login(self.mina)
        r = self.client.get(self.url)
        self.assertContains(r, "Mine")
        self.assertNotContains(r, "Kims")
        theirs.shared_with.add(self.mina)
        r = self.client.get(self.url)
        self.assertContains(r, "Kims")
        self.assertContains(r, f"/wizard/{mine.pk}/")

    def test_resume_opens_the_next_unfinished_step(self):
        draft = explored_draft(self.mina, self.sandbox)
        self.login(self.mina)
        r = self.client.get(f"/wizard/{draft.pk}/")
        assert r["Location"] == f"/wizard/{draft.pk}/dataset/"
        assert draft.reached == STEP_NAMES.index("explore")

    def test_the_creator_shares_with_a_colleague_who_can_then_continue(self):
        draft = connected_draft(self.mina, self.sandbox)
        self.login(self.kim)
        assert self.client.get(f"/wizard/{draft.pk}/account/").status_code == 403
        self.client.logout()
        self.login(self.mina)
        self.client.post(f"/wizard/{draft.pk}/share/", {"user": self.kim.pk})
        self.client.logout()
        self.login(self.kim)
        assert self.client.get(f"/wizard/{draft.pk}/account/").status_code == 200

    def test_support_cannot_be_shared_with(self):
        draft = connected_draft(self.mina, self.sandbox)
        self.login(self.mina)
        self.client.post(f"/wizard/{draft.pk}/share/", {"user": self.sam.pk})
        assert not draft.shared_with.exists()

    def test_an_oversized_post_gets_a_readable_413(self):
        draft = connected_draft(self.mina, self.sandbox)
        self.login(self.mina)
        big = "x" * (10 * 1024 * 1024)
        r = self.client.post(f"/wizard/{draft.pk}/resources/", {"name_charges": big})
        assert r.status_code == 413
        self.assertContains(r, "That was too much data", status_code=413)

    def test_too_many_fields_is_a_413_too(self):
        draft = connected_draft(self.mina, self.sandbox)
        self.login(self.mina)
        data = {f"f{i}": "1" for i in range(1200)}
        r = self.client.post(f"/wizard/{draft.pk}/resources/", data)
        assert r.status_code == 413
