from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    user: User


# Enough for any id or page number; more digits would overflow the database's 64-bit integer.
ID_MAX_DIGITS = 18


def positive_int(value: str | None) -> int | None:
    """An id or page number from a query string or form, or None when it is anything else.

    Not `str.isdigit()` alone: "²" is a digit to it but not to `int()`, and a number too long
    for the database fails the query instead of matching nothing.
    """
    if value and value.isascii() and value.isdigit() and len(value) <= ID_MAX_DIGITS:
        return int(value)
    return None
