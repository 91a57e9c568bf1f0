"""Who may do which support action: one home for the rules the views, tasks and commands share.

Support and Admin operate every account and dataflow. Marketing Ops may change only the
schedule and the mapping of dataflows they own. Everyone with a role may look.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.roles import perm
from monitoring.models import Dataflow

OPERATE = "operate_dataflows"
EDIT_OWN = "edit_own_dataflows"
VIEW = "view_monitoring"

# Fields of the dataflow edit form, and who may change them.
CONFIG_FIELDS = frozenset({"frequency", "interval", "mapping"})
ALL_DATAFLOW_FIELDS = frozenset({"name", "description"}) | CONFIG_FIELDS


class NotAllowed(Exception):
    """The actor's role does not allow this action (re-checked in the worker, too)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def can(user, capability: str) -> bool:
    return bool(user and user.is_active and user.has_perm(perm(capability)))


def can_operate(user) -> bool:
    return can(user, OPERATE)


def editable_dataflow_fields(user, dataflow: Dataflow) -> frozenset[str]:
    """The dataflow fields `user` may change: all, schedule+mapping of own flows, or none."""
    if can_operate(user):
        return ALL_DATAFLOW_FIELDS
    if can(user, EDIT_OWN) and dataflow.owner_id is not None and dataflow.owner_id == user.pk:
        return CONFIG_FIELDS
    return frozenset()


def check_dataflow_update(user, dataflow: Dataflow, changed: set[str]) -> None:
    """Raise NotAllowed unless `user` may change every field in `changed`."""
    forbidden = set(changed) - editable_dataflow_fields(user, dataflow)
    if forbidden:
        raise NotAllowed(
            _("Your role may not change %(fields)s of this dataflow.")
            % {"fields": ", ".join(sorted(forbidden))}
        )


def check_operate(user) -> None:
    if not can_operate(user):
        raise NotAllowed(_("Your role may not change accounts or dataflows in AEP."))
