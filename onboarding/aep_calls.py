"""AEP calls the wizard needs that the `aep` client does not offer yet.

They go through the client's own HTTP layer (`client.http.call`), so headers, token refresh
and error mapping are the same as for every other call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import quote

from aep import AEPClient
from aep.types import MappingPreview, MappingValidation

REGISTRY = "/data/foundation/schemaregistry"
CATALOG = "/data/foundation/catalog"
CONVERSION = "/data/foundation/conversion"
ACCEPT_LIST = "application/vnd.adobe.xed-id+json"

RegistryKind = Literal["classes", "fieldgroups", "schemas"]


def _url(client: AEPClient, base: str, path: str) -> str:
    return client.config.service_url(base) + path


def list_tenant(client: AEPClient, kind: RegistryKind, limit: int = 300) -> Iterator[dict]:
    """`GET /tenant/{kind}` summaries (`$id`, `title`), following `_page.next`."""
    params: list[tuple[str, Any]] = [("orderby", "title"), ("limit", limit)]
    seen: set[str] = set()
    while True:
        body = (
            client.http.call(
                "GET",
                _url(client, REGISTRY, f"/tenant/{kind}"),
                params=params,
                headers={"Accept": ACCEPT_LIST},
            )
            or {}
        )
        yield from body.get("results") or ()
        start = (body.get("_page") or {}).get("next")
        if not start or str(start) in seen:
            return
        seen.add(str(start))
        params = [("orderby", "title"), ("limit", limit), ("start", start)]


def find_tenant_by_title(client: AEPClient, kind: RegistryKind, title: str) -> str | None:
    for item in list_tenant(client, kind):
        if item.get("title") == title:
            return item.get("$id")
    return None


def delete_tenant(client: AEPClient, kind: RegistryKind, resource_id: str) -> None:
    """`DELETE /tenant/{kind}/{id}` (the `$id` URL-encoded, as lookups address it)."""
    url = _url(client, REGISTRY, f"/tenant/{kind}/{quote(resource_id, safe='')}")
    client.http.call("DELETE", url, headers={"Accept": "application/json"})


def delete_dataset(client: AEPClient, dataset_id: str) -> None:
    client.http.call("DELETE", _url(client, CATALOG, f"/dataSets/{quote(dataset_id, safe='')}"))


def delete_mapping_set(client: AEPClient, mapping_set_id: str) -> None:
    url = _url(client, CONVERSION, f"/mappingSets/{quote(mapping_set_id, safe='')}")
    client.http.call("DELETE", url)


def validate_mappings(client: AEPClient, body: Mapping[str, Any]) -> tuple[MappingValidation, ...]:
    """`POST /mappingSets/validate`; unlike the client, allows a body without an output schema
    (the wizard checks mappings before the schema they will write to exists)."""
    answer = (
        client.http.call("POST", _url(client, CONVERSION, "/mappingSets/validate"), json=dict(body))
        or {}
    )
    return tuple(MappingValidation.from_api(v) for v in answer.get("validationResponse") or ())


def preview_mappings(
    client: AEPClient, body: Mapping[str, Any], records: list[Mapping[str, Any]]
) -> tuple[MappingPreview, ...]:
    """`POST /mappingSets/preview` on sample records (schema optional, as for validate)."""
    request = {"data": [dict(r) for r in records], "mappingSet": dict(body)}
    answer = (
        client.http.call("POST", _url(client, CONVERSION, "/mappingSets/preview"), json=request)
        or []
    )
    return tuple(MappingPreview.from_api(item) for item in answer)
