from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aep import quirks
from core.crypto import EncryptedSecretField, Secret
from core.demo import on_this_machine
from core.schedule import schedule_words
from core.statuses import status_choices
from monitoring.webhook_targets import label as webhook_label

SCHEDULE_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
# The statuses a run reports before it ends. A run is open unless its status is one of
# FINISHED_RUN_STATUSES: an empty or unknown status is open too (aep.quirks.run_is_finished).
OPEN_RUN_STATUSES = ("inProgress", "scheduled", "queued")
FINISHED_RUN_STATUSES = quirks.FINISHED_RUN_STATUSES
SUCCESS_RUN_STATUSES = ("success", "partialSuccess")
# Run statuses as the sync stores them: AEP's, matched case-insensitively onto one spelling
# (aep.quirks.RUN_STATUSES), and others AEP may report, stored as they come. A status outside
# these is stored all the same and shown as it is.
RUN_STATUS_CHOICES = status_choices(
    (
        *SUCCESS_RUN_STATUSES,
        "failed",
        *OPEN_RUN_STATUSES,
        "pending",
        "cancelled",
        "canceled",
    )
)
# Health values from most to least urgent.
SEVERITY_ORDER = ("failing", "late", "new", "healthy", "disabled", "deleted")


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
    # The sandbox's Identity Service namespaces, as a worker last read them: [{"code", "name",
    # "custom", "id_type"}]. The wizard's identity fields choose theirs from these.
    identity_namespaces = models.JSONField(default=list, blank=True, editable=False)
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

    @property
    def is_local_emulator(self) -> bool:
        """Whether AEP is the emulator on this machine (as `./dev run` sets it up), whose
        Stripe stand-in takes the published demo keys."""
        return on_this_machine(self.platform_url)


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
    last_run_status = models.CharField(max_length=32, blank=True, choices=RUN_STATUS_CHOICES)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    records_24h = models.BigIntegerField(default=0)
    records_7d = models.BigIntegerField(default=0)
    failed_ratio = models.FloatField(default=0)
    freshness_sla_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Runs that ended in the last 24 h (the zero-records rule needs "ran, but loaded nothing").
    runs_24h = models.PositiveIntegerField(default=0)
    # End of the newest window ingested successfully: how fresh the data in AEP is.
    data_through = models.DateTimeField(null=True, blank=True)
    # When the flow turns late if nothing new arrives: its data older than the SLA (stale), or
    # a scheduled run that has not shown up (overdue). Kept so a single UPDATE can flip flows.
    stale_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    late_reason = models.CharField(max_length=16, blank=True)
    health_at = models.DateTimeField(null=True, blank=True)
    # Found in AEP by discovery rather than created through the dashboard.
    discovered = models.BooleanField(default=False)
    # Lists show failing flows first, then late ones: computed by the database from `health`,
    # so it stays right whoever writes `health`, and the ordering can use an index.
    severity = models.GeneratedField(
        expression=models.Case(
            *(
                models.When(health=health, then=models.Value(rank))
                for rank, health in enumerate(SEVERITY_ORDER)
            ),
            default=models.Value(len(SEVERITY_ORDER)),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )

    # Sync bookkeeping.
    next_sync_at = models.DateTimeField(default=timezone.now)
    sync_failures = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)
    # Where the next sync starts: the creation time of the newest stored run, and
    # {"edge": {run_id: signature} of the runs created at that time, "open": [run ids still in
    # progress]}. A quiet sync needs nothing else, so it reads no run rows at all.
    sync_cursor = models.DateTimeField(null=True, blank=True)
    sync_state = models.JSONField(default=dict, blank=True)

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
            # Used by the overview's list: most urgent first, then by name.
            models.Index(fields=["severity", "name", "id"], name="monitoring_flow_severity"),
            # Used by monitoring.schedule_syncs to flip healthy flows to late in one UPDATE.
            models.Index(
                fields=["stale_at"],
                condition=models.Q(health__in=["healthy", "new"]),
                name="monitoring_flow_stale",
            ),
            models.Index(
                fields=["overdue_at"],
                condition=models.Q(health__in=["healthy", "new"]),
                name="monitoring_flow_overdue",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.enabled and self.deleted_at is None

    def schedule_label(self) -> str:
        """How often the flow runs, in words: "Every 15 minutes", "Every hour", "Once"."""
        return schedule_words(self.frequency, self.interval)

    @property
    def schedule_period(self) -> timedelta | None:
        """Time between two scheduled runs; None for a one-time flow."""
        unit = SCHEDULE_UNITS.get(self.frequency)
        if unit is None:
            return None
        return unit * (self.interval or 1)

    @property
    def default_sla_minutes(self) -> int | None:
        """Twice the schedule period (at least 30 minutes): one missed run is tolerated."""
        period = self.schedule_period
        if period is None:
            return None
        return max(30, int(period.total_seconds() * 2 // 60))

    @property
    def sla_minutes(self) -> int | None:
        return self.freshness_sla_minutes or self.default_sla_minutes

    @property
    def freshness_age(self) -> timedelta | None:
        if self.data_through is None:
            return None
        return timezone.now() - self.data_through


class Run(models.Model):
    """One AEP flow run, mirrored with its metrics."""

    dataflow = models.ForeignKey(Dataflow, models.CASCADE, related_name="runs")
    run_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=32, choices=RUN_STATUS_CHOICES)
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
                condition=models.Q(status__in=list(OPEN_RUN_STATUSES)),
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

    @property
    def is_open(self) -> bool:
        return self.status not in FINISHED_RUN_STATUSES

    @property
    def failed_ratio(self) -> float:
        return self.failed_records / self.input_records if self.input_records else 0.0


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


class IngestBucket(models.Model):
    """Run metrics of one dataflow summed per hour or per day, by run creation time.

    The overview's charts read these instead of the runs, so they cost the same with a million
    runs as with ten. The sync recomputes the buckets its runs fall into, so it is idempotent.
    """

    class Granularity(models.TextChoices):
        HOUR = "hour", _("Hour")
        DAY = "day", _("Day")

    dataflow = models.ForeignKey(Dataflow, models.CASCADE, related_name="buckets")
    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    start = models.DateTimeField()
    runs = models.PositiveIntegerField(default=0)
    input_records = models.BigIntegerField(default=0)
    output_records = models.BigIntegerField(default=0)
    failed_records = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataflow", "granularity", "start"], name="monitoring_bucket_unique"
            )
        ]
        indexes = [
            # Used by the overview chart: all flows' buckets of one granularity since a time.
            models.Index(fields=["granularity", "start"], name="monitoring_bucket_time"),
        ]

    def __str__(self) -> str:
        return f"{self.dataflow_id} {self.granularity} {self.start:%Y-%m-%d %H:%M}"


