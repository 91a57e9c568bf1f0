"""The three roles and what each may do.

Permissions are attached to the `Capability` model (no table) so they have one home; groups are
(re)built after every migrate, so changing a role here changes it in every installation.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

MARKETING_OPS = "Marketing Ops"
ADMIN = "Admin"
SUPPORT = "Support"

CAPABILITIES = {
    "run_wizard": _("Can create dataflows with the onboarding wizard"),
    "view_monitoring": _("Can view dataflows, runs and accounts"),
    "edit_own_dataflows": _("Can edit the schedule and mapping of own dataflows"),
    "operate_dataflows": _("Can update, enable, disable, retry and delete accounts and dataflows"),
    "manage_alerts": _("Can edit alert rules of any dataflow"),
    "view_audit": _("Can view and export the audit trail"),
    "manage_sandboxes": _("Can manage AEP sandboxes and users"),
}

ROLE_CAPABILITIES = {
    MARKETING_OPS: ("run_wizard", "view_monitoring", "edit_own_dataflows"),
    SUPPORT: ("view_monitoring", "operate_dataflows", "view_audit"),
    ADMIN: tuple(CAPABILITIES),
}


def perm(capability: str) -> str:
    """The full permission name for `user.has_perm`, e.g. ``core.run_wizard``."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")
    return f"core.{capability}"


def ensure_roles(**kwargs) -> None:
    """Create the role groups and give each exactly its capabilities (idempotent)."""
    permissions = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="core", codename__in=CAPABILITIES
        )
    }
    if len(permissions) != len(CAPABILITIES):
        return  # permissions not created yet (partial migrate); the next migrate finishes
    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([permissions[c] for c in capabilities])


def role_of(user) -> str:
    """The user's role name for display and audit (the most powerful one they hold)."""
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    for role in (ADMIN, SUPPORT, MARKETING_OPS):
        if role in names:
            return role
    return ""
