"""Write AuditEvents: the one way every mutation through the dashboard is recorded."""

from __future__ import annotations

from typing import Any

from aep import redact
from core.roles import role_of
from monitoring.models import AuditEvent, Sandbox


def record(
    actor,
    action: str,
    *,
    target_type: str,
    target_id: str = "",
    target_label: str = "",
    sandbox: Sandbox | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    ticket: str = "",
    result: str = AuditEvent.Result.SUCCEEDED,
    error: str = "",
    request_id: str = "",
    via: str = "",
) -> AuditEvent:
    """Record one action; secrets in before/after are redacted before they are stored.

    `via` names how the actor acted when not through the pages ("API token ci"); the trail
    then reads "alex via API token ci".
    """
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor_name(actor, via),
        role=role_of(actor) if actor else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        sandbox=sandbox,
        before=redact(before or {}),
        after=redact(after or {}),
        reason=reason,
        ticket=ticket,
        result=result,
        error=error,
        request_id=request_id,
    )


def actor_name(actor, via: str = "") -> str:
    name = actor.get_username() if actor else "system"
    max_length = AuditEvent._meta.get_field("actor_name").max_length or 150
    return (f"{name} via {via}" if via else name)[:max_length]


def record_sso_sign_in(sender, *, user, role, previous_role, groups, created, **kwargs) -> None:
    """Each single sign-on is an audit event; so is the role it changed (core.sso.signed_in)."""
    target = {
        "target_type": "user",
        "target_id": str(user.pk),
        "target_label": user.get_username(),
    }
    record(
        user, "user.sso_sign_in", **target, after={"role": role, "groups": groups, "new": created}
    )
    if role != previous_role:
        record(
            user,
            "user.role_change",
            **target,
            before={"role": previous_role},
            after={"role": role},
            reason="Derived from the identity provider's groups at sign-in",
        )
