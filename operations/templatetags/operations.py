"""Template helpers for pages (ours and monitoring's) that show support actions."""

from __future__ import annotations

from django import template

from core.permissions import VIEW, can, can_fix_mapping, can_operate, editable_dataflow_fields
from monitoring.models import Dataflow
from operations import impact
from operations.models import Operation
from operations.service import in_flight, pending_resume
from operations.timeline import timeline

register = template.Library()


@register.simple_tag
def dataflow_permissions(user, dataflow: Dataflow) -> dict[str, bool]:
    """What `user` may do to `dataflow`: {edit, edit_details, mapping, fix_mapping, operate}.

    `mapping`: the mapping is the person's to change; `fix_mapping`: the mapping page opens
    for this flow now (core.permissions.can_fix_mapping)."""
    editable = editable_dataflow_fields(user, dataflow)
    return {
        "edit": bool(editable),
        "edit_details": "name" in editable,
        "mapping": "mapping" in editable,
        "fix_mapping": can_fix_mapping(user, dataflow),
        "operate": can_operate(user),
    }


@register.simple_tag
def account_permissions(user) -> dict[str, bool]:
    return {"operate": can_operate(user), "view": can(user, VIEW)}


@register.simple_tag
def operation_in_flight(*, dataflow=None, account=None):
    if dataflow is not None:
        return in_flight(dataflow=dataflow)
    return in_flight(account=account) if account is not None else None


@register.inclusion_tag("operations/_paused_until.html")
def paused_until(dataflow: Dataflow) -> dict:
    """“Paused until 3 Dec 14:00 (KST) by sam — reason”, when an automatic resume waits."""
    pause = pending_resume(dataflow) if not dataflow.enabled else None
    backfill = impact.backfill_estimate(dataflow, now=pause.resume_at)["count"] if pause else 0
    return {"pause": pause, "backfill": backfill}


@register.inclusion_tag("operations/_timeline.html")
def dataflow_timeline(dataflow: Dataflow, limit: int = 50, runs=None) -> dict:
    """`runs`: the flow's latest runs (newest first) when the page has them, to spare a query."""
    return {"dataflow": dataflow, "entries": timeline(dataflow, limit, runs)}


@register.inclusion_tag("operations/_operation_list.html")
def recent_operations(*, dataflow=None, account=None, limit: int = 5) -> dict:
    """The latest support actions on a dataflow or an account, newest first."""
    target = {"dataflow": dataflow} if dataflow is not None else {"account": account}
    operations = Operation.objects.filter(**target).select_related("actor").order_by("-created")
    return {"operations": list(operations[:limit])}
