"""AEP calls support operations need that the aep client does not offer yet, and request ids.

They go through the client's own HTTP layer (`client.http.call`), so headers, token refresh
and error mapping are the same as for every other call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from aep import AEPClient
from aep.types import MappingSet

DATAPREP = "/data/foundation/conversion"
CATALOG = "/data/foundation/catalog"
REGISTRY = "/data/foundation/schemaregistry"


def update_mapping_set(client: AEPClient, mapping_set_id: str, body: Mapping[str, Any]) -> int:
    """PUT /mappingSets/{id}: replaces the mappings and answers the new version number."""
    url = client.config.service_url(f"{DATAPREP}/mappingSets/{quote(mapping_set_id, safe='')}")
    answer = client.http.call("PUT", url, json=dict(body)) or {}
    if "version" in answer:
        return MappingSet.from_api({"id": mapping_set_id, **answer}).version
    return client.dataprep.get_mapping_set(mapping_set_id).version


def delete_mapping_set(client: AEPClient, mapping_set_id: str) -> None:
    """DELETE /mappingSets/{id} (used by aepp; not in the published spec)."""
    url = client.config.service_url(f"{DATAPREP}/mappingSets/{quote(mapping_set_id, safe='')}")
    client.http.call("DELETE", url)


def delete_dataset(client: AEPClient, dataset_id: str) -> None:
    """DELETE /dataSets/{id} in Catalog (the dataset and its batches)."""
    url = client.config.service_url(f"{CATALOG}/dataSets/{quote(dataset_id, safe='')}")
    client.http.call("DELETE", url)


def delete_schema(client: AEPClient, schema_id: str) -> None:
    """DELETE /tenant/schemas/{$id}; the registry refuses while datasets still use it."""
    url = client.config.service_url(f"{REGISTRY}/tenant/schemas/{quote(schema_id, safe='')}")
    client.http.call("DELETE", url)


class RequestIds:
    """Remembers Adobe's request id of the latest answer, for the audit trail.

    The client's methods return parsed objects only, so the id is taken from the response
    headers through a session hook.
    """

    def __init__(self, client: AEPClient) -> None:
        self.last = ""
        client.session.hooks.setdefault("response", []).append(self._remember)

    def _remember(self, response: requests.Response, *args, **kwargs) -> None:
        self.last = response.headers.get("x-request-id", "") or self.last

    def take(self) -> str:
        value, self.last = self.last, ""
        return value
