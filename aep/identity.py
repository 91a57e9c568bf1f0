"""Identity Service namespaces (base path /data/core/idnamespace).

A namespace says what kind of identity a field holds (`Email`, `Phone`, a custom one); identity
descriptors name it by its `code`. Adobe's Identity Service API reference and aepp's
`Identity.getIdentities` / `createIdentity` give the shapes: the list is a plain JSON array.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aep.http import AEPHttp
from aep.types import IdentityNamespace


class IdentityClient:
    BASE_PATH = "/data/core/idnamespace"

    def __init__(self, http: AEPHttp) -> None:
        self._http = http
        self._base = http.config.service_url(self.BASE_PATH)

    def list_namespaces(self) -> list[IdentityNamespace]:
        """GET /identities: every namespace the sandbox can use, standard and custom."""
        body = self._http.call("GET", f"{self._base}/identities") or []
        items = body if isinstance(body, list) else (body.get("items") or [])
        return [IdentityNamespace.from_api(item) for item in items if isinstance(item, Mapping)]

    def create_namespace(self, body: Mapping[str, Any]) -> IdentityNamespace:
        """POST /identities (`payloads.identity_namespace`)."""
        answer = self._http.call("POST", f"{self._base}/identities", json=dict(body))
        return IdentityNamespace.from_api(answer or dict(body))
