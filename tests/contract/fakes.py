"""A stand-in Platform for the contract tests: answers every call with the smallest valid body,
so each client method can run to completion while its requests are recorded."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from aep import AEPClient, AEPConfig, MemoryTokenCache

PLATFORM = "https://platform.adobe.io"
IMS = "https://ims-na1.adobelogin.com"
ETAG = '"1a0037e4-0000-0200-0000-602e06f60000"'


def make_client() -> AEPClient:
    config = AEPConfig(
        platform_url=PLATFORM,
        ims_url=IMS,
        client_id="client-id",
        client_secret="client-secret",
        org_id="ORG@AdobeOrg",
        sandbox_name="prod",
        scope="openid,AdobeID,read_organizations",
    )
    return AEPClient(config, token_cache=MemoryTokenCache())


def sent_to_platform(rsps: responses.RequestsMock) -> list[Any]:
    return [c.request for c in rsps.calls if not c.request.url.startswith(IMS)]


def install(rsps: responses.RequestsMock) -> None:
    for method in ("GET", "POST", "PATCH", "DELETE", "PUT"):
        rsps.add_callback(method, re.compile(r"https://.*"), callback=_answer)


def _first_page(request: Any) -> bool:
    query = parse_qs(urlsplit(request.url).query)
    return "continuationToken" not in query and query.get("start", ["0"]) == ["0"]


def _flow_service_answer(request: Any, path: str) -> tuple[int, Any]:
    query = parse_qs(urlsplit(request.url).query)
    entity = {"id": "x-1", "name": "n"}
    if request.method == "POST" and path.endswith("/action"):
        return 200, {"id": "x-2", "etag": ETAG}
    if request.method == "POST":
        return 201, {"id": "x-1", "etag": ETAG}
    if request.method == "PATCH":
        return 200, {"id": "x-1", "etag": ETAG}
    if request.method == "DELETE":
        return 204, None
    if path.endswith("/test"):
        return 200, {"result": True}
    if path.endswith("/explore"):
        return 200, {"format": "hierarchical", "schema": {"type": "object"}, "data": []}
    if query.get("count") == ["true"]:
        return 200, {"count": 1}
    if re.search(r"/(connections|sourceConnections|targetConnections|flows|runs|\w+Specs)$", path):
        links = {"next": {"href": f"{path}?continuationToken=abc"}} if _first_page(request) else {}
        return 200, {"items": [entity], "_links": links}
    return 200, {"items": [entity]}


def _data_prep_answer(request: Any, path: str) -> tuple[int, Any]:
    if request.method == "DELETE":
        return 204, None
    if path.endswith("/validate"):
        return 200, {"validationResponse": [{"status": "SUCCESS", "errors": None}]}
    if path.endswith("/preview"):
        return 200, [{"data": {}, "errors": None}]
    if request.method == "POST":
        return 200, {"id": "map-1", "version": 0, "createdDate": 1709860257007}
    if request.method == "PUT":
        return 200, {"id": "map-1", "version": 1, "modifiedDate": 1709860257007}
    if path.endswith("/mappingSets"):
        return 200, {"data": [{"id": "map-1", "version": 0}] if _first_page(request) else []}
    return 200, {"id": "map-1", "version": 0}


def _registry_answer(request: Any, path: str) -> tuple[int, Any]:
    resource = {"$id": "https://ns.adobe.com/acme/x", "title": "t", "version": "1.0"}
    if path.endswith("/stats"):
        return 200, {"tenantId": "acme", "imsOrg": "ORG@AdobeOrg"}
    if request.method == "POST":
        return 201, resource
    if request.method == "DELETE":
        return 204, None
    if re.search(r"/(schemas|classes|fieldgroups)$", path):
        next_start = "B" if "start" not in parse_qs(urlsplit(request.url).query) else None
        return 200, {"results": [resource], "_page": {"next": next_start}}
    return 200, resource


def _catalog_answer(request: Any, path: str) -> tuple[int, Any]:
    if request.method == "POST":
        return 201, ["@/dataSets/ds-1"]
    if request.method == "DELETE":
        return 200, ["@/dataSets/ds-1"]
    if path.endswith("/dataSets"):
        return 200, {"ds-1": {"name": "n"}} if _first_page(request) else {}
    return 200, {"ds-1": {"name": "n"}}


ANSWERS = {
    "/data/foundation/flowservice": _flow_service_answer,
    "/data/foundation/conversion": _data_prep_answer,
    "/data/foundation/schemaregistry": _registry_answer,
    "/data/foundation/catalog": _catalog_answer,
}


def _answer(request: Any) -> tuple[int, dict[str, str], str]:
    path = urlsplit(request.url).path
    if request.url.startswith(IMS):
        return 200, {}, json.dumps({"access_token": "token", "expires_in": 86399})
    for base, answer in ANSWERS.items():
        if path.startswith(base):
            status, payload = answer(request, path)
            return status, {}, "" if payload is None else json.dumps(payload)
    return 404, {}, "{}"
