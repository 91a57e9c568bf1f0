"""Automatic resume of paused dataflows: the beat task starts the normal enable operation.

A pause is a successful disable operation with `resume_at` set. When that time has come, the
enable starts exactly as from the Enable page (service.start_enable), in the name of the person
who paused, so the audit trail, the backfill and resuming a failed attempt work the same.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.preferences import preference_of, valid_time_zone
from monitoring.models import Dataflow
from operations import service
from operations.models import Operation

logger = logging.getLogger(__name__)
Kind = Operation.Kind
# How far ahead a resume may be scheduled; a longer pause is a decision for a person to make.
MAX_PAUSE = timedelta(days=90)


def resume_time_problem(value: datetime, now: datetime | None = None) -> str | None:
    """Why an aware `value` cannot be a resume time (past, or too far ahead), or None."""
    now = now or timezone.now()
    try:
        too_far = value.astimezone(UTC) > now + MAX_PAUSE
    except (OverflowError, ValueError):
        too_far = True
    if too_far:
        return _("Pick a time at most %(days)d days ahead.") % {"days": MAX_PAUSE.days}
    if value <= now:
        return _("Pick a time in the future.")
    return None


def due(now: datetime | None = None):
    return (
        Operation.objects.filter(
            kind=Kind.DATAFLOW_DISABLE,
            status=Operation.Status.SUCCEEDED,
            resume_at__lte=now or timezone.now(),
        )
        .select_related("dataflow", "actor")
        .order_by("resume_at")
    )


def start_due(tasks: service.OperationTasks, now: datetime | None = None) -> list[Operation]:
    """Start the enable of every pause whose resume time has come, with the worker `tasks`.

    1. A flow enabled meanwhile (here or in AEP) or gone: forget its schedule.
    2. A flow with an operation still moving: leave it for the next tick.
    3. Clear `resume_at` with a conditional UPDATE; only the tick that cleared it starts the
       enable, in the same transaction, so two ticks never start two operations.
    """
    started = []
    for pause in due(now):
        dataflow = pause.dataflow
        if dataflow is None or dataflow.deleted_at is not None or dataflow.enabled:
            service.cancel_resume(dataflow) if dataflow else pause.save_fields(resume_at=None)
            continue
        if service.in_flight(dataflow=dataflow):
            continue
        with transaction.atomic():
            claimed = Operation.objects.filter(pk=pause.pk, resume_at=pause.resume_at).update(
                resume_at=None, updated=timezone.now()
            )
            if claimed != 1:
                continue  # another tick got there first
            started.append(_enable(pause, dataflow, tasks))
    return started


def _enable(pause: Operation, dataflow: Dataflow, tasks: service.OperationTasks) -> Operation:
    """The enable, worded in the pauser's language (its reason and step labels are stored)."""
    resume_at = pause.resume_at
    assert resume_at is not None  # due() selects pauses with a resume time
    preference = preference_of(pause.actor)
    language = (preference.language if preference else "") or settings.LANGUAGE_CODE
    zone = valid_time_zone(preference.time_zone if preference else "") or settings.TIME_ZONE
    scheduled_on = timezone.localtime(pause.created, ZoneInfo(zone)).date().isoformat()
    with translation.override(language):
        reason = _("Automatic resume scheduled by %(name)s on %(date)s") % {
            "name": pause.actor.get_username() if pause.actor else "?",
            "date": scheduled_on,
        }
        operation = service.start_enable(
            dataflow,
            tasks,
            actor=pause.actor,
            reason=reason,
            ticket=pause.ticket,
            extra={
                "automatic_resume_of": str(pause.pk),
                "scheduled_resume_at": resume_at.isoformat(),
            },
        )
    logger.info("automatic resume of dataflow %s started", pause.dataflow_id)
    return operation
