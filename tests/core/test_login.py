from __future__ import annotations

from tests.base import PASSWORD, BaseTestCase


class LoginTestCase(BaseTestCase):
    def test_home_requires_login(self):
        r = self.client.get("/")
        assert r.status_code == 302
        assert r["Location"].startswith("/login/")

    def test_login_page_renders(self):
        r = self.client.get("/login/")
        assert r.status_code == 200
        self.assertContains(r, 'name="username"')

    def test_login_then_home_shows_the_role(self):
        r = self.client.post("/login/", {"username": "mina", "password": PASSWORD}, follow=True)
        self.assertContains(r, "Marketing Ops")
        self.assertContains(r, "Log out")

    def test_wrong_password_is_refused_with_a_message(self):
        r = self.client.post("/login/", {"username": "mina", "password": "nope"})
        assert r.status_code == 200
        self.assertContains(r, "enter a correct username and password")

    def test_navigation_shows_sandboxes_only_to_admin(self):
        self.login(self.alex)
        self.assertContains(self.client.get("/"), "/sandboxes/")
        self.client.logout()
        self.login(self.sam)
        self.assertNotContains(self.client.get("/"), "/sandboxes/")

    def test_logout_requires_post(self):
        self.login(self.mina)
        assert self.client.get("/logout/").status_code == 405
        r = self.client.post("/logout/")
        assert r.status_code == 302
        assert self.client.get("/").status_code == 302
