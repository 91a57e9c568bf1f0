"""Changes made in Django's admin (people, roles, sandboxes) become AuditEvents too.

The admin writes a LogEntry for each addition, change and deletion, with who made it; the audit
trail (/ops/audit/) gets the same fact, so a role granted or a sandbox repointed in the admin is
as visible as a change made through the dashboard's own pages.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, DELETION, LogEntry

from monitoring.audit import record

# Admin models whose changes are audited, by "app_label.model", and their audit target type.
AUDITED = {"auth.user": "user", "auth.group": "role", "monitoring.sandbox": "sandbox"}
VERBS = {ADDITION: "create", DELETION: "delete"}


def record_admin_change(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created or instance.content_type is None:
        return
    content_type = instance.content_type
    target_type = AUDITED.get(f"{content_type.app_label}.{content_type.model}")
    if target_type is None:
        return
    verb = VERBS.get(instance.action_flag, "update")
    record(
        instance.user,
        f"{target_type}.{verb}",
        target_type=target_type,
        target_id=instance.object_id or "",
        target_label=instance.object_repr,
        after={"change": instance.get_change_message(), "through": "admin"},
    )
