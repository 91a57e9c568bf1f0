"""Schedule rules of the Stripe flow spec (notes §2.4.6) and their plain-language summary."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from aep.types import Schedule
from core.schedule import schedule_words

FREQUENCIES = ("once", "minute", "hour", "day", "week")
MINUTE_MINIMUM = 15


def interval_error(frequency: str, interval: int | None) -> str:
    """Why `interval` is not allowed for `frequency`, or ""."""
    if frequency == "once":
        return ""
    if interval is None:
        return _("Enter how many %(unit)s lie between runs, e.g. 1.") % {
            "unit": unit_plural(frequency)
        }
    if interval < 1:
        return _("The interval must be a whole number of 1 or more.")
    if frequency == "minute" and interval < MINUTE_MINIMUM:
        return _(
            "AEP runs minute schedules at most every %(minimum)s minutes: "
            "enter %(minimum)s or more."
        ) % {"minimum": MINUTE_MINIMUM}
    return ""


def unit_plural(frequency: str) -> str:
    return {
        "minute": _("minutes"),
        "hour": _("hours"),
        "day": _("days"),
        "week": _("weeks"),
    }.get(frequency, frequency)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_local(text: str, time_zone: str) -> datetime | None:
    """A `datetime-local` value ("2025-12-03T09:00") in `time_zone`, or None if unparsable."""
    cleaned = text.strip().replace(" ", "T")
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            naive = datetime.strptime(cleaned, pattern)  # the zone is added below
        except ValueError:
            continue
        return naive.replace(tzinfo=zone(time_zone))
    return None


def local_input(moment: datetime, time_zone: str) -> str:
    """The value a `datetime-local` input shows for `moment` in `time_zone`."""
    return moment.astimezone(zone(time_zone)).strftime("%Y-%m-%dT%H:%M")


def to_api(frequency: str, interval: int | None, start: datetime, backfill: bool) -> Schedule:
    """The flow's `scheduleParams` (start time goes out as UTC epoch seconds)."""
    if frequency == "once":
        return Schedule(start_time=start.astimezone(UTC), frequency="once")
    return Schedule(
        start_time=start.astimezone(UTC), frequency=frequency, interval=interval, backfill=backfill
    )


def _when(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    # Translators: a date format (Django's date filter), e.g. "3 Dec 2025 09:00".
    shown = date_format(local, _("j M Y H:i"))
    return f"{shown} {local.tzname()}"


def summary(
    frequency: str,
    interval: int | None,
    start: datetime,
    backfill: bool,
    resources: list[str],
    time_zone: str = "UTC",
) -> str:
    """E.g. "Every 2 hours from 3 Dec 2025 09:00 UTC; the first run loads all charges created
    before then."."""
    tz = zone(time_zone)
    what = _(" and ").join(r.replace("_", " ") for r in resources) or _("objects")
    when = _when(start, tz)
    if frequency == "once":
        return _("Once, at %(when)s: loads all %(what)s created before then.") % {
            "when": when,
            "what": what,
        }
    head = _("%(cadence)s from %(when)s") % {
        "cadence": schedule_words(frequency, interval),
        "when": when,
    }
    if backfill:
        tail = _("the first run loads all %(what)s created before then") % {"what": what}
    else:
        tail = _("only %(what)s created after then are loaded; older ones are skipped") % {
            "what": what
        }
    return _("%(head)s; %(tail)s.") % {"head": head, "tail": tail}
