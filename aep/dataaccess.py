"""Data Access error diagnostics (base path /data/foundation/export; notes §3.2).

A run's promotion activity names its batch (`targetInfo[].reference.ids`) and links the batch's
failed records (`statusSummary.extensions.manifest.failedRecords`,
`/export/batches/{id}/meta?path=row_errors`). That folder lists error files; each file is JSON
lines, one failed record a line: `{"_corrupt_record": "<source JSON>", "_errors": [{"code",
"message", "columnName"?, "path"?}]}`. AEP keeps these only for flows created with error
diagnostics on (`options.errorDiagnosticsEnabled`); otherwise the folder answers 404.

The Data Access API has no OpenAPI spec in contracts/adobe, so its requests are not checked by
tests/contract; the shapes follow Adobe's guides (help/ingestion/batch-ingestion/partial.md,
help/ingestion/quality/retrieve-failed-batches.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from aep.errors import NotFoundError
from aep.http import AEPHttp
from aep.types import FailedRecord, FailedRecordSample

logger = logging.getLogger(__name__)

ROW_ERRORS = "row_errors"
MAX_SAMPLE = 1000


class DataAccessClient:
    BASE_PATH = "/data/foundation/export"

    def __init__(self, http: AEPHttp) -> None:
        self._http = http
        self._base = http.config.service_url(self.BASE_PATH)

    def failed_records(self, batch_id: str, *, limit: int = 100) -> FailedRecordSample:
        """Up to `limit` failed records of a batch, in the order AEP kept them.

        GET /batches/{id}/meta?path=row_errors lists the error files; each is then read with
        GET /batches/{id}/meta?path=row_errors/{file} until `limit` records are in hand. When
        AEP keeps no diagnostics for the batch (404), the sample says so instead of raising.
        """
        if not 0 < limit <= MAX_SAMPLE:
            raise ValueError(f"limit must be 1..{MAX_SAMPLE}")
        url = f"{self._base}/batches/{quote(batch_id, safe='')}/meta"
        try:
            listing = self._http.call("GET", url, params=[("path", ROW_ERRORS)]) or {}
        except NotFoundError as exc:
            return FailedRecordSample(batch_id=batch_id, available=False, message=exc.message)
        names = _file_names(listing.get("data") or ())
        records: list[FailedRecord] = []
        truncated = False
        for name in names:
            if len(records) >= limit:
                truncated = True
                break
            text = self._http.call_text("GET", url, params=[("path", f"{ROW_ERRORS}/{name}")])
            parsed = list(_parse_lines(text, name))
            room = limit - len(records)
            truncated = truncated or len(parsed) > room
            records.extend(parsed[:room])
        return FailedRecordSample(
            batch_id=batch_id,
            available=True,
            records=tuple(records),
            files=len(names),
            truncated=truncated,
        )


def batch_id_of(activities: Iterable[Mapping[str, Any]]) -> str | None:
    """The batch a run wrote: the promotion activity's target batch, else the batch named in
    its failed-records link."""
    for activity in activities:
        for target in activity.get("targetInfo") or ():
            if not isinstance(target, Mapping):
                continue
            reference = target.get("reference") or {}
            ids = reference.get("ids") or ()
            if reference.get("type") == "Batch" and ids:
                return str(ids[0])
    for activity in activities:
        extensions = (activity.get("statusSummary") or {}).get("extensions") or {}
        link = (extensions.get("manifest") or {}).get("failedRecords")
        if isinstance(link, str):
            parts = urlsplit(link).path.rstrip("/").split("/")
            if "batches" in parts and parts.index("batches") + 1 < len(parts):
                return parts[parts.index("batches") + 1]
    return None


def _file_names(entries: Iterable[Any]) -> list[str]:
    """File names of a listing; a name missing from an entry is read from its self link."""
    names = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("name")
        if not name:
            href = ((entry.get("_links") or {}).get("self") or {}).get("href", "")
            path = parse_qs(urlsplit(href).query).get("path", [""])[0]
            name = path.rsplit("/", 1)[-1]
        if name and not str(name).startswith("_"):  # `_SUCCESS` markers hold no records
            names.append(str(name))
    return names


def _parse_lines(text: str, file_name: str) -> Iterable[FailedRecord]:
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            logger.warning("skipping an unreadable line of error file %s", file_name)
            continue
        if isinstance(row, Mapping):
            yield FailedRecord.from_api(row, file_name)
