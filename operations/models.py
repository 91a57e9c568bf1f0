from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedSecretField
from core.models import Job
from monitoring.models import Account, Dataflow, Sandbox

# How long a delete may be confirmed after its impact preview read AEP.
PREVIEW_VALID_FOR = timedelta(hours=1)
# An operation that has not moved for this long lost its worker: it no longer blocks others, a
# person may resume or stop it, and beat resumes it (operations.service.resume_stuck).
STUCK_AFTER = timedelta(minutes=30)


class Operation(models.Model):
    """One support action on AEP: what was asked, by whom and why, its steps and how far it got.

    Actions that need a look at AEP first (rotating a key, deleting) start in PREVIEWING: a job
    reads AEP and stores what would happen in `preview`; the user confirms, which plans `steps`.
    Every execution attempt is a core.Job. A failed operation can be resumed: the new job skips
    the steps already done, so nothing is done twice.
    """

    class Kind(models.TextChoices):
        ACCOUNT_UPDATE = "account.update", _("Edit account")
        ACCOUNT_ROTATE_KEY = "account.rotate_key", _("Rotate Stripe key")
        ACCOUNT_DELETE = "account.delete", _("Delete account")
        DATAFLOW_UPDATE = "dataflow.update", _("Edit dataflow")
        DATAFLOW_DISABLE = "dataflow.disable", _("Disable dataflow")
        DATAFLOW_ENABLE = "dataflow.enable", _("Enable dataflow")
        DATAFLOW_DELETE = "dataflow.delete", _("Delete dataflow")
        RUNS_RETRY = "runs.retry", _("Retry failed runs")

    class Status(models.TextChoices):
        PREVIEWING = "previewing", _("Checking AEP")
        AWAITING_CONFIRMATION = "awaiting", _("Waiting for confirmation")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CONFLICT = "conflict", _("Changed by someone else")
        CANCELLED = "cancelled", _("Cancelled")

    # States in which nothing moves until a person acts; pages stop polling.
    SETTLED = (
        Status.AWAITING_CONFIRMATION,
        Status.SUCCEEDED,
        Status.FAILED,
        Status.CONFLICT,
        Status.CANCELLED,
    )
    FINISHED = (Status.SUCCEEDED, Status.CONFLICT, Status.CANCELLED)
    # States a worker moves on (each of its steps refreshes `updated`).
    MOVING = (Status.PREVIEWING, Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    sandbox = models.ForeignKey(Sandbox, models.PROTECT, related_name="+")
    account = models.ForeignKey(
        Account, models.SET_NULL, null=True, blank=True, related_name="operations"
    )
    dataflow = models.ForeignKey(
        Dataflow, models.SET_NULL, null=True, blank=True, related_name="operations"
    )
    target_label = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # How the actor asked when not through the pages ("API token ci"), for the audit trail.
    via = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)
    ticket = models.CharField(max_length=100, blank=True)
    # What was asked, without secrets: new values, the etag the user saw, selected run ids.
    params = models.JSONField(default=dict, blank=True)
    # A new Stripe key between "check it" and "apply it"; cleared as soon as it is not needed.
    secret = EncryptedSecretField(blank=True)
    # What AEP said would be affected (read by the preview job), shown before confirming.
    preview = models.JSONField(default=dict, blank=True)
    # [{"key", "action", "id", "label", "status": pending|done|failed|skipped, "error", ...}]
    steps = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    job = models.ForeignKey(Job, models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True, blank=True)
    # On a disable: when operations.resume_due_dataflows starts the normal enable operation.
    # It lives on the disable operation, not on the Dataflow mirror: the pause's who and why
    # are already here, the monitoring sync rewrites the mirror but never this row, and the
    # enable it starts points back at it. Cleared as soon as any enable (or a new disable) of
    # the dataflow starts, or the flow turns out to be enabled already.
    resume_at = models.DateTimeField(null=True, blank=True)
    # Times beat resumed the operation after its worker went away, since a person last did.
    auto_resumes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created"]
        indexes = [
            # Operations in flight per dataflow: the timeline and the action buttons read these.
            models.Index(fields=["dataflow", "-created"], name="operations_op_dataflow"),
            models.Index(fields=["account", "-created"], name="operations_op_account"),
            # Pauses waiting for their automatic resume; used by operations.resume_due_dataflows.
            models.Index(
                fields=["resume_at"],
                name="operations_op_resume_at",
                condition=models.Q(resume_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_label} ({self.status})"

    @property
    def is_settled(self) -> bool:
        return self.status in self.SETTLED

    @property
    def confirm_name(self) -> str:
        """The name a person types to confirm: an account delete names AEP's account as the
        preview read it; anything else its target."""
        if self.kind == self.Kind.ACCOUNT_DELETE:
            return self.preview.get("connection", {}).get("name") or self.target_label
        return self.target_label

    @property
    def preview_expired(self) -> bool:
        """A delete preview waiting longer than PREVIEW_VALID_FOR no longer describes AEP."""
        read_at = self.preview.get("read_at") if isinstance(self.preview, dict) else None
        if self.status != self.Status.AWAITING_CONFIRMATION or not read_at:
            return False
        try:
            moment = datetime.fromisoformat(read_at)
        except (TypeError, ValueError):
            return True
        return timezone.now() - moment > PREVIEW_VALID_FOR

    @property
    def is_stuck(self) -> bool:
        """Moving, but not for STUCK_AFTER: its worker went away (or its job was lost)."""
        return self.status in self.MOVING and self.updated < timezone.now() - STUCK_AFTER

    @property
    def can_resume(self) -> bool:
        return bool(self.steps) and (self.status == self.Status.FAILED or self.is_stuck)

    @property
    def can_cancel(self) -> bool:
        return self.status in (self.Status.AWAITING_CONFIRMATION, self.Status.FAILED) or (
            self.is_stuck
        )

    @property
    def done_steps(self) -> int:
        return sum(1 for step in self.steps if step.get("status") in ("done", "skipped"))

    def target_account(self) -> Account:
        """The account this account operation acts on; gone only if its row was deleted."""
        if self.account is None:
            raise Account.DoesNotExist(f"operation {self.pk} has no account")
        return self.account

    def target_dataflow(self) -> Dataflow:
        """The dataflow this dataflow operation acts on; gone only if its row was deleted."""
        if self.dataflow is None:
            raise Dataflow.DoesNotExist(f"operation {self.pk} has no dataflow")
        return self.dataflow

    def save_fields(self, **fields) -> None:
        """Write only `fields` (the worker and the page never overwrite each other's columns)."""
        fields["updated"] = timezone.now()
        Operation.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)
