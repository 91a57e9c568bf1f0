"""What changed in AEP between the moment a user looked at an object and their change arriving."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from monitoring.models import AuditEvent


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
