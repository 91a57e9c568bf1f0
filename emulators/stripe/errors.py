"""Stripe-shaped errors: ``{"error": {"type", "code", "message", "param", ...}}``."""

from __future__ import annotations

from typing import Any

DOCS_ERROR_CODES = "https://stripe.com/docs/error-codes/"
SUPPORT = "https://support.stripe.com/"


class StripeError(Exception):
    """An error the stand-in answers with Stripe's error body and status code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        # Stripe leaves out keys that have no value rather than sending nulls.
        error: dict[str, Any] = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOCS_ERROR_CODES + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error["type"] = self.type
        return {"error": error}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None):
    return StripeError(400, message, param=param, code=code)


def resource_missing(label: str, object_id: str, *, param: str, status: int) -> StripeError:
    return StripeError(
        status, f"No such {label}: '{object_id}'", code="resource_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        f"or we can help at {SUPPORT}.",
    )


def missing_key() -> StripeError:
    return StripeError(
        401,
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). "
        "See https://stripe.com/docs/api#authentication for details, "
        f"or we can help at {SUPPORT}.",
    )


def invalid_key(redacted: str) -> StripeError:
    return StripeError(401, f"Invalid API Key provided: {redacted}")


def expired_key(redacted: str) -> StripeError:
    # The notes distinguish a deleted/expired key (authentication error) from an unknown one.
    return StripeError(
        401,
        f"Expired API Key provided: {redacted}",
        type="authentication_error",
        code="api_key_expired",
    )


def missing_permission(redacted: str, account: str, permission: str) -> StripeError:
    # Real Stripe sends type invalid_request_error with a 403; SDKs raise PermissionError.
    return StripeError(
        403,
        f"The provided key '{redacted}' does not have the required permissions for this "
        f"endpoint on account '{account}'. Having the '{permission}' permission would allow "
        "this request to continue.",
    )


def no_account_access(redacted: str, account: str) -> StripeError:
    return StripeError(
        403,
        f"The provided key '{redacted}' does not have access to account '{account}' "
        "(or that account does not exist). Application access may have been revoked.",
    )


def rate_limited(livemode: bool) -> StripeError:
    more = "You can learn more about rate limits here https://stripe.com/docs/rate-limits."
    if livemode:
        message = f"Request rate limit exceeded. {more}"
    else:
        message = (
            "Testmode request rate limit exceeded, the rate limits in testmode are lower than "
            f"livemode. {more}"
        )
    return StripeError(429, message, code="rate_limit")
