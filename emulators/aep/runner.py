"""Execute one dataflow run: read a window of Stripe objects, map them, validate them, and report
the run in Flow Service's shape.

A run streams: it reads one Stripe page, maps and validates its objects, hands the good records
to a sink and keeps only counts and a capped sample of row errors before it reads the next page,
so its memory is bounded by the page size rather than by the window.

A run is all-or-nothing towards Stripe: any failed request fails the run, and the caller throws
away whatever the sink received (see ``execution.FlowExecutor.execute``). Record problems are
per record: a record that cannot be mapped or does not fit the target schema is counted as
failed and left out, and the run ends ``partialSuccess`` (or ``failed`` when every record failed
or the partial-ingestion threshold is exceeded; then nothing is promoted either).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from emulators.aep.mapping import CompiledMappingSet, MappingValidationError, compile_mappings
from emulators.aep.xdm import validate_record

PAGE_SIZE = 100
# Row errors are a diagnostic sample: a window of a million bad records keeps only the first few.
ROW_ERROR_SAMPLE_LIMIT = 100
# With error diagnostics on, the failed records themselves are kept for the Data Access API:
# the first ones read, up to this many per run.
FAILED_RECORD_LIMIT = 1000
DEFAULT_EXPORT_BASE_URL = "https://platform.adobe.io/data/foundation/export"

# Run-level failures: (code, message template). Stripe failures quote Stripe's own message.
RUN_ERRORS: dict[str, tuple[str, str]] = {
    "unauthorized": (
        "CONNECTOR-1001-401",
        "Stripe rejected the access token (HTTP 401): {detail}",
    ),
    "forbidden": (
        "CONNECTOR-1003-403",
        "The access token may not read '{resource}' (HTTP 403): {detail}",
    ),
    "not_found": ("CONNECTOR-1004-404", "Stripe has no resource '{resource}' (HTTP 404): {detail}"),
    "rate_limited": ("CONNECTOR-1029-429", "Stripe rate-limited the request (HTTP 429): {detail}"),
    "bad_request": ("CONNECTOR-1000-400", "Stripe rejected the request (HTTP {status}): {detail}"),
    "server_error": ("CONNECTOR-2001-500", "Stripe failed with HTTP {status}: {detail}"),
    "timeout": ("CONNECTOR-2001-500", "Stripe did not answer within {timeout:g} seconds"),
    "unreachable": ("CONNECTOR-2001-500", "Could not connect to Stripe: {detail}"),
    "bad_response": ("CONNECTOR-2001-500", "Stripe returned an unreadable list: {detail}"),
    "invalid_mapping": ("MAPPER-1000-400", "The mapping set is not valid: {detail}"),
    "records_failed": (
        "INGEST-1211-400",
        "Encountered errors while parsing, converting or otherwise validating the data: "
        "{failed} of {total} records failed{threshold}.",
    ),
}
# Record-level failures, reported in the promotion activity with a recordCount.
MAPPER_TRANSFORM_ERROR = ("MAPPER-3700-400", "Mapper Transform Error")
SCHEMA_VALIDATION_ERROR = ("INGEST-1104-400", "The record does not conform to the XDM schema")
INGEST_SUMMARY = (
    "INGEST-1212-400",
    "Encountered {failed} errors in the data. Successfully ingested {ingested} rows. "
    "Review the associated diagnostic files for additional details.",
)


@dataclass
class RunOutcome:
    status: str  # "success" | "partialSuccess" | "failed"
    started_at_ms: int
    completed_at_ms: int
    window_start: int | None  # epoch seconds of Stripe's `created`; None = from the beginning
    window_end: int
    input_records: int
    output_records: int
    failed_records: int
    input_bytes: int
    output_bytes: int
    records: list[dict]  # mapped output records to write, when the run was given no sink
    errors: list[dict]  # run level: [{"code", "message"}]
    record_errors: list[dict]  # [{"code", "recordCount"?, "message"}]
    copy_completed_at_ms: int = 0
    pages: int = 0
    failure_stage: str | None = None  # "copy" when Stripe or the mapping set failed the run
    # Diagnostics for failed records: [{"id": stripe object id, "code", "message"}], capped.
    row_errors: list[dict] = field(default_factory=list)

    @property
    def copy_failed(self) -> bool:
        return self.failure_stage == "copy"


class RunFailure(Exception):
    def __init__(self, kind: str, **details: Any) -> None:
        code, template = RUN_ERRORS[kind]
        self.code = code
        self.message = template.format(**details)
        super().__init__(self.message)

    def as_error(self) -> dict:
        return {"code": self.code, "message": self.message}


# -- reading Stripe ----------------------------------------------------------------------------

# Stripe leaves canceled subscriptions out of its list unless asked; a source loads them all.
LIST_FILTERS: dict[str, dict[str, str]] = {"subscriptions": {"status": "all"}}


def iter_pages(
    session: requests.Session,
    *,
    stripe_api_base: str,
    access_token: str,
    resource_path: str,
    window_start: int | None,
    window_end: int,
    timeout: float,
) -> Iterator[list[dict]]:
    """Each page of the objects created in [window_start, window_end), newest first."""
    url = f"{stripe_api_base.rstrip('/')}/v1/{resource_path}"
    params: dict[str, Any] = {"limit": PAGE_SIZE, "created[lt]": window_end}
    if window_start is not None:
        params["created[gte]"] = window_start
    params.update(LIST_FILTERS.get(resource_path, {}))
    cursor: str | None = None
    while True:
        page_params = {**params, "starting_after": cursor} if cursor else params
        page = _get_page(session, url, access_token, page_params, timeout, resource_path)
        yield page["data"]
        if not page.get("has_more") or not page["data"]:
            return
        next_cursor = page["data"][-1].get("id") if isinstance(page["data"][-1], dict) else None
        if not next_cursor or next_cursor == cursor:
            raise RunFailure("bad_response", detail="the page cursor did not advance")
        cursor = next_cursor


def fetch_objects(
    session: requests.Session,
    *,
    stripe_api_base: str,
    access_token: str,
    resource_path: str,
    window_start: int | None,
    window_end: int,
    timeout: float,
) -> tuple[list[dict], int]:
    """Every object created in [window_start, window_end), newest first, and the page count.

    This holds the whole window in memory; runs read it page by page with ``iter_pages``.
    """
    objects: list[dict] = []
    pages = 0
    for page in iter_pages(
        session,
        stripe_api_base=stripe_api_base,
        access_token=access_token,
        resource_path=resource_path,
        window_start=window_start,
        window_end=window_end,
        timeout=timeout,
    ):
        objects.extend(page)
        pages += 1
    return objects, pages


def _get_page(
    session: requests.Session,
    url: str,
    access_token: str,
    params: dict,
    timeout: float,
    resource_path: str,
) -> dict:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    try:
        response = session.get(url, params=params, headers=headers, timeout=timeout)
    except requests.Timeout as exc:
        raise RunFailure("timeout", timeout=timeout) from exc
    except requests.RequestException as exc:
        raise RunFailure("unreachable", detail=_shorten(str(exc))) from exc
    if response.status_code != 200:
        raise _http_error(response, resource_path)
    try:
        body = response.json()
    except ValueError as exc:
        raise RunFailure("bad_response", detail="the body is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise RunFailure("bad_response", detail="the body has no 'data' list")
    return body


def _http_error(response: requests.Response, resource_path: str) -> RunFailure:
    status = response.status_code
    kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited"}.get(
        status, "server_error" if status >= 500 else "bad_request"
    )
    return RunFailure(kind, status=status, resource=resource_path, detail=_stripe_message(response))


def _stripe_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
        message = error.get("message")
    except (ValueError, AttributeError):
        message = None
    return _shorten(message or response.text or response.reason or "no error message")


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the run -----------------------------------------------------------------------------------


# Receives the good records of one page, in Stripe order, as soon as they are mapped.
RecordSink = Callable[[list[dict]], None]
# Receives the failed records of one page as diagnostics rows:
# {"record": the Stripe object, "errors": [{"code", "message", "source"?, "destination"?}]}.
FailedSink = Callable[[list[dict]], None]


@dataclass
class _Tally:
    """What a run has learned so far, page by page: counts and a capped sample, no records."""

    input_records: int = 0
    input_bytes: int = 0
    output_records: int = 0
    output_bytes: int = 0
    pages: int = 0
    copy_seconds: float = 0.0  # time spent waiting for Stripe
    counts: dict[tuple[str, str], int] = field(
        default_factory=lambda: {MAPPER_TRANSFORM_ERROR: 0, SCHEMA_VALIDATION_ERROR: 0}
    )
    row_errors: list[dict] = field(default_factory=list)
    failed_kept: int = 0  # failed records handed to the failed sink so far

    @property
    def failed_records(self) -> int:
        return sum(self.counts.values())


def execute_run(
    *,
    stripe_api_base: str,
    access_token: str,
    resource_path: str,
    window_start: int | None,
    window_end: int,
    mappings: list[dict],
    target_schema: dict | None,
    session: requests.Session | None = None,
    timeout: float = 30,
    partial_ingestion_percent: float | None = None,
    sink: RecordSink | None = None,
    failed_sink: FailedSink | None = None,
) -> RunOutcome:
    """Run one window of a flow. ``target_schema`` is the resolved schema of the dataset.

    With a ``sink`` the good records go there page by page and ``records`` stays empty; the
    caller keeps them only if the outcome is not ``failed``. Without one they are collected in
    ``records`` (empty when the run failed), which holds the whole window in memory.

    A ``failed_sink`` (error diagnostics on) receives the first ``FAILED_RECORD_LIMIT`` failed
    records with their errors, page by page; the caller drops them if Stripe fails the run.
    """
    started = _now_ms()
    window = (window_start, window_end)
    try:
        compiled = compile_mappings(mappings, target_schema)
    except MappingValidationError as exc:
        return _copy_failed(started, window, RunFailure("invalid_mapping", detail=exc))
    collected: list[dict] = []
    tally = _Tally()
    http = session or requests.Session()
    try:
        pages = iter_pages(
            http,
            stripe_api_base=stripe_api_base,
            access_token=access_token,
            resource_path=resource_path,
            window_start=window_start,
            window_end=window_end,
            timeout=timeout,
        )
        _stream(pages, compiled, target_schema, tally, sink or collected.extend, failed_sink)
    except RunFailure as exc:
        # Stripe failed part-way: the run reports no records, as if it had read none, and the
        # caller drops whatever the sink already received.
        return _copy_failed(started, window, exc)
    finally:
        if session is None:
            http.close()
    outcome = _outcome_from(tally, collected, partial_ingestion_percent)
    # Reading and mapping interleave page by page; the copy activity is given the time spent
    # waiting for Stripe and the promotion activity the rest, so the two still add up to the run.
    outcome.started_at_ms = started
    outcome.copy_completed_at_ms = started + round(tally.copy_seconds * 1000)
    outcome.window_start, outcome.window_end, outcome.pages = window_start, window_end, tally.pages
    outcome.completed_at_ms = max(_now_ms(), outcome.copy_completed_at_ms)
    return outcome


def _stream(
    pages: Iterator[list[dict]],
    compiled: CompiledMappingSet,
    target_schema: dict | None,
    tally: _Tally,
    write: RecordSink,
    write_failed: FailedSink | None = None,
) -> None:
    """Read, map and hand on one page at a time, so only one page is held at once."""
    while True:
        began = time.perf_counter()
        page = next(pages, None)
        tally.copy_seconds += time.perf_counter() - began
        if page is None:
            return
        tally.pages += 1
        failed: list[dict] | None = [] if write_failed is not None else None
        good = _map_page(page, compiled, target_schema, tally, failed)
        if good:
            write(good)
        if failed and write_failed is not None:
            write_failed(failed)


def _map_page(
    objects: list[dict],
    compiled: CompiledMappingSet,
    target_schema: dict | None,
    tally: _Tally,
    failed: list[dict] | None = None,
) -> list[dict]:
    """The good records of one page; failures are counted and sampled in ``tally``, and kept
    in ``failed`` (when given) up to ``FAILED_RECORD_LIMIT`` per run."""
    good: list[dict] = []
    for obj in objects:
        tally.input_records += 1
        tally.input_bytes += _size(obj)
        mapped = compiled.apply({"data": obj})
        problems = mapped.errors
        kind = MAPPER_TRANSFORM_ERROR
        if not problems and target_schema is not None:
            problems, kind = validate_record(mapped.output, target_schema), SCHEMA_VALIDATION_ERROR
        if problems:
            tally.counts[kind] += 1
            if len(tally.row_errors) < ROW_ERROR_SAMPLE_LIMIT:
                tally.row_errors.append(
                    {"id": _object_id(obj), "code": kind[0], "message": "; ".join(problems)}
                )
            if failed is not None and tally.failed_kept < FAILED_RECORD_LIMIT:
                tally.failed_kept += 1
                details = (
                    mapped.details
                    if kind is MAPPER_TRANSFORM_ERROR
                    else _schema_details(problems, compiled)
                )
                failed.append({"record": obj, "errors": details})
        else:
            tally.output_records += 1
            tally.output_bytes += _size(mapped.output)
            good.append(mapped.output)
    return good


_FIELD_IN_PROBLEM = re.compile(r"Field '([^']*)'")


def _schema_details(problems: list[str], compiled: CompiledMappingSet) -> list[dict]:
    """XDM validation problems as diagnostics errors, naming the schema field and, when one
    mapping writes it, the source field that fed it."""
    details = []
    for problem in problems:
        match = _FIELD_IN_PROBLEM.search(problem)
        destination = match.group(1) if match else ""
        entry: dict[str, Any] = {"code": SCHEMA_VALIDATION_ERROR[0], "message": problem}
        if destination:
            entry["destination"] = destination
            source = _source_of(destination, compiled)
            if source:
                entry["source"] = source
        details.append(entry)
    return details


def _source_of(destination: str, compiled: CompiledMappingSet) -> str | None:
    bare = re.sub(r"\[\d+\]", "", destination)
    for mapping in compiled.mappings:
        if mapping.destination in (destination, bare):
            return mapping.source
    return None


def _outcome_from(
    tally: _Tally, records: list[dict], partial_ingestion_percent: float | None
) -> RunOutcome:
    total, failed = tally.input_records, tally.failed_records
    status, errors = _judge(total, failed, partial_ingestion_percent)
    record_errors = [
        {"code": code, "recordCount": count, "message": message}
        for (code, message), count in tally.counts.items()
        if count
    ]
    output_records, output_bytes = tally.output_records, tally.output_bytes
    if status == "failed":
        # A failed batch is not promoted to the dataset.
        records, output_records, output_bytes = [], 0, 0
    elif status == "partialSuccess":
        summary = INGEST_SUMMARY[1].format(failed=failed, ingested=output_records)
        record_errors.insert(0, {"code": INGEST_SUMMARY[0], "message": summary})
    return RunOutcome(
        status=status,
        started_at_ms=0,
        completed_at_ms=0,
        window_start=None,
        window_end=0,
        input_records=total,
        output_records=output_records,
        failed_records=failed,
        input_bytes=tally.input_bytes,
        output_bytes=output_bytes,
        records=records,
        errors=errors,
        record_errors=record_errors,
        row_errors=tally.row_errors,
    )


def _judge(total: int, failed: int, threshold: float | None) -> tuple[str, list[dict]]:
    """Status and run-level errors of a run whose records were all read."""
    if not failed:
        return "success", []
    over_threshold = threshold is not None and failed * 100 > threshold * total
    if failed < total and not over_threshold:
        return "partialSuccess", []
    note = f" (partial ingestion threshold {threshold:g}%)" if over_threshold else ""
    failure = RunFailure("records_failed", failed=failed, total=total, threshold=note)
    return "failed", [failure.as_error()]


def _copy_failed(started: int, window: tuple[int | None, int], error: RunFailure) -> RunOutcome:
    """A run that Stripe or its mapping set failed: no counts, only the copy activity."""
    now = _now_ms()
    return RunOutcome(
        status="failed",
        started_at_ms=started,
        completed_at_ms=now,
        window_start=window[0],
        window_end=window[1],
        input_records=0,
        output_records=0,
        failed_records=0,
        input_bytes=0,
        output_bytes=0,
        records=[],
        errors=[error.as_error()],
        record_errors=[],
        copy_completed_at_ms=now,
        failure_stage="copy",
    )


def _object_id(obj: Any) -> str | None:
    return obj.get("id") if isinstance(obj, dict) else None


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- run documents -----------------------------------------------------------------------------


def run_document(
    *,
    run_id: str,
    flow_id: str,
    etag: str,
    outcome: RunOutcome,
    created_at_ms: int,
    updated_at_ms: int,
    sandbox_id: str,
    sandbox_name: str,
    source_connection_id: str,
    target_connection_id: str,
    batch_id: str,
    created_by: str = "acp_foundation_connectors@AdobeID",
    created_client: str = "acp_foundation_connectors",
    copy_type: str = "one-time",
    export_base_url: str = DEFAULT_EXPORT_BASE_URL,
    extra: dict | None = None,
) -> dict:
    """A finished run as ``GET /runs`` returns it (Flow Service monitoring shape)."""
    activities = [_copy_activity(outcome, run_id, source_connection_id, copy_type)]
    if not outcome.copy_failed:
        activities.append(
            _promotion_activity(outcome, target_connection_id, batch_id, export_base_url)
        )
    last = activities[-1]
    document = _run_header(
        run_id, flow_id, etag, created_at_ms, updated_at_ms, sandbox_id, sandbox_name,
        created_by, created_client, extra,
    )  # fmt: skip
    document["metrics"] = {
        "durationSummary": {
            "startedAtUTC": outcome.started_at_ms,
            "completedAtUTC": outcome.completed_at_ms,
        },
        "sizeSummary": {"inputBytes": outcome.input_bytes, "outputBytes": outcome.output_bytes},
        "recordSummary": _record_summary(outcome),
        "fileSummary": {
            "inputFileCount": last["fileSummary"]["inputFileCount"],
            "outputFileCount": last["fileSummary"]["outputFileCount"],
            "activityRefs": [last["id"]],
        },
        "statusSummary": {
            "status": outcome.status,
            "errors": list(outcome.errors),
            "activityRefs": [last["id"]],
        },
    }
    document["activities"] = activities
    return document


# Statuses of a run that has not ended. A run waits `queued` (a scheduled window) or `scheduled`
# (an ad-hoc or re-triggered run, as the ad-hoc run tutorial shows it) before it starts.
OPEN_STATUSES = ("queued", "scheduled", "inProgress")


def in_progress_run_document(
    *,
    run_id: str,
    flow_id: str,
    etag: str,
    created_at_ms: int,
    updated_at_ms: int,
    started_at_ms: int,
    window_start: int | None,
    window_end: int,
    sandbox_id: str,
    sandbox_name: str,
    source_connection_id: str,
    created_by: str = "acp_foundation_connectors@AdobeID",
    created_client: str = "acp_foundation_connectors",
    copy_type: str = "one-time",
    extra: dict | None = None,
    status: str = "inProgress",
) -> dict:
    """A run that has not finished: ``queued`` or ``scheduled`` until it starts, then
    ``inProgress``; no counts yet."""
    document = _run_header(
        run_id, flow_id, etag, created_at_ms, updated_at_ms, sandbox_id, sandbox_name,
        created_by, created_client, extra,
    )  # fmt: skip
    document["metrics"] = {
        "durationSummary": {"startedAtUTC": started_at_ms},
        "sizeSummary": {},
        "recordSummary": {},
        "fileSummary": {"activityRefs": ["copyActivity"]},
        "statusSummary": {"status": status, "errors": [], "activityRefs": ["copyActivity"]},
    }
    document["activities"] = [
        {
            "id": "copyActivity",
            "updatedAtUTC": updated_at_ms,
            "durationSummary": {
                "startedAtUTC": started_at_ms,
                "extensions": _window_extensions(window_start, window_end),
            },
            "sizeSummary": {},
            "recordSummary": {},
            "fileSummary": {},
            "statusSummary": {"status": status, "extensions": {"type": copy_type}},
            "sourceInfo": _source_info(source_connection_id, run_id),
        }
    ]
    return document


def _run_header(
    run_id: str,
    flow_id: str,
    etag: str,
    created_at_ms: int,
    updated_at_ms: int,
    sandbox_id: str,
    sandbox_name: str,
    created_by: str,
    created_client: str,
    extra: dict | None,
) -> dict:
    header = {
        "createdAt": created_at_ms,
        "updatedAt": updated_at_ms,
        "createdBy": created_by,
        "updatedBy": created_by,
        "createdClient": created_client,
        "updatedClient": created_client,
        "sandboxId": sandbox_id,
        "sandboxName": sandbox_name,
        "id": run_id,
        "flowId": flow_id,
        "etag": etag,
    }
    header.update(extra or {})
    return header


def _record_summary(outcome: RunOutcome) -> dict:
    return {
        "inputRecordCount": outcome.input_records,
        "outputRecordCount": outcome.output_records,
        "failedRecordCount": outcome.failed_records,
    }


def _window_extensions(window_start: int | None, window_end: int) -> dict:
    return {"windowStart": (window_start or 0) * 1000, "windowEnd": window_end * 1000}


def _source_info(source_connection_id: str, run_id: str) -> list[dict]:
    return [
        {
            "id": source_connection_id,
            "type": "SourceConnection",
            "reference": {"type": "AdfRunId", "ids": [run_id]},
        }
    ]


def _copy_activity(
    outcome: RunOutcome, run_id: str, source_connection_id: str, copy_type: str
) -> dict:
    failed = outcome.copy_failed
    status: dict[str, Any] = {
        "status": "failed" if failed else "success",
        "extensions": {"type": copy_type},
    }
    if failed:
        status["errors"] = list(outcome.errors)
    copied = 0 if failed else 1
    return {
        "id": "copyActivity",
        "updatedAtUTC": outcome.copy_completed_at_ms,
        "durationSummary": {
            "startedAtUTC": outcome.started_at_ms,
            "completedAtUTC": outcome.copy_completed_at_ms,
            "extensions": _window_extensions(outcome.window_start, outcome.window_end),
        },
        "sizeSummary": {"inputBytes": outcome.input_bytes, "outputBytes": outcome.input_bytes},
        "recordSummary": {},
        "fileSummary": {"inputFileCount": copied, "outputFileCount": copied},
        "statusSummary": status,
        "sourceInfo": _source_info(source_connection_id, run_id),
    }


def _promotion_activity(
    outcome: RunOutcome, target_connection_id: str, batch_id: str, export_base_url: str
) -> dict:
    batch_meta = f"{export_base_url.rstrip('/')}/batches/{batch_id}/meta?path="
    extensions: dict[str, Any] = {}
    if outcome.failed_records:
        extensions["manifest"] = {
            "failedRecords": batch_meta + "row_errors",
            "sampleErrors": batch_meta + "row_error_samples.json",
        }
    extensions["errors"] = list(outcome.record_errors)
    status: dict[str, Any] = {"status": outcome.status}
    if outcome.errors:
        status["errors"] = list(outcome.errors)
    status["extensions"] = extensions
    return {
        "id": "promotionActivity",
        "updatedAtUTC": outcome.completed_at_ms,
        "durationSummary": {
            "startedAtUTC": outcome.copy_completed_at_ms,
            "completedAtUTC": outcome.completed_at_ms,
        },
        "sizeSummary": {"inputBytes": outcome.input_bytes, "outputBytes": outcome.output_bytes},
        "recordSummary": _record_summary(outcome),
        "fileSummary": {
            "inputFileCount": 1,
            "outputFileCount": 1 if outcome.output_records else 0,
            "extensions": {"manifest": {"fileInfo": batch_meta + "input_files"}},
        },
        "statusSummary": status,
        "targetInfo": [
            {
                "id": target_connection_id,
                "type": "TargetConnection",
                "reference": {"type": "Batch", "ids": [batch_id]},
            }
        ],
    }
