from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedSecretField


def default_platform_url() -> str:
    return settings.AEP_PLATFORM_URL


def default_ims_url() -> str:
    return settings.AEP_IMS_URL


def default_scope() -> str:
    return settings.AEP_SCOPE


class Sandbox(models.Model):
    """One AEP organisation + sandbox the dashboard works with, and the credential to reach it."""

    display_name = models.CharField(_("display name"), max_length=100, unique=True)
    org_id = models.CharField(
        _("IMS organization ID"), max_length=64, help_text=_("Ends with @AdobeOrg.")
    )
    client_id = models.CharField(
        _("client ID"), max_length=128, help_text=_("Also sent as the x-api-key header.")
    )
    client_secret = EncryptedSecretField(_("client secret"))
    scope = models.CharField(_("scopes"), max_length=500, default=default_scope)
    sandbox_name = models.CharField(
        _("sandbox name"), max_length=64, help_text=_("Lower-case, e.g. prod.")
    )
    platform_url = models.URLField(_("platform URL"), default=default_platform_url)
    ims_url = models.URLField(_("IMS URL"), default=default_ims_url)
    tenant_id = models.CharField(_("tenant ID"), max_length=64, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_id", "sandbox_name", "platform_url"], name="monitoring_sandbox_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.sandbox_name})"

    @property
    def is_production(self) -> bool:
        return self.sandbox_name == "prod"


class Account(models.Model):
    """A Stripe account connected to AEP: one Flow Service base connection."""

    class KeyKind(models.TextChoices):
        SECRET = "secret", _("Secret key")
        RESTRICTED = "restricted", _("Restricted key")

    sandbox = models.ForeignKey(Sandbox, models.PROTECT, related_name="accounts")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    connection_id = models.CharField(_("base connection ID"), max_length=64, blank=True)
    etag = models.CharField(max_length=100, blank=True)
    # Kept only while provisioning or a rotation needs it; cleared afterwards.
    access_token = EncryptedSecretField(_("Stripe access token"), blank=True)
    token_last4 = models.CharField(max_length=4, blank=True)
    key_kind = models.CharField(max_length=16, choices=KeyKind.choices, blank=True)
    livemode = models.BooleanField(default=False)
    # {"charges": {"status": "readable"|"forbidden"|"error", "message": "..."}, ...}
    probe_result = models.JSONField(default=dict, blank=True)
    probed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["sandbox", "connection_id"],
                condition=~models.Q(connection_id=""),
                name="monitoring_account_connection_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Dataflow(models.Model):
    """One AEP flow moving one Stripe resource path into one dataset, and its health."""

    class Frequency(models.TextChoices):
        ONCE = "once", _("Once")
        MINUTE = "minute", _("Minute")
        HOUR = "hour", _("Hour")
        DAY = "day", _("Day")
        WEEK = "week", _("Week")

    class Health(models.TextChoices):
        NEW = "new", _("Waiting for first run")
        HEALTHY = "healthy", _("Healthy")
        LATE = "late", _("Late")
        FAILING = "failing", _("Failing")
        DISABLED = "disabled", _("Disabled")
        DELETED = "deleted", _("Deleted in AEP")

    sandbox = models.ForeignKey(Sandbox, models.PROTECT, related_name="dataflows")
    account = models.ForeignKey(
        Account, models.SET_NULL, null=True, blank=True, related_name="dataflows"
    )
    flow_id = models.CharField(_("flow ID"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    resource_path = models.CharField(_("resource path"), max_length=32, blank=True)
    source_connection_id = models.CharField(max_length=64, blank=True)
    target_connection_id = models.CharField(max_length=64, blank=True)
    dataset_id = models.CharField(max_length=64, blank=True)
    schema_id = models.CharField(max_length=300, blank=True)
    mapping_set_id = models.CharField(max_length=64, blank=True)
    mapping_version = models.CharField(max_length=16, blank=True)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.HOUR)
    interval = models.PositiveIntegerField(null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    backfill = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)
    etag = models.CharField(max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Denormalised health, kept current by the sync task; pages read only these columns.
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.NEW)
    last_run_status = models.CharField(max_length=32, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    records_24h = models.BigIntegerField(default=0)
    records_7d = models.BigIntegerField(default=0)
    failed_ratio = models.FloatField(default=0)
    freshness_sla_minutes = models.PositiveIntegerField(null=True, blank=True)

    # Sync bookkeeping.
    next_sync_at = models.DateTimeField(default=timezone.now)
    sync_failures = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["sandbox", "flow_id"], name="monitoring_flow_unique")
        ]
        indexes = [
            # Used by monitoring.schedule_syncs to find flows due for a sync.
            models.Index(
                fields=["next_sync_at"],
                condition=models.Q(deleted_at=None),
                name="monitoring_flow_due",
            ),
            models.Index(fields=["health", "name"], name="monitoring_flow_health"),
        ]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    """One AEP flow run, mirrored with its metrics."""

    dataflow = models.ForeignKey(Dataflow, models.CASCADE, related_name="runs")
    run_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=32)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    input_records = models.BigIntegerField(default=0)
    output_records = models.BigIntegerField(default=0)
    failed_records = models.BigIntegerField(default=0)
    input_bytes = models.BigIntegerField(default=0)
    output_bytes = models.BigIntegerField(default=0)
    # [{"code": "CONNECTOR-2001-500", "message": "...", "recordCount": 3}, ...]
    errors = models.JSONField(default=list, blank=True)
    activities = models.JSONField(default=list, blank=True)
    etag = models.CharField(max_length=100, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["dataflow", "-created_at"], name="monitoring_run_latest"),
            # Used by the sync to re-poll runs that have not ended.
            models.Index(
                fields=["dataflow"],
                condition=models.Q(status__in=["inProgress", "scheduled", "queued"]),
                name="monitoring_run_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} ({self.status})"

    @property
    def duration(self):
        if self.started_at and self.completed_at:
            return self.completed_at - self.started_at
        return None


class AuditEvent(models.Model):
    """Who changed what in AEP through the dashboard, why, and what came of it."""

    class Result(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        STARTED = "started", _("Started")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=300, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    sandbox = models.ForeignKey(
        Sandbox, models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    reason = models.TextField(blank=True)
    ticket = models.CharField(max_length=100, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.SUCCEEDED)
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created"], name="monitoring_audit_t")
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.target_type}:{self.target_id}"
