"""Errors as RFC 9457 problem details (application/problem+json).

Statuses as the pages use them: 400 a body that is not JSON, 401 no valid token, 403 the role
may not, 404 no such object, 409 the object is busy or not in a state for this, 412 the
If-Match etag is not the current one, 422 the input is invalid, 429 too many requests.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is busy or not in a state for this action."
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


class Invalid(exceptions.APIException):
    """422: the input is well-formed JSON but not acceptable, with errors per field."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The input is invalid."
    default_code = "invalid"

    def __init__(self, errors: dict | None = None, detail: str | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or {}


def problem(status_code: int, detail: str, **extra) -> dict:
    return {
        "type": "about:blank",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        **extra,
    }


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        # Bad input is 422, as the pages answer an invalid form.
        exc = Invalid(_field_errors(exc.detail))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    extra = {"errors": exc.errors} if isinstance(exc, Invalid) and exc.errors else {}
    body = problem(response.status_code, _detail_text(exc), **extra)
    return Response(
        body,
        status=response.status_code,
        headers=_kept_headers(response),
        content_type=CONTENT_TYPE,
    )


def _detail_text(exc) -> str:
    detail = getattr(exc, "detail", "")
    if isinstance(detail, (list, dict)):
        return str(exc.default_detail)
    return str(detail)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(m) for m in _as_list(value)] for key, value in detail.items()}
    return {"non_field_errors": [str(m) for m in _as_list(detail)]}


def _as_list(value) -> list:
    if isinstance(value, list):
        return [m for item in value for m in _as_list(item)]
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _as_list(v)]
    return [value]


def _kept_headers(response) -> dict:
    return {
        name: response[name]
        for name in ("WWW-Authenticate", "Retry-After", "Allow")
        if response.has_header(name)
    }


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any /api/v1/ path that is no endpoint."""
    return JsonResponse(problem(404, "No such endpoint."), status=404, content_type=CONTENT_TYPE)
