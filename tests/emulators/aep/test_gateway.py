"""The gateway checks in front of every platform call, with Adobe's codes and bodies."""

from __future__ import annotations

import pytest
import requests

from emulators.aep.testing import (
    CATALOG,
    DEMO_CLIENT_ID,
    DEMO_ORG_ID,
    FLOW_SERVICE,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    OTHER_ORG_ID,
    SCHEMA_REGISTRY,
    fetch_token,
)


@pytest.fixture(scope="module")
def demo_token(aep_server) -> str:
    return fetch_token(aep_server.url)


@pytest.fixture(scope="module")
def headers(demo_token) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {demo_token}",
        "x-api-key": DEMO_CLIENT_ID,
        "x-gw-ims-org-id": DEMO_ORG_ID,
        "x-sandbox-name": "prod",
    }


def _get(server, headers: dict[str, str], path: str = f"{FLOW_SERVICE}/flows"):
    return requests.get(server.url + path, headers=headers, timeout=10)


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


@pytest.mark.parametrize(
    ("change", "status", "body"),
    [
        (
            lambda h: _without(h, "Authorization"),
            403,
            {"error_code": "403010", "message": "Oauth token is missing."},
        ),
        (
            lambda h: {**h, "Authorization": "Bearer not-a-token"},
            401,
            {"error_code": "401013", "message": "Oauth token is not valid"},
        ),
        (
            lambda h: {**h, "Authorization": "Basic dXNlcjpwYXNz"},
            401,
            {"error_code": "401013", "message": "Oauth token is not valid"},
        ),
        (
            lambda h: _without(h, "x-api-key"),
            403,
            {"error_code": "403000", "message": "Api Key is required"},
        ),
        (
            lambda h: {**h, "x-api-key": "unknown-client"},
            403,
            {"error_code": "403003", "message": "Api Key is invalid"},
        ),
        (
            # A configured API key, but not the client the token was issued to.
            lambda h: {**h, "x-api-key": OTHER_CLIENT_ID},
            403,
            {"error_code": "403003", "message": "Api Key is invalid"},
        ),
        (
            lambda h: _without(h, "x-gw-ims-org-id"),
            400,
            {"error_code": "400003", "message": "Missing header"},
        ),
    ],
    ids=[
        "token-missing",
        "token-invalid",
        "not-bearer",
        "api-key-missing",
        "api-key-unknown",
        "api-key-of-another-client",
        "org-missing",
    ],
)
def test_gateway_errors(aep_server, headers, change, status, body):
    response = _get(aep_server, change(headers))

    assert response.status_code == status
    assert response.json() == body


def test_a_token_used_for_another_org_is_refused(aep_server, headers):
    response = _get(aep_server, {**headers, "x-gw-ims-org-id": OTHER_ORG_ID})

    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-2000-401"
    assert OTHER_ORG_ID in body["errorMessage"]


def test_missing_sandbox_header(aep_server, headers):
    response = _get(aep_server, _without(headers, "x-sandbox-name"))

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-2105-400"
    assert body["status"] == 400
    assert "x-sandbox-name" in body["report"]["detailed-message"]
    assert body["errorMessage"] == body["errorDetails"] == body["report"]["detailed-message"]


def test_unknown_sandbox(aep_server, headers):
    response = _get(aep_server, {**headers, "x-sandbox-name": "staging"})

    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-2100-404"
    assert "staging" in body["errorMessage"]


def test_the_other_org_has_its_own_credentials(aep_server):
    token = fetch_token(aep_server.url, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)
    other = {
        "Authorization": f"Bearer {token}",
        "x-api-key": OTHER_CLIENT_ID,
        "x-gw-ims-org-id": OTHER_ORG_ID,
        "x-sandbox-name": "prod",
    }
    assert _get(aep_server, other).status_code == 200
    # The other org has no dev sandbox.
    assert _get(aep_server, {**other, "x-sandbox-name": "dev"}).status_code == 404


def test_request_id_is_echoed_or_generated(aep_server, headers):
    echoed = _get(aep_server, {**headers, "x-request-id": "my-request-1"})
    generated = _get(aep_server, headers)

    assert echoed.headers["x-request-id"] == "my-request-1"
    assert len(generated.headers["x-request-id"]) >= 16
    failed = _get(aep_server, {**headers, "x-sandbox-name": "nope", "x-request-id": "req-2"})
    assert failed.json()["report"]["request-id"] == "req-2"


def test_bodies_need_a_json_content_type(aep_server, headers):
    response = requests.post(
        f"{aep_server.url}{FLOW_SERVICE}/connections",
        headers={**headers, "Content-Type": "text/plain"},
        data='{"name": "x"}',
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json() == {
        "type": "/placeholder/type/uri",
        "status": 400,
        "title": "BadRequestError",
        "detail": "A valid content-type must be specified",
    }


def test_other_services_use_their_own_problem_shapes(aep_server, headers):
    schema = _get(
        aep_server, {**headers, "x-sandbox-name": "nope"}, f"{SCHEMA_REGISTRY}/tenant/schemas"
    )
    catalog = _get(aep_server, {**headers, "x-sandbox-name": "nope"}, f"{CATALOG}/dataSets")

    assert schema.json()["type"] == "http://ns.adobe.com/aep/errors/XDM-2100-404"
    assert "registryRequestId" in schema.json()["report"]
    assert catalog.json()["type"] == "https://ns.adobe.com/aep/errors/CAT-2100-404"
    assert catalog.json()["detail"]


def test_gateway_checks_come_before_unknown_routes(aep_server, headers):
    anonymous = _get(aep_server, {}, f"{FLOW_SERVICE}/no-such-thing")
    known = _get(aep_server, headers, f"{FLOW_SERVICE}/no-such-thing")

    assert anonymous.status_code == 403
    assert known.status_code == 404
    assert known.json()["type"].startswith("https://ns.adobe.com/aep/errors/FLOW-")
