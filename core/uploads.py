"""Uploaded files are refused above UPLOAD_MAX_BYTES while they arrive, before Django stores
them (in memory, or in a temporary file past 2.5 MB).

The only uploads are CSV files (a wizard mapping), all far smaller. `UploadLimitMiddleware`
puts `LimitedUploadHandler` first among the request's upload handlers, before anything reads
the body (CSRF reads request.POST); a file past the limit is skipped (the rest of the body is
read and dropped, so the other fields, the CSRF token among them, still arrive), and its field
name is listed in `refused_uploads(request)` for the view to explain.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse


def refused_uploads(request: HttpRequest) -> set[str]:
    """Names of the file fields of this request that were refused for their size."""
    return getattr(request, "_refused_uploads", set())


class LimitedUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.UPLOAD_MAX_BYTES

    def new_file(
        self,
        field_name,
        file_name,
        content_type,
        content_length,
        charset=None,
        content_type_extra=None,
    ) -> None:
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        if content_length is not None and content_length > self.limit:
            self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self._refuse()
        return raw_data  # passed on to the handlers that store it

    def file_complete(self, file_size: int) -> None:
        return None  # stored by the next handlers

    def _refuse(self) -> None:
        if self.request is not None:
            refused = refused_uploads(self.request)
            refused.add(self.field_name)
            self.request._refused_uploads = refused  # type: ignore[attr-defined]
        raise SkipFile


class UploadLimitMiddleware:
    """Before CsrfViewMiddleware, which is the first to read the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.upload_handlers.insert(0, LimitedUploadHandler(request))
        return self.get_response(request)
