"""IMS OAuth server-to-server tokens: issuing, rejecting bad credentials, expiry."""

from __future__ import annotations

import time

import pytest
import requests

from emulators.aep.testing import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_ORG_ID,
    FLOW_SERVICE,
    start_aep_emulator,
)


def _token_request(url: str, **overrides: str) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "scope": "openid,AdobeID,read_organizations",
        **overrides,
    }
    return requests.post(f"{url}/ims/token/v3", data=form, timeout=10)


def _platform_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "x-api-key": DEMO_CLIENT_ID,
        "x-gw-ims-org-id": DEMO_ORG_ID,
        "x-sandbox-name": "prod",
    }


def test_good_credentials_get_a_bearer_token_with_lifetime_in_seconds(aep_server):
    response = _token_request(aep_server.url)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert len(body["access_token"]) > 20
    listed = requests.get(
        f"{aep_server.url}{FLOW_SERVICE}/connections",
        headers=_platform_headers(body["access_token"]),
        timeout=10,
    )
    assert listed.status_code == 200


def test_each_request_gets_a_different_token(aep_server):
    first = _token_request(aep_server.url).json()["access_token"]
    second = _token_request(aep_server.url).json()["access_token"]
    assert first != second


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong-secret"}, 401, "invalid_client"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"client_id": ""}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ],
)
def test_bad_requests_get_oauth_errors(aep_server, overrides, status, error):
    response = _token_request(aep_server.url, **overrides)

    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "access_token" not in body


def test_parameters_may_also_come_in_the_query_string(aep_server):
    response = requests.post(
        f"{aep_server.url}/ims/token/v3",
        params={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
        timeout=10,
    )
    assert response.status_code == 200


def test_tokens_expire_after_their_lifetime(tmp_path, stripe_server):
    server = start_aep_emulator(tmp_path, stripe_server.url, token_lifetime=1)
    try:
        body = _token_request(server.url).json()
        assert body["expires_in"] == 1
        headers = _platform_headers(body["access_token"])
        url = f"{server.url}{FLOW_SERVICE}/connections"
        assert requests.get(url, headers=headers, timeout=10).status_code == 200

        time.sleep(1.2)
        expired = requests.get(url, headers=headers, timeout=10)

        assert expired.status_code == 401
        assert expired.json() == {"error_code": "401013", "message": "Oauth token is not valid"}
        fresh = _platform_headers(_token_request(server.url).json()["access_token"])
        assert requests.get(url, headers=fresh, timeout=10).status_code == 200
    finally:
        server.stop()


def test_tokens_survive_a_restart_of_the_emulator(tmp_path, stripe_server):
    server = start_aep_emulator(tmp_path, stripe_server.url)
    token = _token_request(server.url).json()["access_token"]
    server.stop()
    restarted = start_aep_emulator(tmp_path, stripe_server.url)
    try:
        response = requests.get(
            f"{restarted.url}{FLOW_SERVICE}/connections",
            headers=_platform_headers(token),
            timeout=10,
        )
        assert response.status_code == 200
    finally:
        restarted.stop()
