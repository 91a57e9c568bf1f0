from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.roles import CAPABILITIES


class Capability(models.Model):
    """Holds the role permissions; it has no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(CAPABILITIES.items())

    def __str__(self) -> str:
        return "capability"


class Job(models.Model):
    """One piece of background work whose progress a page shows.

    The page polls this row; the worker is the only writer after `queued`. Celery's own result
    backend is not used, so a job's state survives worker restarts and is visible to any page.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    TERMINAL = (Status.SUCCEEDED, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    target = models.CharField(max_length=128, blank=True, help_text="e.g. sandbox:3")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            # Latest job of a kind for a target: what a page shows next to its button.
            models.Index(fields=["target", "kind", "-created"], name="core_job_target_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in self.TERMINAL

    def claim(self) -> bool:
        """Move queued -> running; False when another worker got there first."""
        claimed = Job.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING, started=timezone.now(), attempts=models.F("attempts") + 1
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def succeed(self, result: dict | None = None) -> None:
        self._finish(self.Status.SUCCEEDED, result=result or {})

    def fail(self, message: str, *, code: str = "", request_id: str = "") -> None:
        self._finish(self.Status.FAILED, error=message, error_code=code, request_id=request_id)

    def _finish(self, status: str, **fields) -> None:
        fields.update(status=status, finished=timezone.now())
        Job.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)


class Preference(models.Model):
    """How one person wants the pages: language and time zone. Blank means "as my browser says".

    The language picker in the header writes the language here as well as into the cookie, so
    the choice follows the person to another browser; see core.preferences.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="preference", primary_key=True
    )
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'}, {self.time_zone or '-'})"


class SSOIdentity(models.Model):
    """The identity provider's person behind a user: matched by issuer and subject, never by
    username or email, so a provider account cannot take over a local one that shares its name."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    # The provider's groups at the last sign-in, as the role was derived from them.
    groups = models.JSONField(default=list, blank=True)
    last_sign_in = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="core_sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
