"""Where Adobe's published specs and Adobe's real behaviour disagree, decided once.

Every entry cites docs/aep-api-notes.md ("notes"), section 9 unless stated otherwise. The rest
of the package calls these helpers instead of guessing at field names, units or spellings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

# notes §9 "Action op case": the spec enumerates ENABLE|DISABLE|RE_TRIGGER, every documented
# request (and aepp) sends the lower-case, hyphenated form. We send what the docs send.
FLOW_ACTION_ENABLE = "enable"
FLOW_ACTION_DISABLE = "disable"
RUN_ACTION_RETRIGGER = "re-trigger"

# notes §9 "Trailing slash": the spec declares PATCH/DELETE on `/connections/{id}/`; the docs
# (and the service) use no trailing slash. We never send one.
CONNECTION_ITEM_PATH = "/connections/{}"

# notes §9 "PATCH op case": spec enum is ADD|REPLACE|REMOVE, documented requests use
# lower case and the service accepts either. We normalise to lower case.
PATCH_OPS = frozenset({"add", "replace", "remove"})

# notes §9 "Data Prep create": POST /mappingSets answers 200, not 201. Nothing to do here:
# the HTTP layer treats every 2xx as success, so no caller may test for 201.

# notes §9 "Catalog create dataset": the 201 body is a list of one path, "@/dataSets/{id}".
_DATASET_REF_PREFIX = "@/dataSets/"

# notes §9 "Token lifetime": S2S `expires_in` is seconds (86399); the retired JWT exchange
# answered milliseconds (86399992). No IMS token lives anywhere near 100 days, so a value that
# large can only be milliseconds.
_MAX_PLAUSIBLE_TOKEN_SECONDS = 100 * 24 * 3600

# notes §3.2 and §10: run status spellings seen in the wild. `Failed` (capitalised) appears in
# a documented filter example and the Flow Service spec's StatusDTO spells them `IN_PROGRESS`,
# `PARTIAL_SUCCESS`, `QUEUED`…, so statuses are matched case- and underscore-insensitively onto
# this set.
RUN_STATUSES = (
    "success",
    "failed",
    "partialSuccess",
    "cancelled",
    "inProgress",
    "scheduled",
    "queued",
)
# A run has ended only with one of these; any other status (empty, queued, scheduled,
# inProgress, a value nobody documented) is still open and is polled again.
FINISHED_RUN_STATUSES = ("success", "failed", "partialSuccess", "cancelled")
# The spec's StatusDTO also lists `COMPLETED` and `PARTIAL_FAILURE`, which the guides never
# show: they end a run as success and partial success do (polled forever otherwise).
_RUN_STATUS_BY_KEY = {status.lower(): status for status in RUN_STATUSES} | {
    "canceled": "cancelled",
    "completed": "success",
    "partialfailure": "partialSuccess",
}

# notes §3.3 vs [FS-spec] CreateFlowRunRequest: the ad-hoc run tutorial sends window times in
# epoch seconds, the spec describes milliseconds, and run metrics are milliseconds. Values past
# this bound (year 5138 in seconds) can only be milliseconds.
_EPOCH_SECONDS_BOUND = 10**11


def unwrap_items(body: Any) -> dict[str, Any]:
    """GET-by-id on Flow Service answers a list envelope `{"items": [entity]}`.

    notes §9 "GET by id" (and §0 fact 5). aepp also copes with a bare object, so we accept both.
    """
    if isinstance(body, Mapping) and isinstance(body.get("items"), list):
        if not body["items"]:
            raise ValueError("empty items envelope")
        return dict(body["items"][0])
    if isinstance(body, Mapping):
        return dict(body)
    raise ValueError(f"unexpected entity body: {type(body).__name__}")


def run_etag(item: Mapping[str, Any]) -> str | None:
    """notes §9 "Run version field": the spec says `eTag`, real runs carry `etag`."""
    return item.get("etag") or item.get("eTag")


def run_activities(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """notes §9 "Run activities": the spec misspells `activities` as `activites`."""
    activities = item.get("activities")
    if activities is None:
        activities = item.get("activites")
    return list(activities or [])


def to_int(value: Any) -> int | None:
    """notes §9 "scheduleParams" / "mappingVersion": numbers arrive as ints or numeric strings."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    return int(str(value).strip())


