"""Exception tree for every failure the AEP client can raise.

Celery pickles exceptions to move them between processes, so every class keeps ``message`` as
the first positional argument and defines ``__reduce__`` with its full constructor arguments.
``retryable`` tells a task whether trying again later can succeed (connection problems, 429,
5xx); everything else is permanent and should be recorded, not retried.
"""

from __future__ import annotations

from typing import Any


class AEPError(Exception):
    """Base class: something went wrong talking to Adobe Experience Platform."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.code = code
        self.body = body

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.message, self.status_code, self.request_id, self.code, self.body),
        )

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}" if self.code else self.message
        if self.request_id:
            text = f"Request {self.request_id}: {text}"
        return text


class AEPConnectionError(AEPError):
    """The request never got an HTTP answer (DNS, refused, reset)."""

    retryable = True


class AEPTimeout(AEPConnectionError):
    """Connect or read timeout."""


class AEPAPIError(AEPError):
    """Adobe answered with an HTTP error status."""


class BadRequestError(AEPAPIError):
    """400: the request was rejected as invalid."""


class AuthenticationError(AEPAPIError):
    """401: the access token is missing, expired or not valid for the org."""


class PermissionDeniedError(AEPAPIError):
    """403: the credential lacks a permission or product profile."""


class NotFoundError(AEPAPIError):
    """The entity does not exist (or was deleted): a 404, or a not-found code at any status
    (see `quirks.is_not_found_code`)."""


class ConflictError(AEPAPIError):
    """409: the entity is in a state that forbids the change."""


class PreconditionFailedError(AEPAPIError):
    """412: the If-Match etag is stale; re-read the entity and apply the change again."""


class RateLimitError(AEPAPIError):
    """429: throttled; ``retry_after`` carries the server's hint in seconds, if it sent one."""

    retryable = True

    def __init__(
        self,
        message: str,
        status_code: int | None = 429,
        request_id: str | None = None,
        code: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code, request_id, code, body)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (
                self.message,
                self.status_code,
                self.request_id,
                self.code,
                self.body,
                self.retry_after,
            ),
        )


class ServerError(AEPAPIError):
    """5xx: Adobe failed; usually transient."""

    retryable = True


class IMSAuthError(AEPError):
    """The IMS token endpoint refused to issue a token.

    Bad credentials (4xx) are permanent; an IMS outage (429/5xx) is worth retrying, so
    ``retryable`` is decided per instance from the status code.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, status_code, request_id, code, body)
        self.retryable = status_code is not None and (status_code == 429 or status_code >= 500)


STATUS_ERRORS: dict[int, type[AEPAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    429: RateLimitError,
}


def error_class_for_status(status_code: int) -> type[AEPAPIError]:
    """Pick the exception class for an HTTP error status."""
    if status_code >= 500:
        return ServerError
    return STATUS_ERRORS.get(status_code, AEPAPIError)
