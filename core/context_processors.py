from __future__ import annotations

from core.roles import perm, role_of


def navigation(request) -> dict:
    """What the navigation bar needs: the user's role and which sections to show."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_role": role_of(user),
        "can": {
            name: user.has_perm(perm(name))
            for name in ("run_wizard", "view_monitoring", "manage_sandboxes", "view_audit")
        },
    }
