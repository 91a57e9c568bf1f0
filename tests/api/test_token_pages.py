"""The API tokens page: create (shown once), list and revoke one's own; Admins see everyone's."""

from __future__ import annotations

from api.models import ApiToken
from tests.api.cases import ApiTestCase


class TokenPagesTestCase(ApiTestCase):
    def test_a_new_token_is_shown_once_and_works(self):
        self.login(self.mina)
        response = self.client.post("/preferences/tokens/", {"name": "sheet", "expires": "30"})
        assert response.status_code == 200
        raw = response.context["new_token"]
        assert raw in response.content.decode()
        assert self.api(self.mina, "get", "dataflows", token=raw).status_code == 200
        again = self.client.get("/preferences/tokens/")
        assert raw not in again.content.decode()
        assert "sheet" in again.content.decode()
        token = ApiToken.objects.get(user=self.mina, name="sheet")
        assert token.expires_at is not None

    def test_a_duplicate_or_empty_name_is_refused(self):
        self.login(self.mina)
        assert (
            self.client.post("/preferences/tokens/", {"name": "ci", "expires": "30"}).status_code
            == 422
        )
        assert (
            self.client.post("/preferences/tokens/", {"name": " ", "expires": "30"}).status_code
            == 422
        )
        assert (
            self.client.post("/preferences/tokens/", {"name": "x", "expires": "7000"}).status_code
            == 422
        )

    def test_a_person_revokes_their_own_token_but_not_someone_else_s(self):
        self.login(self.mina)
        own = ApiToken.objects.get(user=self.mina)
        other = ApiToken.objects.get(user=self.sam)
        assert self.client.post(f"/preferences/tokens/{other.pk}/revoke/").status_code == 404
        assert self.client.post(f"/preferences/tokens/{own.pk}/revoke/").status_code == 302
        own.refresh_from_db()
        other.refresh_from_db()
        assert own.revoked_at is not None and other.revoked_at is None
        assert self.api(self.mina, "get", "dataflows").status_code == 401

    def test_admins_see_and_revoke_everyone_s_tokens(self):
        self.login(self.sam)
        assert self.client.get("/preferences/tokens/all/").status_code == 403
        self.client.logout()
        self.login(self.alex)
        page = self.client.get("/preferences/tokens/all/")
        assert page.status_code == 200
        assert {t.user.username for t in page.context["tokens"]} == {"mina", "alex", "sam", "nora"}
        sam_token = ApiToken.objects.get(user=self.sam)
        response = self.client.post(f"/preferences/tokens/{sam_token.pk}/revoke/")
        assert response.status_code == 302
        sam_token.refresh_from_db()
        assert sam_token.revoked_by == self.alex
        assert self.api(self.sam, "get", "dataflows").status_code == 401

    def test_the_preferences_page_links_to_the_tokens(self):
        self.login(self.nora)
        assert "/preferences/tokens/" in self.client.get("/preferences/").content.decode()