def to_bool(value: Any) -> bool | None:
    """notes §9 "scheduleParams": GET returns `"backfill": "true"` (a string)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def schedule_for_request(
    start_time: int, frequency: str, interval: int | None, backfill: bool | None
) -> dict[str, Any]:
    """Build `scheduleParams` for POST /flows.

    notes §9 "scheduleParams" and §2.4.6: the spec types `interval` as a string, but the
    flowSpec's own scheduleSpec (which the service validates against) types both `startTime`
    and `interval` as integers, and `interval`/`backfill` must be absent for `once`.
    """
    params: dict[str, Any] = {"startTime": int(start_time), "frequency": frequency}
    if frequency != "once":
        if interval is not None:
            params["interval"] = int(interval)
        if backfill is not None:
            params["backfill"] = bool(backfill)
    return params


def mapping_version_for_request(version: int | str) -> int:
    """notes §9 "mappingVersion": the spec types it as a string, documented requests send an
    int and GET returns `"0"`. We send an int, as the Stripe tutorial does."""
    return int(version)


def patch_body(ops: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """JSON-Patch array for every Flow Service PATCH.

    notes §9 "PATCH connection body": the spec types the connection PATCH body as a single
    object; the service takes an RFC 6902 array everywhere. notes §9 "PATCH op case": ops are
    sent lower-case.
    """
    body = []
    for op in ops:
        name = str(op["op"]).lower()
        if name not in PATCH_OPS:
            raise ValueError(
                f"unsupported JSON-Patch op {op['op']!r} (Flow Service: add/replace/remove)"
            )
        entry: dict[str, Any] = {"op": name, "path": op["path"]}
        if name != "remove" or "value" in op:
            entry["value"] = op.get("value")
        body.append(entry)
    if not body:
        raise ValueError("a PATCH needs at least one operation")
    return body


def adhoc_run_time(moment: datetime) -> int:
    """Times for POST /runs `params`. notes §3.3 [adhoc]: the tutorial sends epoch seconds; the
    spec's description says milliseconds but its example value (1670455537) is seconds, and
    Flow Service schedules are seconds everywhere else. We send integer seconds."""
    return int(moment.timestamp())


def if_match(etag: str) -> str:
    """notes §9 "If-Match": the service takes the etag quoted or unquoted. We pass it exactly as
    GET returned it (with its quotes), which is what the update tutorial does."""
    if not etag:
        raise ValueError("If-Match needs the entity's current etag")
    return etag


def dataset_id_from_create(body: Any) -> str:
    """notes §9 "Catalog create dataset": `["@/dataSets/5c8c3c555033b814b69f947f"]`."""
    if isinstance(body, list) and body and isinstance(body[0], str):
        ref = body[0]
        return ref[len(_DATASET_REF_PREFIX) :] if ref.startswith(_DATASET_REF_PREFIX) else ref
    raise ValueError(f"unexpected dataset create body: {body!r}")


def catalog_entries(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """notes §5.2 item 5: Catalog answers objects keyed by id (`{"<id>": {...}}`), not lists."""
    if not isinstance(body, Mapping):
        raise ValueError(f"unexpected Catalog body: {type(body).__name__}")
    return [(key, dict(value)) for key, value in body.items() if isinstance(value, Mapping)]


def token_lifetime_seconds(expires_in: Any) -> float:
    """notes §9 "Token lifetime": seconds for S2S; guard against a millisecond value."""
    lifetime = float(expires_in)
    if lifetime > _MAX_PLAUSIBLE_TOKEN_SECONDS:
        return lifetime / 1000
    return lifetime


def error_code_from_type(type_uri: Any) -> str | None:
    """notes §2.6 and §9 "Error bodies": the code is the last segment of the problem `type`
    URI (`…/errors/FLOW-1439-404`)."""
    if not isinstance(type_uri, str) or "/errors/" not in type_uri:
        return None
    return type_uri.rsplit("/", 1)[-1] or None


# notes §2.6 and §9 "Flow-not-found code": Flow Service's error table lists "resource not
# found" as `1439-400` and `1101-404`, the service has been seen answering `FLOW-1439-404`,
# and Schema Registry's is `XDM-1010-404`. The code decides, whatever the status it came with.
_NOT_FOUND_CODE = re.compile(r"^(?:FLOW-)?(?:1439|1101)(?:-\d{3})?$|^XDM-1010(?:-\d{3})?$")


def is_not_found_code(code: Any) -> bool:
    """Whether an error code (`FLOW-1439-400`, `1101-404`, `XDM-1010-404`…) means "not found"."""
    return code is not None and bool(_NOT_FOUND_CODE.match(str(code).strip().upper()))


def unwrap_lone_root(record: Any) -> Any:
    """A rejected record as Data Access keeps it may sit inside one root field
    (`{"data": {...}}`, `{"result": {...}}`: ingestion/batch-ingestion/partial.md shows
    `_corrupt_record` as the source row, and a REST source's row is what it read). A Stripe
    object has many fields, so a mapping whose only field is another mapping is a wrapper."""
    while isinstance(record, Mapping) and len(record) == 1:
        (inner,) = record.values()
        if not isinstance(inner, Mapping):
            break
        record = inner
    return record


def _run_status_key(status: str) -> str:
    return status.replace("_", "").lower()


def normalize_run_status(status: Any) -> str | None:
    """notes §3.2 / §10: match run statuses case- and underscore-insensitively
    (`IN_PROGRESS`, `inprogress`, `Failed`); unknown values pass through as they came."""
    if not isinstance(status, str) or not status:
        return None
    return _RUN_STATUS_BY_KEY.get(_run_status_key(status), status)


def is_known_run_status(status: str | None) -> bool:
    return bool(status) and normalize_run_status(status) in RUN_STATUSES


def run_is_finished(status: str | None) -> bool:
    """Only success, failed, partialSuccess and cancelled end a run, however spelled."""
    return normalize_run_status(status) in FINISHED_RUN_STATUSES


def epoch_to_datetime(value: Any) -> datetime | None:
    """An epoch timestamp in seconds or milliseconds (see `_EPOCH_SECONDS_BOUND`) as aware UTC."""
    number = to_int(value)
    if number is None:
        return None
    if abs(number) >= _EPOCH_SECONDS_BOUND:
        return datetime.fromtimestamp(number / 1000, tz=UTC)
    return datetime.fromtimestamp(number, tz=UTC)
