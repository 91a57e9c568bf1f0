"""Status codes as words, for badges and for the `choices` of status fields."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

# Status codes shown as badges: AEP run statuses, support-operation steps, Stripe key checks.
STATUS_LABELS = {
    "success": pgettext_lazy("status", "success"),
    "partialSuccess": pgettext_lazy("status", "partial success"),
    "failed": pgettext_lazy("status", "failed"),
    "inProgress": pgettext_lazy("status", "in progress"),
    "scheduled": pgettext_lazy("status", "scheduled"),
    "queued": pgettext_lazy("status", "queued"),
    "pending": pgettext_lazy("status", "pending"),
    "cancelled": pgettext_lazy("status", "cancelled"),
    "canceled": pgettext_lazy("status", "cancelled"),
    "running": pgettext_lazy("status", "running"),
    "done": pgettext_lazy("status", "done"),
    "skipped": pgettext_lazy("status", "skipped"),
    "conflict": pgettext_lazy("status", "conflict"),
    "awaiting": pgettext_lazy("status", "awaiting confirmation"),
    "previewing": pgettext_lazy("status", "checking AEP"),
    "started": pgettext_lazy("status", "started"),
    "succeeded": pgettext_lazy("status", "succeeded"),
    "readable": pgettext_lazy("status", "readable"),
    "forbidden": pgettext_lazy("status", "not permitted"),
    "error": pgettext_lazy("status", "error"),
    "enabled": pgettext_lazy("status", "enabled"),
    "disabled": pgettext_lazy("status", "disabled"),
    "deleted": pgettext_lazy("status", "deleted"),
    "open": pgettext_lazy("status", "open"),
    "resolved": pgettext_lazy("status", "resolved"),
}


def status_choices(codes: Iterable[str]) -> dict[str, Promise]:
    """`choices` for a field holding these codes, worded as everywhere else."""
    return {code: STATUS_LABELS[code] for code in codes}
