"""Who may call what: the same core.permissions rules as the pages, and how a call is audited."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from api.models import ApiToken
from core.permissions import VIEW, can, can_operate


class HasRole(permissions.BasePermission):
    """Every endpoint needs a role that may look (the pages' view_monitoring)."""

    def has_permission(self, request, view) -> bool:
        if request.user is None:
            raise exceptions.NotAuthenticated("Send a token: 'Authorization: Bearer <token>'.")
        return can(request.user, VIEW)


def require_operate(request) -> None:
    """The support pages' rule (operate_dataflows): Support and Admin only."""
    if not can_operate(request.user):
        raise exceptions.PermissionDenied("Your role may not change accounts or dataflows in AEP.")


def via(request) -> str:
    """How the audit trail names this call: "API token NAME"."""
    token = request.auth
    return token.via if isinstance(token, ApiToken) else ""
