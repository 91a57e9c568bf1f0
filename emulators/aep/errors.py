"""Error bodies in the shapes the platform returns them.

Two families exist: the gateway's ``{"error_code", "message"}`` (authentication and headers,
before any service sees the call) and the services' RFC 7807-like problem bodies. Flow Service
adds ``errorMessage``/``errorDetails``; Schema Registry uses ``detail`` and a registry report.
"""

from __future__ import annotations

import time
from typing import Any

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Resource not found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Problem-type prefixes per service base path.
SERVICE_PREFIXES = {
    "flowservice": "FLOW",
    "conversion": "MAPPER",
    "schemaregistry": "XDM",
    "catalog": "CAT",
    "export": "EXPORT",
    "idnamespace": "IDENTITY",
}


class ApiError(Exception):
    """A service error; ``code`` is the number before the HTTP status (``1403`` of 1403-400)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        title: str | None = None,
        report: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.title = title or TITLES.get(status, "Error")
        self.report = report or {}
        self.headers = headers or {}


class GatewayError(Exception):
    """An Adobe I/O gateway error, raised before the call reaches a service."""

    def __init__(
        self, status: int, error_code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


def service_of(path: str) -> str | None:
    """``flowservice`` for ``/data/foundation/flowservice/...`` (``idnamespace`` for Identity
    Service's ``/data/core/idnamespace/...``); None outside the platform."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "data" and parts[1] in ("foundation", "core"):
        return parts[2] if parts[2] in SERVICE_PREFIXES else None
    return None


def problem_body(error: ApiError, service: str | None, request_id: str) -> dict[str, Any]:
    if service == "schemaregistry":
        return _schema_registry_body(error, request_id)
    if service == "flowservice":
        return _flow_service_body(error, request_id)
    prefix = SERVICE_PREFIXES.get(service or "", "PLATFORM")
    return {
        "type": f"https://ns.adobe.com/aep/errors/{prefix}-{error.code}-{error.status}",
        "title": error.title,
        "status": error.status,
        "detail": error.message,
        "report": {"detailed-message": error.message, "request-id": request_id, **error.report},
    }


def _flow_service_body(error: ApiError, request_id: str) -> dict[str, Any]:
    return {
        "type": f"https://ns.adobe.com/aep/errors/FLOW-{error.code}-{error.status}",
        "title": error.title,
        "status": error.status,
        "report": {"detailed-message": error.message, "request-id": request_id, **error.report},
        "errorMessage": error.message,
        "errorDetails": error.message,
    }


def _schema_registry_body(error: ApiError, request_id: str) -> dict[str, Any]:
    return {
        "type": f"http://ns.adobe.com/aep/errors/XDM-{error.code}-{error.status}",
        "title": error.title,
        "status": error.status,
        "report": {
            "registryRequestId": request_id,
            "timestamp": time.strftime("%m-%d-%Y %H:%M:%S", time.gmtime()),
            "detailed-message": error.message,
            "sub-errors": [],
            **error.report,
        },
        "detail": error.message,
    }


def not_found(kind: str, entity_id: str, *, as_400: bool = False) -> ApiError:
    """Flow Service serves 'flow not found' as FLOW-1439-404; other kinds use 1101-404.

    ``as_400``: the error table's other spelling, ``1439-400`` "Resource not found", for any
    kind (sources/errors/flow-service-errors.md; variance.NOT_FOUND_AS_400).
    """
    message = (
        f"The requested {kind} resource {entity_id} is not found. "
        "Verify the resource ID before trying again."
    )
    report = {"id": entity_id, "type": kind}
    if as_400:
        return ApiError(400, "1439", message, title="Resource not found", report=report)
    code = "1439" if kind == "flows" else "1101"
    return ApiError(404, code, message, report=report)


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


class RawError(Exception):
    """An error whose body has its own shape (the content-type check, IMS errors)."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}