class IngestTotal(models.Model):
    """IngestBucket summed over every flow of a sandbox: the overview's chart when it is not
    narrowed to some flows. The sync adds each flow bucket's change to it."""

    sandbox = models.ForeignKey(Sandbox, models.CASCADE, related_name="+")
    granularity = models.CharField(max_length=4, choices=IngestBucket.Granularity.choices)
    start = models.DateTimeField()
    runs = models.BigIntegerField(default=0)
    input_records = models.BigIntegerField(default=0)
    output_records = models.BigIntegerField(default=0)
    failed_records = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sandbox", "granularity", "start"], name="monitoring_total_unique"
            )
        ]
        indexes = [models.Index(fields=["granularity", "start"], name="monitoring_total_time")]

    def __str__(self) -> str:
        return f"{self.sandbox_id} {self.granularity} {self.start:%Y-%m-%d %H:%M}"


class Subscription(models.Model):
    """A user who wants the alerts of one dataflow by email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    dataflow = models.ForeignKey(Dataflow, models.CASCADE, related_name="subscriptions")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dataflow"], name="monitoring_subscription_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.dataflow_id}"


class LiveRuleManager(models.Manager["AlertRule"]):
    """Rules not deleted: the ones that are evaluated, listed and edited."""

    def get_queryset(self) -> models.QuerySet[AlertRule]:
        return super().get_queryset().filter(deleted_at=None)


class AlertRule(models.Model):
    """A condition worth telling people about, for one dataflow or (dataflow empty) for all."""

    class Kind(models.TextChoices):
        RUN_FAILED = "run_failed", _("Run failed")
        CONSECUTIVE_FAILURES = "consecutive_failures", _("Consecutive failed runs")
        LATE = "late", _("Late or stale")
        ZERO_RECORDS = "zero_records", _("No records in 24 hours")
        FAILED_RATIO = "failed_ratio", _("Failed-record ratio above threshold")
        VOLUME_DROP = "volume_drop", _("Fewer records than on a usual day")
        SCHEMA_DRIFT = "schema_drift", _("Stripe stopped sending a field the mapping reads")

    class WebhookFormat(models.TextChoices):
        GENERIC = "generic", _("Generic signed JSON")
        SLACK = "slack", _("Slack incoming webhook")
        TEAMS = "teams", _("Microsoft Teams (incoming webhook or Workflows)")

    # Kinds whose threshold means something, and its default.
    DEFAULT_THRESHOLDS = {"consecutive_failures": 3.0, "failed_ratio": 0.05, "volume_drop": 0.5}
    # A volume drop compares the last 24 hours with the days before them: this many days, of
    # which at least VOLUME_MIN_DAYS must have runs, or a new flow's first quiet day would alert.
    VOLUME_HISTORY_DAYS = 7
    VOLUME_MIN_DAYS = 3

    dataflow = models.ForeignKey(
        Dataflow, models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    kind = models.CharField(_("condition"), max_length=24, choices=Kind.choices)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    notify_subscribers = models.BooleanField(_("email the flow's subscribers"), default=True)
    emails = models.CharField(_("also email"), max_length=500, blank=True)
    # A credential (Slack and Teams carry their secret in the path): encrypted, and shown or
    # recorded elsewhere only as monitoring.webhook_targets.label.
    webhook_url = EncryptedSecretField(_("webhook URL"), blank=True)
    # What may be shown and recorded of it: scheme, host and a short hash (set on save).
    webhook_label = models.CharField(max_length=300, blank=True, editable=False)
    webhook_secret = EncryptedSecretField(_("webhook signing secret"), blank=True)
    webhook_format = models.CharField(
        _("webhook format"),
        max_length=8,
        choices=WebhookFormat.choices,
        default=WebhookFormat.GENERIC,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    # Deleting a rule keeps it, and its alerts and their deliveries, as history.
    deleted_at = models.DateTimeField(null=True, blank=True)

    all_objects = models.Manager()
    objects = LiveRuleManager()

    class Meta:
        ordering = ["dataflow_id", "kind"]
        default_manager_name = "objects"
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        return self.describe()

    def save(self, *args: Any, **kwargs: Any) -> None:
        url = self.webhook_url
        if not (isinstance(url, Secret) and url.token):  # new or changed since it was loaded
            plain = url.reveal() if isinstance(url, Secret) else str(url or "")
            self.webhook_label = webhook_label(plain)
        super().save(*args, **kwargs)

    @property
    def effective_threshold(self) -> float | None:
        if self.threshold is not None:
            return self.threshold
        return self.DEFAULT_THRESHOLDS.get(self.kind)

    def describe(self) -> str:
        threshold = self.effective_threshold
        if self.kind == self.Kind.CONSECUTIVE_FAILURES:
            return _("%(n)d failed runs in a row") % {"n": int(threshold or 0)}
        if self.kind == self.Kind.FAILED_RATIO:
            return _("More than %(pct)s%% of records failed") % {
                "pct": f"{(threshold or 0) * 100:g}"
            }
        if self.kind == self.Kind.VOLUME_DROP:
            return _(
                "Records in 24 hours below %(pct)s%% of a usual day (needs runs on %(days)d of "
                "the previous %(history)d days)"
            ) % {
                "pct": f"{(threshold or 0) * 100:g}",
                "days": self.VOLUME_MIN_DAYS,
                "history": self.VOLUME_HISTORY_DAYS,
            }
        return str(self.get_kind_display())

    @property
    def email_list(self) -> list[str]:
        return [e.strip() for e in self.emails.replace(";", ",").split(",") if e.strip()]


class Alert(models.Model):
    """One occurrence of a rule's condition on one dataflow, from opening to resolution."""

    rule = models.ForeignKey(AlertRule, models.CASCADE, related_name="alerts")
    dataflow = models.ForeignKey(Dataflow, models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=24, choices=AlertRule.Kind.choices)
    summary = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # One open alert per rule and flow: a condition that persists does not flood anyone.
            models.UniqueConstraint(
                fields=["rule", "dataflow"],
                condition=models.Q(resolved_at=None),
                name="monitoring_alert_one_open",
            )
        ]
        indexes = [
            models.Index(fields=["dataflow", "-opened_at"], name="monitoring_alert_flow"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertDelivery(models.Model):
    """One notification of an alert's opening or resolution to one email address or webhook."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")

    class Event(models.TextChoices):
        OPENED = "opened", _("Opened")
        RESOLVED = "resolved", _("Resolved")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    alert = models.ForeignKey(Alert, models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=8, choices=Event.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # An email address, or a webhook's label (scheme, host and a hash): never the URL itself,
    # which the delivery reads from its rule when it posts.
    target = models.CharField(max_length=500)
    # The rule's format when the delivery was made: a retry posts what the target expects even
    # if the rule has moved to another receiver since.
    webhook_format = models.CharField(
        max_length=8,
        choices=AlertRule.WebhookFormat.choices,
        default=AlertRule.WebhookFormat.GENERIC,
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.channel} {self.event} ({self.status})"


class Reconciliation(models.Model):
    """Stripe's count of objects created in a window against what the flow's runs ingested.

    The counting happens in a worker (a core.Job); the job's result holds the per-day table.
    A key pasted for one check is kept encrypted only until the worker has used it.
    """

    job = models.OneToOneField("core.Job", models.CASCADE, related_name="reconciliation")
    dataflow = models.ForeignKey(Dataflow, models.CASCADE, related_name="reconciliations")
    window_start = models.DateField()
    window_end = models.DateField(help_text=_("Inclusive."))
    pasted_key = EncryptedSecretField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.dataflow_id}: {self.window_start} to {self.window_end}"


class SchemaDrift(models.Model):
    """The latest check of what Stripe sends against the fields a dataflow's mapping reads.

    `findings` holds only mapping-relevant changes (monitoring/drift.py), each with a stable
    `key`; `dismissed` holds the keys a person acknowledged, until that change goes away.
    """

    # The kinds of finding: a field Stripe sends now, and one a rule reads that it does not.
    NEW = "new"
    REMOVED = "removed"

    dataflow = models.OneToOneField(Dataflow, models.CASCADE, related_name="schema_drift")
    checked_at = models.DateTimeField(null=True, blank=True)
    # Also a lease: the beat dispatches a check once this has passed.
    next_check_at = models.DateTimeField(null=True, blank=True)
    # The fields Stripe sent at the first check; a field not among them is new.
    known_fields = models.JSONField(default=list, blank=True)
    baseline_at = models.DateTimeField(null=True, blank=True)
    # [{"key", "kind": "new"|"removed", "field", "source", "destination", "first_seen"}, ...]
    findings = models.JSONField(default=list, blank=True)
    # Hash of the findings' keys; `changed_at` is when it last changed.
    fingerprint = models.CharField(max_length=64, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    dismissed = models.JSONField(default=list, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    # A removed field some rule reads, not dismissed: kept as a column so counting is one query.
    has_breaking = models.BooleanField(default=False)
    rule_count = models.PositiveIntegerField(default=0)
    field_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The latest check a person asked for ("Check now"); the page polls it while it runs.
    job = models.ForeignKey("core.Job", models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [
            models.Index(
                fields=["dataflow"],
                condition=models.Q(has_breaking=True),
                name="monitoring_drift_breaking",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataflow_id}: {len(self.findings)} finding(s)"

    @property
    def open_findings(self) -> list[dict]:
        dismissed = set(self.dismissed)
        return [f for f in self.findings if f["key"] not in dismissed]

    @property
    def dismissed_findings(self) -> list[dict]:
        dismissed = set(self.dismissed)
        return [f for f in self.findings if f["key"] in dismissed]

    @property
    def open_breaking_fields(self) -> list[str]:
        """The Stripe fields the flow's rules read that Stripe no longer sends, not dismissed."""
        return sorted({f["field"] for f in self.open_findings if f["kind"] == self.REMOVED})
