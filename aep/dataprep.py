"""Data Prep mapping sets (base path /data/foundation/conversion; notes §4).

Two request shapes are accepted (notes §4.1): the modern one (`outputSchema.schemaRef` +
`mappings[{sourceType, source, destination}]`) and the legacy one the Stripe tutorial uses
(`xdmSchema` + `mappings[{sourceAttribute, destinationXdmPath, identity}]`). `aep.payloads`
builds both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

from aep.errors import AEPAPIError, NotFoundError
from aep.http import AEPHttp, iter_offset
from aep.types import MappingPreview, MappingSet, MappingValidation

SOURCE_TYPES = ("ATTRIBUTE", "EXPRESSION", "STATIC")
# Answers to DELETE /mappingSets/{id} that mean "this sandbox keeps mapping sets".
MAPPING_SET_KEPT_STATUSES = frozenset({400, 404, 405})

MappingShape = Literal["legacy", "modern"]


def mapping_set_shape(body: Mapping[str, Any], *, require_schema: bool = True) -> MappingShape:
    """Which of the two accepted shapes `body` is; ValueError for anything else.

    With `require_schema=False` a modern body may leave out `outputSchema`, which validate and
    preview accept: mappings can then be checked before the schema they will fill exists.
    """
    mappings = body.get("mappings")
    if not isinstance(mappings, list) or not mappings:
        raise ValueError("a mapping set needs a non-empty `mappings` list")
    if "xdmSchema" in body and all("destinationXdmPath" in m for m in mappings):
        return "legacy"
    schema_ref = (body.get("outputSchema") or {}).get("schemaRef") or {}
    schema_ok = bool(schema_ref.get("id")) or (not require_schema and "outputSchema" not in body)
    if schema_ok and all("destination" in m for m in mappings):
        _check_source_types(mappings)
        return "modern"
    raise ValueError("mapping set is neither the legacy (xdmSchema) nor the modern shape")


def _check_source_types(mappings: Sequence[Mapping[str, Any]]) -> None:
    for mapping in mappings:
        source_type = mapping.get("sourceType", "ATTRIBUTE")
        if source_type not in SOURCE_TYPES:
            raise ValueError(f"sourceType must be one of {SOURCE_TYPES}, not {source_type!r}")


class DataPrepClient:
    BASE_PATH = "/data/foundation/conversion"

    def __init__(self, http: AEPHttp) -> None:
        self._http = http
        self._base = http.config.service_url(self.BASE_PATH)

    def create_mapping_set(self, body: Mapping[str, Any]) -> MappingSet:
        """POST /mappingSets (`payloads.mapping_set`; answers 200 with id + version)."""
        mapping_set_shape(body)
        return MappingSet.from_api(self._http.call("POST", f"{self._base}/mappingSets", json=body))

    def get_mapping_set(self, mapping_set_id: str, *, version: int | None = None) -> MappingSet:
        """GET /mappingSets/{id}."""
        params = [("version", version)] if version is not None else None
        url = f"{self._base}/mappingSets/{quote(mapping_set_id, safe='')}"
        return MappingSet.from_api(self._http.call("GET", url, params=params))

    def list_mapping_sets(
        self, *, page_size: int = 50, name: str | None = None, order_by: str | None = None
    ) -> Iterator[MappingSet]:
        """GET /mappingSets, paging with limit + start."""

        def fetch_page(start: int) -> list[dict[str, Any]]:
            params: list[tuple[str, Any]] = [("limit", page_size), ("start", start)]
            if name:
                params.append(("name", name))
            if order_by:
                params.append(("orderBy", order_by))
            body = self._http.call("GET", f"{self._base}/mappingSets", params=params) or {}
            return list(body.get("data") or [])

        for item in iter_offset(fetch_page, page_size):
            yield MappingSet.from_api(item)

    def update_mapping_set(self, mapping_set_id: str, body: Mapping[str, Any]) -> MappingSet:
        """PUT /mappingSets/{id}: replaces the mappings as a new version (notes §4)."""
        mapping_set_shape(body)
        url = f"{self._base}/mappingSets/{quote(mapping_set_id, safe='')}"
        answer = self._http.call("PUT", url, json=dict(body)) or {}
        if "version" not in answer:
            # Without the new version in the answer, read it back rather than guess it.
            return self.get_mapping_set(mapping_set_id)
        return MappingSet.from_api({"id": mapping_set_id, **answer})

    def delete_mapping_set(self, mapping_set_id: str) -> bool:
        """DELETE /mappingSets/{id}: True when deleted, False when AEP left it in place.

        The call is missing from the public spec and used by aepp (notes §4, §7.2), so a
        sandbox may not offer it: 400, 404 and 405 mean "not deleted here", never a failure.
        Any other error still raises.
        """
        url = f"{self._base}/mappingSets/{quote(mapping_set_id, safe='')}"
        try:
            self._http.call("DELETE", url)
        except AEPAPIError as exc:
            if exc.status_code in MAPPING_SET_KEPT_STATUSES or isinstance(exc, NotFoundError):
                return False
            raise
        return True

    def validate_mapping_set(
        self, body: Mapping[str, Any], *, require_schema: bool = True
    ) -> tuple[MappingValidation, ...]:
        """POST /mappingSets/validate (one result per mapping).

        `require_schema=False` allows a body without `outputSchema` (see `mapping_set_shape`).
        """
        mapping_set_shape(body, require_schema=require_schema)
        answer = self._http.call("POST", f"{self._base}/mappingSets/validate", json=body) or {}
        return tuple(MappingValidation.from_api(v) for v in answer.get("validationResponse") or ())

    def preview_mapping_set(
        self,
        body: Mapping[str, Any],
        records: Sequence[Mapping[str, Any]],
        *,
        require_schema: bool = True,
    ) -> tuple[MappingPreview, ...]:
        """POST /mappingSets/preview (run sample records through the mappings).

        `require_schema=False` allows a body without `outputSchema` (see `mapping_set_shape`).
        """
        mapping_set_shape(body, require_schema=require_schema)
        request = {"data": [dict(r) for r in records], "mappingSet": dict(body)}
        answer = self._http.call("POST", f"{self._base}/mappingSets/preview", json=request) or []
        return tuple(MappingPreview.from_api(item) for item in answer)
