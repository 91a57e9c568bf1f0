"""Schema Registry: tenant id, classes, field groups and schemas (notes §5).

Base path /data/foundation/schemaregistry. Resources are addressed by their URL-encoded `$id`
(or `meta:altId`), and reads need an `Accept` header naming the representation (notes §1.2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from aep.http import AEPHttp
from aep.types import FieldGroup, RegistryStats, Schema, SchemaClass

ACCEPT_JSON = "application/json"
ACCEPT_LIST = "application/vnd.adobe.xed-id+json"
ACCEPT_LOOKUP = "application/vnd.adobe.xed+json; version=1"
ACCEPT_LOOKUP_FULL = "application/vnd.adobe.xed-full+json; version=1"

Container = Literal["tenant", "global"]
T = TypeVar("T")


class SchemaRegistryClient:
    BASE_PATH = "/data/foundation/schemaregistry"

    def __init__(self, http: AEPHttp) -> None:
        self._http = http
        self._base = http.config.service_url(self.BASE_PATH)

    def _get(self, path: str, accept: str, params: list[tuple[str, Any]] | None = None) -> Any:
        return self._http.call("GET", self._base + path, params=params, headers={"Accept": accept})

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        headers = {"Accept": ACCEPT_JSON}
        return self._http.call("POST", self._base + path, json=dict(body), headers=headers)

    def _delete(self, path: str) -> None:
        self._http.call("DELETE", self._base + path, headers={"Accept": ACCEPT_JSON})

    def _list(
        self, path: str, parse: Callable[[Mapping[str, Any]], T], orderby: str, limit: int
    ) -> Iterator[T]:
        """GET a listing, following `_page.next` as the next `start`."""
        params: list[tuple[str, Any]] = [("orderby", orderby), ("limit", limit)]
        seen: set[str] = set()
        while True:
            body = self._get(path, ACCEPT_LIST, params) or {}
            for item in body.get("results") or ():
                yield parse(item)
            start = (body.get("_page") or {}).get("next")
            if not start or str(start) in seen:
                return
            seen.add(str(start))
            params = [("orderby", orderby), ("limit", limit), ("start", start)]

    def get_stats(self) -> RegistryStats:
        """GET /stats (the tenant id that namespaces custom fields)."""
        return RegistryStats.from_api(self._get("/stats", ACCEPT_JSON))

    def create_class(self, body: Mapping[str, Any]) -> SchemaClass:
        """POST /tenant/classes (`payloads.xdm_class`)."""
        return SchemaClass.from_api(self._post("/tenant/classes", body))

    def list_classes(
        self, *, container: Container = "tenant", orderby: str = "title", limit: int = 100
    ) -> Iterator[SchemaClass]:
        """GET /{container}/classes (summaries: id, alt id, version, title), every page."""
        return self._list(f"/{container}/classes", SchemaClass.from_api, orderby, limit)

    def delete_class(self, class_id: str) -> None:
        """DELETE /tenant/classes/{id} (answers 204)."""
        self._delete(f"/tenant/classes/{quote(class_id, safe='')}")

    def create_field_group(self, body: Mapping[str, Any]) -> FieldGroup:
        """POST /tenant/fieldgroups (`payloads.field_group`)."""
        return FieldGroup.from_api(self._post("/tenant/fieldgroups", body))

    def get_field_group(
        self, field_group_id: str, *, container: Container = "tenant"
    ) -> FieldGroup:
        """GET /{container}/fieldgroups/{id}."""
        path = f"/{container}/fieldgroups/{quote(field_group_id, safe='')}"
        return FieldGroup.from_api(self._get(path, ACCEPT_LOOKUP))

    def list_field_groups(
        self, *, container: Container = "tenant", orderby: str = "title", limit: int = 100
    ) -> Iterator[FieldGroup]:
        """GET /{container}/fieldgroups (summaries: id, alt id, version, title), every page."""
        return self._list(f"/{container}/fieldgroups", FieldGroup.from_api, orderby, limit)

    def delete_field_group(self, field_group_id: str) -> None:
        """DELETE /tenant/fieldgroups/{id} (answers 204)."""
        self._delete(f"/tenant/fieldgroups/{quote(field_group_id, safe='')}")

    def create_schema(self, body: Mapping[str, Any]) -> Schema:
        """POST /tenant/schemas (`payloads.schema`)."""
        return Schema.from_api(self._post("/tenant/schemas", body))

    def get_schema(
        self, schema_id: str, *, container: Container = "tenant", full: bool = False
    ) -> Schema:
        """GET /{container}/schemas/{id} (full=True resolves field groups into the body)."""
        path = f"/{container}/schemas/{quote(schema_id, safe='')}"
        return Schema.from_api(self._get(path, ACCEPT_LOOKUP_FULL if full else ACCEPT_LOOKUP))

    def list_schemas(
        self, *, container: Container = "tenant", orderby: str = "title", limit: int = 100
    ) -> Iterator[Schema]:
        """GET /{container}/schemas (summaries: id, alt id, version, title), every page."""
        return self._list(f"/{container}/schemas", Schema.from_api, orderby, limit)

    def delete_schema(self, schema_id: str) -> None:
        """DELETE /tenant/schemas/{id} (answers 204)."""
        self._delete(f"/tenant/schemas/{quote(schema_id, safe='')}")

    def create_descriptor(self, body: Mapping[str, Any]) -> str:
        """POST /tenant/descriptors (e.g. an `xdm:descriptorIdentity`); returns its `@id`."""
        answer = self._post("/tenant/descriptors", body) or {}
        return str(answer.get("@id") or answer.get("id") or "")

    def delete_descriptor(self, descriptor_id: str) -> None:
        """DELETE /tenant/descriptors/{id} (answers 204)."""
        self._delete(f"/tenant/descriptors/{quote(descriptor_id, safe='')}")
