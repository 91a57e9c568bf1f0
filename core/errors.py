"""Error handlers that need more than Django's defaults (which render 403/404/500.html)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A post over Django's size or field-count limits is "too large" (413), not a generic 400."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / (1024 * 1024)
        context = {"limit_mb": f"{limit:.0f}" if limit.is_integer() else f"{limit:.1f}"}
        return render(request, "413.html", context, status=413)
    return defaults.bad_request(request, exception)
