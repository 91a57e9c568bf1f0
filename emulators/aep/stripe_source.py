"""Reading the Stripe source for ``explore`` and ``test``, and turning Stripe failures into
Flow Service errors the dashboard can show as they are."""

from __future__ import annotations

from typing import Any

import requests

from emulators.aep.errors import ApiError

SAMPLE_SIZE = 100


class StripeSourceError(Exception):
    def __init__(self, status: int | None, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def fetch_sample(
    api_base: str,
    access_token: str,
    resource_path: str,
    *,
    timeout: float,
    limit: int = SAMPLE_SIZE,
) -> list[dict[str, Any]]:
    """The newest ``limit`` objects of one resource (one list page)."""
    url = f"{api_base.rstrip('/')}/v1/{resource_path}"
    try:
        response = requests.get(
            url,
            params={"limit": limit},
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise StripeSourceError(None, f"Stripe could not be reached: {exc}") from exc
    if response.status_code >= 400:
        raise StripeSourceError(
            response.status_code, _stripe_message(response), response.headers.get("Retry-After")
        )
    data = response.json().get("data")
    if not isinstance(data, list):
        raise StripeSourceError(None, f"Stripe answered {url} without a 'data' list.")
    return data


def _stripe_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return response.text[:200] or response.reason
    return str(error.get("message") or response.reason)


def as_flow_error(error: StripeSourceError, resource_path: str) -> ApiError:
    """Stripe's 401/403/429/5xx as Flow Service problems; never a 401 (that means the AEP token)."""
    if error.status == 401:
        return ApiError(
            400,
            "1601",
            "Stripe rejected the account's access token (HTTP 401): "
            f"{error.message} Update the connection's access token and try again.",
        )
    if error.status == 403:
        return ApiError(
            400,
            "1602",
            f"The Stripe access token is not allowed to read '{resource_path}' (HTTP 403): "
            f"{error.message} Use a secret key or a restricted key with read access.",
        )
    if error.status == 429:
        headers = {"Retry-After": error.retry_after} if error.retry_after else {}
        return ApiError(
            429,
            "1603",
            f"Stripe is rate limiting this account (HTTP 429): {error.message} Retry later.",
            headers=headers,
        )
    if error.status is not None and error.status < 500:
        return ApiError(
            400, "1605", f"Stripe refused the request for '{resource_path}': {error.message}"
        )
    return ApiError(502, "1604", f"The Stripe source is unavailable: {error.message}")
