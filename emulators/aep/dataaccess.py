"""Data Access (``/data/foundation/export``): the error diagnostics of a run's batch.

A run whose flow has ``options.errorDiagnosticsEnabled`` keeps its failed records (the first
``runner.FAILED_RECORD_LIMIT``) with their errors. They are served as Adobe documents them
(help/ingestion/batch-ingestion/partial.md, help/ingestion/quality/retrieve-failed-batches.md):

* ``GET /batches/{id}/meta?path=row_errors`` lists the error files:
  ``{"data": [{"name", "length", "_links": {"self": {"href"}}}], "_page": {"limit", "count"}}``;
* ``GET /batches/{id}/meta?path=row_errors/{file}`` downloads one file as JSON lines, one failed
  record a line: ``{"_corrupt_record": "<source JSON>", "_errors": [{"code", "message",
  "columnName"?, "path"?}], "_filename"}`` (``columnName`` is the source field, ``path`` the
  schema field, when known);
* ``GET /batches/{id}/failed`` and ``…/failed?path={file}`` answer the same files.

Without diagnostics the batch has no error files: 404 with a message that says so.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from emulators.aep.context import caller, emulator
from emulators.aep.errors import ApiError
from emulators.aep.variance import WRAPPED_CORRUPT_RECORD

blueprint = Blueprint("dataaccess", __name__, url_prefix="/data/foundation/export")

ROW_ERRORS = "row_errors"
FILE_PREFIX = "conversion_errors_"
RECORDS_PER_FILE = 500
PAGE_LIMIT = 100


@blueprint.get("/batches/<batch>/meta")
def batch_meta(batch: str) -> Response:
    path = request.args.get("path", "").strip("/")
    if not path:
        raise ApiError(400, "1201", "The query parameter 'path' is required.")
    folder, _, name = path.partition("/")
    if folder != ROW_ERRORS:
        raise ApiError(404, "1202", f"Batch '{batch}' has no file or folder '{path}'.")
    count = _diagnosed_batch(batch)
    if not name:
        return _listing(batch, count, lambda file: f"meta?path={quote(f'{ROW_ERRORS}/{file}')}")
    return _download(batch, name, count)


@blueprint.get("/batches/<batch>/failed")
def batch_failed(batch: str) -> Response:
    count = _diagnosed_batch(batch)
    name = request.args.get("path", "").strip("/")
    if not name:
        return _listing(batch, count, lambda file: f"failed?path={quote(file)}")
    return _download(batch, name, count)


def _diagnosed_batch(batch: str) -> int:
    """The number of failed records kept for ``batch``; 404 when there are none to serve."""
    store = emulator().store
    row = store.batch(batch, caller().scope)
    if row is None:
        raise ApiError(404, "1200", f"Batch '{batch}' was not found.")
    if not row["diagnostics"]:
        raise ApiError(
            404,
            "1203",
            f"Error diagnostics were not enabled for batch '{batch}', so no failed records were "
            "kept. Enable error diagnostics on the dataflow (options.errorDiagnosticsEnabled) and "
            "run the window again.",
        )
    return store.failed_record_count(batch)


def _file_names(count: int) -> list[str]:
    files = -(-count // RECORDS_PER_FILE)
    return [f"{FILE_PREFIX}{n}.json" for n in range(files)]


def _listing(batch: str, count: int, link) -> Response:
    base = f"{request.host_url.rstrip('/')}/data/foundation/export/batches/{quote(batch)}/"
    files = _file_names(count)[:PAGE_LIMIT]
    data = [
        {
            "name": name,
            "length": str(len(_file_body(batch, name).encode())),
            "_links": {"self": {"href": base + link(name)}},
        }
        for name in files
    ]
    return jsonify({"data": data, "_page": {"limit": PAGE_LIMIT, "count": len(data)}})


def _download(batch: str, name: str, count: int) -> Response:
    if name not in _file_names(count):
        raise ApiError(404, "1202", f"Batch '{batch}' has no error file '{name}'.")
    return Response(_file_body(batch, name), mimetype="application/x-ndjson")


def _file_body(batch: str, name: str) -> str:
    index = int(name.removeprefix(FILE_PREFIX).removesuffix(".json"))
    rows = emulator().store.failed_records(
        batch, start=index * RECORDS_PER_FILE, limit=RECORDS_PER_FILE
    )
    return "".join(json.dumps(_line(row, name)) + "\n" for row in rows)


def _line(row: dict[str, Any], name: str) -> dict[str, Any]:
    record = row.get("record")
    if emulator().variance.on(WRAPPED_CORRUPT_RECORD):
        record = {"data": record}  # the record as the REST source read it
    return {
        "_corrupt_record": json.dumps(record, separators=(",", ":")),
        "_errors": [_error(e) for e in row.get("errors") or []],
        "_filename": name,
    }


def _error(detail: dict[str, Any]) -> dict[str, Any]:
    error = {"code": detail.get("code", ""), "message": detail.get("message", "")}
    if detail.get("source"):
        error["columnName"] = detail["source"]
    if detail.get("destination"):
        error["path"] = detail["destination"]
    return error
