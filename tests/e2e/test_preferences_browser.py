"""In headless chromium: times follow the browser's own zone without any setting, and a person
can choose language and zone on their preferences page. SCREENSHOT_DIR keeps the pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.models import Preference
from core.roles import ADMIN, ensure_roles
from tests.base import make_sandbox, make_user
from tests.monitoring.factories import make_dataflow, make_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STARTED = datetime(2031, 1, 15, 0, 30, tzinfo=UTC)


@pytest.fixture
def admin_and_run():
    ensure_roles()
    user = make_user("alex", ADMIN)
    return user, make_run(make_dataflow(make_sandbox()), started_at=STARTED)


@pytest.fixture
def seoul_page(browser, live_server, settings):
    """A tab of a browser whose operating system is set to Seoul time."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        base_url=live_server.url,
        timezone_id="Asia/Seoul",
        locale="en-US",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def started_stat(page) -> str:
    return page.locator(".stat", has_text="Started").inner_text()


def test_times_follow_the_browsers_zone_without_any_setting(
    seoul_page, login, admin_and_run, screenshots
):
    user, run = admin_and_run
    login(seoul_page, user)  # the login page already tells the server the browser's zone
    seoul_page.goto(f"/runs/{run.pk}/")
    assert "9:30 a.m." in started_stat(seoul_page)
    assert "Times are in Asia/Seoul" in seoul_page.locator("footer").inner_text()
    screenshots(seoul_page, "preferences-run-in-seoul")


def test_choosing_language_and_zone_on_the_preferences_page(
    page, login, admin_and_run, screenshots
):
    user, run = admin_and_run
    login(page, user)
    page.click("header a.user")
    page.wait_for_url("**/preferences/")
    screenshots(page, "preferences-page")
    page.select_option("#id_language", "ko")
    page.select_option("#id_time_zone", "America/New_York")
    page.click("main button[type=submit]")
    page.wait_for_selector("html[lang=ko]")
    assert "설정을 저장했습니다." in page.locator(".messages").inner_text()
    screenshots(page, "preferences-saved-korean")

    page.goto(f"/runs/{run.pk}/")
    # 00:30 UTC on the 15th is 19:30 on the 14th in New York.
    assert "2031년 1월 14일 7:30 오후" in page.locator("main").inner_text()
    saved = Preference.objects.get(user=user)
    assert (saved.language, saved.time_zone) == ("ko", "America/New_York")
