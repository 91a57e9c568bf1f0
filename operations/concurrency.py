"""Concurrent changes: what a person saw when they opened a form, and what changed in AEP since.

The baseline travels through the form as a signed token, so the page cannot claim another one.
Changes are measured against it (a form never reverts a field the person did not touch), and so
is a conflict: "when you opened it" versus "now in AEP".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from monitoring.models import Account, AuditEvent, Dataflow

# The salt predates this module's name; changing it would void the tokens in open forms.
SALT = "operations.seen"
MAX_AGE_SECONDS = 24 * 3600


# A snapshot holds the fields a person can change; a conflict is one of them changing in AEP.
# The etag rides along for the record only: AEP moves a flow's etag whenever a run ends.


def account_seen(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "description": account.description,
        "key_ending": account.token_last4,
        "etag": account.etag,
    }


def flow_seen(dataflow: Dataflow, etag: str = "") -> dict[str, Any]:
    seen = {
        "name": dataflow.name,
        "description": dataflow.description,
        "frequency": dataflow.frequency,
        "interval": dataflow.interval,
        "mapping_set_id": dataflow.mapping_set_id,
        "mapping_version": dataflow.mapping_version,
        "state": "enabled" if dataflow.enabled else "disabled",
        "etag": etag or dataflow.etag,
    }
    if not dataflow.mapping_set_id:
        del seen["mapping_set_id"]  # not known here, so it cannot be compared
    return seen


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


def changes_between(
    seen: Mapping[str, Any], current: Mapping[str, Any], labels: Mapping[str, str]
) -> list[dict[str, str]]:
    """One entry per field (in `labels` order) whose value differs."""
    changes = []
    for name, label in labels.items():
        was, now = _text(seen.get(name)), _text(current.get(name))
        if name in seen and was != now:
            changes.append({"field": str(label), "was": was, "now": now})
    return changes


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def last_changed_by(
    target_type: str, target_id: str, since: datetime, exclude_pk: int | None
) -> str:
    """Who changed the object through the dashboard since `since`, if anyone did."""
    event = (
        AuditEvent.objects.filter(
            target_type=target_type,
            target_id=target_id,
            created__gte=since,
            result=AuditEvent.Result.SUCCEEDED,
        )
        .exclude(actor_id=exclude_pk)
        .order_by("-created")
        .first()
    )
    return event.actor_name if event else ""


def conflict_message(what: str, changes: list[dict[str, str]], by: str) -> str:
    """A sentence for the page: who changed what, and that nothing was overwritten."""
    if by:
        head = _("%(who)s changed this %(what)s in AEP after you opened it.") % {
            "who": by,
            "what": what,
        }
    else:
        head = _("This %(what)s was changed in AEP after you opened it.") % {"what": what}
    if changes:
        listed = "; ".join(_("%(field)s: “%(was)s” → “%(now)s”") % change for change in changes)
        head = f"{head} {listed}."
    return f"{head} " + _(
        "Your change was not applied and nothing was overwritten. The page now shows the "
        "current values: review them and make your change again."
    )
