"""Each person's language and time zone, applied to every page they open.

Where a choice comes from, first match wins:
- language: the person's saved preference, then the language cookie (the header's picker), then
  the browser's Accept-Language (Django's LocaleMiddleware handles the last two);
- time zone: the person's saved preference, then the browser's own zone (a static script copies
  `Intl.DateTimeFormat().resolvedOptions().timeZone` into the `tz` cookie), then TIME_ZONE.

Pages render datetimes in the active zone (Django converts aware datetimes when it renders
them), so a run at 00:30 UTC reads 09:30 in Seoul. What leaves the product for machines (the
audit CSV, AEP requests, emails' ISO stamps) stays in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from core.models import Preference

TIME_ZONE_COOKIE = "tz"
# IANA names are at most ~32 characters; a longer cookie is not a zone, whatever it says.
MAX_ZONE_LENGTH = 64


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - {"localtime", "Factory"})


def valid_time_zone(name: str | None) -> str | None:
    """`name` when it is an IANA zone this machine knows; None for anything else."""
    if name and len(name) <= MAX_ZONE_LENGTH and name in time_zone_names():
        return name
    return None


def preference_of(user) -> Preference | None:
    """The saved preference, or None for anonymous users and those who never saved one."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.preference
    except Preference.DoesNotExist:
        return None


def browser_time_zone(request: HttpRequest) -> str | None:
    return valid_time_zone(request.COOKIES.get(TIME_ZONE_COOKIE))


def time_zone_for(request: HttpRequest) -> str:
    preference = preference_of(request.user)
    chosen = valid_time_zone(preference.time_zone) if preference else None
    return chosen or browser_time_zone(request) or settings.TIME_ZONE


def save_language(user, language: str) -> None:
    """Remember the picker's choice on the person, so it follows them to any browser."""
    if getattr(user, "is_authenticated", False) and language in dict(settings.LANGUAGES):
        Preference.objects.update_or_create(user=user, defaults={"language": language})


class PreferenceMiddleware:
    """Activate the signed-in person's language and time zone for the request.

    After AuthenticationMiddleware (it needs request.user) and after LocaleMiddleware, whose
    cookie/browser choice it overrides only when the person saved a language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        preference = preference_of(request.user)
        if preference and preference.language:
            translation.activate(preference.language)
            request.LANGUAGE_CODE = preference.language
        zone = time_zone_for(request)
        request.time_zone = zone  # type: ignore[attr-defined]
        timezone.activate(ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
