"""The Drafts list, sharing, resuming; CSRF and oversized posts on wizard steps."""

from __future__ import annotations

import re
from unittest.mock import patch

from django.test import Client

from onboarding.models import STEP_NAMES
from tests.base import BaseTestCase, make_sandbox, make_user
from tests.onboarding.factories import connected_draft, explored_draft


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


TEN_MB = 10 * 1024 * 1024


class WizardPostsTestCase(BaseTestCase):
    """Wizard steps rely on the site's CSRF middleware and its 413 page, like every other form."""

    def setUp(self) -> None:
        super().setUp()
        self.client = Client(enforce_csrf_checks=True)
        self.login(self.mina)
        self.draft = connected_draft(self.mina, make_sandbox())
        self.url = f"/wizard/{self.draft.pk}/resources/"

    def page_token(self) -> str:
        page = self.client.get(self.url).content.decode()
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    def post(self, data: dict, client: Client | None = None):
        with (
            patch("onboarding.tasks.explore_resources.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            return (client or self.client).post(self.url, data), delay

    def assert_nothing_saved(self) -> None:
        self.draft.refresh_from_db()
        assert self.draft.resource_paths == []
        assert self.draft.flow_names == {}

    def test_a_post_with_the_pages_token_is_accepted(self):
        token = self.page_token()
        data = {"csrfmiddlewaretoken": token, "resource_paths": ["charges"], "name_charges": "C"}
        r, delay = self.post(data)
        assert r["Location"] == f"/wizard/{self.draft.pk}/explore/"
        delay.assert_called_once()

    def test_a_post_without_the_token_is_refused(self):
        self.page_token()  # the CSRF cookie alone is not enough
        r, delay = self.post({"resource_paths": ["charges"], "name_charges": "Charges"})
        assert r.status_code == 403
        delay.assert_not_called()
        self.assert_nothing_saved()

    def test_an_oversized_post_gets_the_readable_413_page(self):
        # The CSRF check reads the body first; core's 400 handler turns that into the 413 page.
        token = self.page_token()
        big = {"csrfmiddlewaretoken": token, "resource_paths": ["charges"], "name_charges": "x"}
        r, delay = self.post({**big, "name_charges": "x" * TEN_MB})
        assert r.status_code == 413
        self.assertContains(r, "That was too much data to send at once", status_code=413)
        self.assertContains(r, "at most 2 MB", status_code=413)
        self.assertContains(r, 'class="topbar"', status_code=413)
        delay.assert_not_called()
        self.assert_nothing_saved()

    def test_an_oversized_post_read_by_the_view_is_a_413_too(self):
        client = Client()  # no CSRF enforcement: the step's form is the first to read the body
        client.force_login(self.mina)
        r, _ = self.post({"resource_paths": ["charges"], "name_charges": "x" * TEN_MB}, client)
        assert r.status_code == 413
        self.assertContains(r, "That was too much data to send at once", status_code=413)
        self.assert_nothing_saved()

    def test_too_many_fields_is_refused(self):
        # The mapping editor stays under Django's 1000-field limit (mapping.MAX_ROWS), so only a
        # hand-made post gets here; it gets the "too much data" page and changes nothing.
        data = {"csrfmiddlewaretoken": self.page_token(), **{f"f{i}": "1" for i in range(1200)}}
        r, delay = self.post(data)
        assert r.status_code == 413
        delay.assert_not_called()
        self.assert_nothing_saved()


class StaleCopyTestCase(BaseTestCase):
    """A page saves what a person entered from the copy it read at the start of the request;
    what a worker or another tab wrote meanwhile (status, attempt, the new connection) stays."""

    def test_saving_a_step_never_writes_back_the_workers_columns(self):
        from onboarding.models import Draft
        from onboarding.views.helpers import save_step

        draft = connected_draft(self.mina, make_sandbox(), connection_id="", reached=-1)
        copy = Draft.objects.get(pk=draft.pk)
        Draft.objects.filter(pk=draft.pk).update(
            connection_id="conn-9", status=Draft.Status.PROVISIONING, attempt=1
        )
        copy.account_description = "typed meanwhile"
        save_step(copy, "account")
        draft.refresh_from_db()
        assert (draft.connection_id, draft.status, draft.attempt) == ("conn-9", "provisioning", 1)
        assert draft.account_description == "typed meanwhile"
