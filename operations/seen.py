"""What the user saw when they opened a form, carried through the form as a signed token.

Changes are measured against it (so a form never reverts a field the user did not touch),
and so is a conflict: "when you opened it" versus "now in AEP". The token is signed so the
page cannot be made to claim another baseline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core import signing
from django.utils import timezone

from monitoring.models import Account, Dataflow

SALT = "operations.seen"
MAX_AGE_SECONDS = 24 * 3600


def account_seen(account: Account) -> dict[str, Any]:
    return {"name": account.name, "description": account.description, "etag": account.etag}


def flow_seen(dataflow: Dataflow, etag: str = "") -> dict[str, Any]:
    return {
        "name": dataflow.name,
        "description": dataflow.description,
        "frequency": dataflow.frequency,
        "interval": dataflow.interval,
        "mapping_version": dataflow.mapping_version,
        "etag": etag or dataflow.etag,
    }


def seen_token(snapshot: dict[str, Any]) -> str:
    return signing.dumps({**snapshot, "seen_at": timezone.now().isoformat()}, salt=SALT)


def seen_from(token: str, fallback: dict[str, Any]) -> dict[str, Any]:
    """The snapshot in `token`, or `fallback` (as of now) when it is missing or not ours."""
    try:
        return signing.loads(token or "", salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return {**fallback, "seen_at": timezone.now().isoformat()}


def seen_at(snapshot: dict[str, Any], default: datetime) -> datetime:
    try:
        return datetime.fromisoformat(snapshot["seen_at"])
    except (KeyError, TypeError, ValueError):
        return default
