"""Flow ``scheduleParams``: validation against the RestStorageToAEP schedule spec and run windows.

Requests may send numbers or numeric strings (the docs send strings, the spec says integers);
GET returns strings, as the platform does.

Windows are real epoch seconds. With ``--time-scale S`` one interval of I seconds lasts I/S real
seconds. The first window runs at ``anchor = max(startTime, creation time)``:

* backfill (the default) and ``once``: ``[0, anchor)``, everything before the anchor;
* no backfill: ``[startTime, anchor + period)``.

Each following window starts where the previous one ended and lasts one (scaled) period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulators.aep.errors import ApiError

UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}
FREQUENCIES = ("once", *UNIT_SECONDS)
INVALID_SCHEDULE = "1406"
# Epoch seconds stay below this until the year 5138; larger values are milliseconds sent by mistake.
_MAX_EPOCH_SECONDS = 10**11


@dataclass(frozen=True)
class Schedule:
    start_time: int
    frequency: str
    interval: int | None
    backfill: bool | None

    @property
    def backfills(self) -> bool:
        return self.frequency == "once" or self.backfill is not False


def parse_schedule(raw: Any) -> Schedule:
    if not isinstance(raw, dict):
        raise _invalid("scheduleParams must be an object.")
    unknown = set(raw) - {"startTime", "frequency", "interval", "backfill"}
    if unknown:
        raise _invalid(f"scheduleParams has unknown field(s): {', '.join(sorted(unknown))}.")
    if "startTime" not in raw:
        raise _invalid("scheduleParams.startTime is required (epoch seconds).")
    if "frequency" not in raw:
        raise _invalid("scheduleParams.frequency is required.")
    frequency = str(raw["frequency"]).lower()
    if frequency not in FREQUENCIES:
        raise _invalid(
            f"scheduleParams.frequency '{raw['frequency']}' is not one of {', '.join(FREQUENCIES)}."
        )
    start_time = _start_time(raw["startTime"])
    if frequency == "once":
        return _once(raw, start_time)
    return Schedule(start_time, frequency, _interval(raw, frequency), _backfill(raw))


def _once(raw: dict[str, Any], start_time: int) -> Schedule:
    if "interval" in raw:
        raise _invalid("scheduleParams.interval is not allowed when frequency is 'once'.")
    if "backfill" in raw:
        raise _invalid("scheduleParams.backfill is not allowed when frequency is 'once'.")
    return Schedule(start_time, "once", None, None)


def _start_time(value: Any) -> int:
    number = _integer(value)
    if number is None or number < 0:
        raise _invalid(f"scheduleParams.startTime '{value}' must be epoch seconds.")
    if number >= _MAX_EPOCH_SECONDS:
        raise _invalid(
            f"scheduleParams.startTime '{value}' looks like milliseconds; send epoch seconds."
        )
    return number


def _interval(raw: dict[str, Any], frequency: str) -> int:
    if "interval" not in raw:
        raise _invalid(f"scheduleParams.interval is required when frequency is '{frequency}'.")
    interval = _integer(raw["interval"])
    if interval is None:
        raise _invalid(f"scheduleParams.interval '{raw['interval']}' must be an integer.")
    minimum = 15 if frequency == "minute" else 1
    if interval < minimum:
        raise _invalid(
            f"scheduleParams.interval must be at least {minimum} when frequency is "
            f"'{frequency}' (got {interval})."
        )
    return interval


def _backfill(raw: dict[str, Any]) -> bool | None:
    if "backfill" not in raw:
        return None
    value = raw["backfill"]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(f"scheduleParams.backfill '{value}' must be a boolean.")


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _invalid(message: str) -> ApiError:
    return ApiError(400, INVALID_SCHEDULE, message)


def schedule_doc(schedule: Schedule) -> dict[str, str]:
    """The stored/returned form: every value a string."""
    doc = {"startTime": str(schedule.start_time), "frequency": schedule.frequency}
    if schedule.interval is not None:
        doc["interval"] = str(schedule.interval)
    if schedule.backfill is not None:
        doc["backfill"] = "true" if schedule.backfill else "false"
    return doc


def period_seconds(schedule: Schedule, time_scale: float) -> float:
    """Real seconds between two runs; 0 for ``once``."""
    if schedule.frequency == "once" or schedule.interval is None:
        return 0.0
    return schedule.interval * UNIT_SECONDS[schedule.frequency] / time_scale


def first_window(schedule: Schedule, created_at: float, time_scale: float) -> tuple[float, float]:
    anchor = float(max(schedule.start_time, created_at))
    if schedule.backfills:
        return 0.0, anchor
    return float(schedule.start_time), anchor + period_seconds(schedule, time_scale)
