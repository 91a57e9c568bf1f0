"""Each person's language and time zone: saved on the person, applied to every page they open."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

from core.models import Preference
from core.preferences import TIME_ZONE_COOKIE, valid_time_zone
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run

# 00:30 UTC is 09:30 in Seoul and 19:30 the day before in New York (EST in January).
STARTED = datetime(2031, 1, 15, 0, 30, tzinfo=UTC)


class TimeZoneTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.run = make_run(make_dataflow(make_sandbox()), started_at=STARTED)
        self.login(self.alex)

    def run_page(self):
        return self.client.get(f"/runs/{self.run.pk}/")

    def test_without_any_choice_times_are_in_utc(self):
        response = self.run_page()
        self.assertContains(response, "Jan. 15, 2031, 12:30 a.m.")
        self.assertContains(response, "Times are in UTC")

    def test_the_browser_zone_from_the_cookie_is_used(self):
        self.client.cookies[TIME_ZONE_COOKIE] = "Asia/Seoul"
        response = self.run_page()
        self.assertContains(response, "Jan. 15, 2031, 9:30 a.m.")
        self.assertContains(response, "Times are in Asia/Seoul")

    def test_a_saved_zone_wins_over_the_browser(self):
        Preference.objects.create(user=self.alex, time_zone="America/New_York")
        self.client.cookies[TIME_ZONE_COOKIE] = "Asia/Seoul"
        response = self.run_page()
        self.assertContains(response, "Jan. 14, 2031, 7:30 p.m.")

    def test_a_cookie_that_is_no_zone_is_ignored(self):
        for junk in ("Mars/Olympus", "../../etc/passwd", "UTC" * 40, "localtime", "Factory"):
            self.client.cookies[TIME_ZONE_COOKIE] = junk
            response = self.run_page()
            self.assertContains(response, "Jan. 15, 2031, 12:30 a.m.")

    def test_the_zone_is_not_left_active_after_the_request(self):
        from django.utils import timezone

        self.client.cookies[TIME_ZONE_COOKIE] = "Asia/Seoul"
        self.run_page()
        assert timezone.get_current_timezone_name() == settings.TIME_ZONE


class PreferencePageTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.login(self.mina)

    def test_every_role_can_open_it_from_the_header(self):
        for user in (self.mina, self.alex, self.sam, self.nora):
            self.login(user)
            home = self.client.get("/")
            self.assertContains(home, 'href="/preferences/"')
            self.assertContains(self.client.get("/preferences/"), "Your preferences")

    def test_anonymous_people_are_sent_to_login(self):
        self.client.logout()
        response = self.client.get("/preferences/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")

    def test_saving_language_and_zone(self):
        response = self.client.post(
            "/preferences/", {"language": "ko", "time_zone": "Asia/Seoul"}, follow=True
        )
        # The confirmation already speaks the chosen language.
        self.assertContains(response, "설정을 저장했습니다.")
        preference = Preference.objects.get(user=self.mina)
        assert (preference.language, preference.time_zone) == ("ko", "Asia/Seoul")
        assert response.redirect_chain[-1][0] == "/preferences/"

    def test_the_saved_language_follows_the_person_to_another_browser(self):
        Preference.objects.create(user=self.mina, language="ko")
        self.client.logout()
        self.client.cookies.clear()
        self.login(self.mina)
        response = self.client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en")
        self.assertContains(response, '<html lang="ko">')
        self.assertContains(response, "로그아웃")

    def test_blank_means_the_browser_decides(self):
        Preference.objects.create(user=self.mina, language="ko", time_zone="Asia/Seoul")
        self.client.post("/preferences/", {"language": "", "time_zone": ""})
        preference = Preference.objects.get(user=self.mina)
        assert (preference.language, preference.time_zone) == ("", "")
        response = self.client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en")
        self.assertContains(response, '<html lang="en">')

    def test_a_zone_not_on_the_list_is_refused_with_a_message_and_nothing_saved(self):
        response = self.client.post(
            "/preferences/", {"language": "en", "time_zone": "Mars/Olympus"}
        )
        assert response.status_code == 200
        self.assertContains(response, "Pick a time zone from the list, e.g. Asia/Seoul.")
        assert not Preference.objects.filter(user=self.mina).exists()

    def test_an_unknown_language_is_refused_with_a_message(self):
        response = self.client.post("/preferences/", {"language": "fr", "time_zone": ""})
        self.assertContains(response, "Pick English or Korean, or the browser")
        assert not Preference.objects.filter(user=self.mina).exists()

    def test_the_page_shows_the_zone_this_browser_reported(self):
        self.client.cookies[TIME_ZONE_COOKIE] = "Europe/Berlin"
        response = self.client.get("/preferences/")
        self.assertContains(response, "Europe/Berlin")

    def test_the_header_picker_saves_the_language_on_the_person(self):
        self.client.post("/i18n/setlang/", {"language": "ko", "next": "/"})
        assert Preference.objects.get(user=self.mina).language == "ko"

    def test_the_picker_keeps_the_saved_zone(self):
        Preference.objects.create(user=self.mina, time_zone="Asia/Seoul")
        self.client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        preference = Preference.objects.get(user=self.mina)
        assert (preference.language, preference.time_zone) == ("en", "Asia/Seoul")

    def test_the_picker_saves_nothing_for_anonymous_people_or_unknown_languages(self):
        self.client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
        self.client.logout()
        response = self.client.post("/i18n/setlang/", {"language": "ko", "next": "/login/"})
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
        assert not Preference.objects.exists()


def test_valid_time_zone():
    assert valid_time_zone("Asia/Seoul") == "Asia/Seoul"
    assert valid_time_zone("Etc/GMT+5") == "Etc/GMT+5"
    for junk in (None, "", "asia/seoul", "Asia/Seoul\x00", "localtime", "x" * 100):
        assert valid_time_zone(junk) is None


class EmptyPostTestCase(BaseTestCase):
    def test_an_empty_post_is_a_choice_of_the_browser_for_both(self):
        Preference.objects.create(user=self.mina, language="ko", time_zone="Asia/Seoul")
        self.login(self.mina)
        response = self.client.post("/preferences/", {})
        assert response.status_code == 302
        preference = Preference.objects.get(user=self.mina)
        assert (preference.language, preference.time_zone) == ("", "")
