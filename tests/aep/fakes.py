"""Shared helpers for the aep unit tests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from aep import AEPConfig

PLATFORM = "https://platform.test"
IMS = "https://ims.test"
FLOW = f"{PLATFORM}/data/foundation/flowservice"
CONVERSION = f"{PLATFORM}/data/foundation/conversion"
REGISTRY = f"{PLATFORM}/data/foundation/schemaregistry"
CATALOG = f"{PLATFORM}/data/foundation/catalog"
TOKEN_URL = f"{IMS}/ims/token/v3"
SECRET = "p8e-very-secret-value"
TOKEN = "eyJ-test-access-token"


def make_config(**overrides: Any) -> AEPConfig:
    values: dict[str, Any] = {
        "platform_url": PLATFORM,
        "ims_url": IMS,
        "client_id": "client-123",
        "client_secret": SECRET,
        "org_id": "ORG123@AdobeOrg",
        "sandbox_name": "dev",
        "scope": "openid,AdobeID,read_organizations",
    }
    values.update(overrides)
    return AEPConfig(**values)


def add_token(rsps: responses.RequestsMock, token: str = TOKEN, expires_in: int = 86399) -> None:
    rsps.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": token, "token_type": "bearer", "expires_in": expires_in},
    )


def platform_calls(rsps: responses.RequestsMock) -> list[Any]:
    """Recorded requests, minus IMS token fetches."""
    return [call.request for call in rsps.calls if not call.request.url.startswith(IMS)]


def last_request(rsps: responses.RequestsMock) -> Any:
    return platform_calls(rsps)[-1]


def query(request: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


def path(request: Any) -> str:
    return urlsplit(request.url).path


def body(request: Any) -> Any:
    return json.loads(request.body)
