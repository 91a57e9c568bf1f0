"""Catalog datasets (base path /data/foundation/catalog; notes §5.2).

Catalog answers objects keyed by id rather than lists, and pages with `limit` + `start`
(at most 100 objects per response).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from aep import quirks
from aep.http import AEPHttp, iter_offset
from aep.types import Dataset

MAX_PAGE_SIZE = 100


class CatalogClient:
    BASE_PATH = "/data/foundation/catalog"

    def __init__(self, http: AEPHttp) -> None:
        self._http = http
        self._base = http.config.service_url(self.BASE_PATH)

    def list_datasets(
        self, *, page_size: int = 50, properties: Sequence[str] = ()
    ) -> Iterator[Dataset]:
        """GET /dataSets?limit=&start=&properties=, paging by offset."""
        if not 0 < page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"Catalog page size must be 1..{MAX_PAGE_SIZE}")

        def fetch_page(start: int) -> list[Dataset]:
            params: list[tuple[str, Any]] = [("limit", page_size), ("start", start)]
            if properties:
                params.append(("properties", ",".join(properties)))
            body = self._http.call("GET", f"{self._base}/dataSets", params=params) or {}
            return [Dataset.from_api(data, key) for key, data in quirks.catalog_entries(body)]

        yield from iter_offset(fetch_page, page_size)

    def get_dataset(self, dataset_id: str) -> Dataset:
        """GET /dataSets/{id}."""
        body = self._http.call("GET", f"{self._base}/dataSets/{quote(dataset_id, safe='')}")
        entries = dict(quirks.catalog_entries(body))
        data = entries.get(dataset_id) or next(iter(entries.values()), None)
        if data is None:
            raise ValueError(f"Catalog answered no dataset for {dataset_id}")
        return Dataset.from_api(data, dataset_id)

    def delete_dataset(self, dataset_id: str) -> None:
        """DELETE /dataSets/{id}."""
        self._http.call("DELETE", f"{self._base}/dataSets/{quote(dataset_id, safe='')}")

    def create_dataset(self, body: Mapping[str, Any]) -> str:
        """POST /dataSets?requestDataSource=true (`payloads.dataset`); returns the new id."""
        url = f"{self._base}/dataSets"
        answer = self._http.call("POST", url, params=[("requestDataSource", "true")], json=body)
        return quirks.dataset_id_from_create(answer)
