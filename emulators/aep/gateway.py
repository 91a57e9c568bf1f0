"""Adobe IMS token endpoint and the gateway checks every platform call goes through.

The checks run in the order the real gateway reports them: bearer token present, API key present
and known, token valid and unexpired, token issued to that API key, org header present and the
token's org, then (per service) the sandbox header.
"""

from __future__ import annotations

import secrets
import time

from flask import Blueprint, jsonify, request

from emulators.aep.context import Caller, emulator
from emulators.aep.errors import ApiError, GatewayError, RawError
from emulators.aep.settings import Org, Sandbox

ims = Blueprint("ims", __name__)

TOKEN_MISSING = (403, "403010", "Oauth token is missing.")
TOKEN_INVALID = (401, "401013", "Oauth token is not valid")
API_KEY_MISSING = (403, "403000", "Api Key is required")
API_KEY_INVALID = (403, "403003", "Api Key is invalid")
ORG_MISSING = (400, "400003", "Missing header")


@ims.post("/ims/token/v3")
def issue_token():
    params = request.form if request.form else request.args
    if params.get("grant_type") != "client_credentials":
        raise _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client_id = params.get("client_id", "")
    if not client_id:
        raise _oauth_error(400, "invalid_request", "client_id is required")
    org = emulator().settings.org_by_client(client_id)
    if org is None:
        raise _oauth_error(401, "invalid_client", "invalid client_id parameter")
    if not secrets.compare_digest(params.get("client_secret", ""), org.client_secret):
        raise _oauth_error(401, "invalid_client", "invalid client_secret parameter")
    lifetime = emulator().settings.token_lifetime
    token = secrets.token_urlsafe(48)
    issued = time.time()
    emulator().store.save_token(token, client_id, org.ims_org_id, issued, issued + lifetime)
    return jsonify({"access_token": token, "token_type": "bearer", "expires_in": lifetime})


def _oauth_error(status: int, error: str, description: str) -> RawError:
    return RawError(status, {"error": error, "error_description": description})


def authenticate() -> Caller:
    """Run the gateway and sandbox checks; returns the caller or raises the platform's error."""
    settings = emulator().settings
    token = _bearer_token()
    api_key = request.headers.get("x-api-key", "").strip()
    if not api_key:
        raise GatewayError(*API_KEY_MISSING)
    if settings.org_by_client(api_key) is None:
        raise GatewayError(*API_KEY_INVALID)
    row = emulator().store.find_token(token)
    if row is None or row["expires_at"] <= time.time():
        raise GatewayError(*TOKEN_INVALID)
    if row["client_id"] != api_key:
        raise GatewayError(*API_KEY_INVALID)
    org_id = request.headers.get("x-gw-ims-org-id", "").strip()
    if not org_id:
        raise GatewayError(*ORG_MISSING)
    if org_id != row["org"]:
        raise ApiError(
            401,
            "2000",
            f"The access token is not valid for the organization {org_id}. "
            "Use a token issued for this organization.",
        )
    org = settings.org_by_id(org_id)
    assert org is not None  # the token was issued for a configured org
    return Caller(org, _sandbox(org), api_key)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise GatewayError(*TOKEN_MISSING)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GatewayError(*TOKEN_INVALID)
    return token.strip()


def _sandbox(org: Org) -> Sandbox:
    name = request.headers.get("x-sandbox-name", "").strip()
    if not name:
        raise ApiError(400, "2105", "The header 'x-sandbox-name' is missing in the request.")
    sandbox = org.sandbox(name)
    if sandbox is None:
        raise ApiError(
            404, "2100", f"The sandbox '{name}' is not found in the organization {org.ims_org_id}."
        )
    return sandbox


def check_content_type() -> None:
    """Bodies must be sent as JSON; bodiless action calls may omit the header."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.get_data():
        return
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return
    raise RawError(
        400,
        {
            "type": "/placeholder/type/uri",
            "status": 400,
            "title": "BadRequestError",
            "detail": "A valid content-type must be specified",
        },
    )
