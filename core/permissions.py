"""Who may do what: one home for the predicates views, tasks and commands of every app share.

core.roles says which capabilities each role has; the rules here combine them with who owns a
dataflow. Support and Admin operate every account and dataflow. Marketing Ops run the wizard
and may change only the schedule and the mapping of dataflows they own. Admins edit every
alert rule, a flow's owner the rules of that flow. Everyone with a role may look.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.utils.translation import gettext as _

from core.roles import ADMIN, perm, role_of

OPERATE = "operate_dataflows"
EDIT_OWN = "edit_own_dataflows"
VIEW = "view_monitoring"
MANAGE_ALERTS = "manage_alerts"

# Fields of the dataflow edit form, and who may change them.
CONFIG_FIELDS = frozenset({"frequency", "interval", "mapping"})
ALL_DATAFLOW_FIELDS = frozenset({"name", "description"}) | CONFIG_FIELDS


class OwnedDataflow(Protocol):
    """What the rules read of a dataflow (a monitoring.models.Dataflow)."""

    @property
    def owner_id(self) -> int | None: ...

    @property
    def deleted_at(self) -> datetime | None: ...

    @property
    def frequency(self) -> str: ...


class AlertRuleLike(Protocol):
    @property
    def dataflow(self) -> OwnedDataflow | None: ...

    @property
    def created_by_id(self) -> int | None: ...


class NotAllowed(Exception):
    """The actor's role does not allow this action (re-checked in the worker, too)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def can(user, capability: str) -> bool:
    return bool(user and user.is_active and user.has_perm(perm(capability)))


def can_operate(user) -> bool:
    return can(user, OPERATE)


def can_manage_alerts(user) -> bool:
    """Admins edit every alert rule, the global ones too."""
    return can(user, MANAGE_ALERTS)


def may_run_wizard(user) -> bool:
    return can(user, "run_wizard")


def editable_dataflow_fields(user, dataflow: OwnedDataflow) -> frozenset[str]:
    """The dataflow fields `user` may change: all, schedule+mapping of own flows, or none."""
    if can_operate(user):
        return ALL_DATAFLOW_FIELDS
    if can(user, EDIT_OWN) and dataflow.owner_id is not None and dataflow.owner_id == user.pk:
        return CONFIG_FIELDS
    return frozenset()


def may_edit_mapping(user, dataflow: OwnedDataflow) -> bool:
    return "mapping" in editable_dataflow_fields(user, dataflow)


def can_fix_mapping(user, dataflow: OwnedDataflow) -> bool:
    """The operations mapping page's own rule: mapping editable, flow not deleted nor `once`."""
    if dataflow.deleted_at is not None or dataflow.frequency == "once":
        return False
    return may_edit_mapping(user, dataflow)


def can_edit_alerts(user, dataflow: OwnedDataflow | None) -> bool:
    """Admins (manage_alerts) edit every rule; a flow's owner edits the rules of that flow."""
    if can_manage_alerts(user):
        return True
    return dataflow is not None and dataflow.owner_id == user.pk


def can_delete_alert_rule(user, rule: AlertRuleLike) -> bool:
    """A flow's rule: whoever may edit it. A rule for every flow: an Admin, or the person who
    made it while they may still manage alerts; not everyone a permission lets edit it."""
    if rule.dataflow is not None:
        return can_edit_alerts(user, rule.dataflow)
    if not can_manage_alerts(user):
        return False
    return is_admin(user) or (rule.created_by_id is not None and rule.created_by_id == user.pk)


def is_admin(user) -> bool:
    return bool(user and user.is_active and (user.is_superuser or role_of(user) == ADMIN))


def check_dataflow_update(user, dataflow: OwnedDataflow, changed: set[str]) -> None:
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
