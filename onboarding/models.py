"""Wizard state (Draft) and the provisioning job that turns a Draft into AEP objects."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedSecretField
from monitoring.models import Account, Sandbox

# The seven wizard steps, in order: URL name suffix and the label the stepper shows.
STEPS = (
    ("account", _("Sandbox and account")),
    ("resources", _("Resources")),
    ("explore", _("Explore")),
    ("dataset", _("Dataset")),
    ("mapping", _("Mapping")),
    ("schedule", _("Schedule")),
    ("review", _("Review")),
)
STEP_NAMES = tuple(name for name, _label in STEPS)


def stale_after() -> timedelta:
    """A provisioning or discard whose heartbeat is older than this lost its worker and may be
    resumed (settings.ONBOARDING_STALE_AFTER_SECONDS)."""
    return timedelta(seconds=settings.ONBOARDING_STALE_AFTER_SECONDS)


# Columns only the draft's transitions (onboarding.provisioning) and its workers write.
WORKER_OWNED = frozenset(
    {"status", "attempt", "heartbeat", "error", "auto_resumes", "connection_id", "connection_etag"}
)


class Draft(models.Model):
    """Everything the user entered in the wizard, saved at every step.

    Tasks read and write it too (probe, explore, dataset list, mapping checks, provisioning),
    which is why it is a row and not session data.
    """

    class Status(models.TextChoices):
        EDITING = "editing", _("In progress")
        PROVISIONING = "provisioning", _("Creating in AEP")
        FAILED = "failed", _("Creation failed")
        DONE = "done", _("Created")
        DISCARDING = "discarding", _("Discarding")
        DISCARDED = "discarded", _("Discarded")

    # States a worker moves on; each keeps beating `heartbeat` while it works.
    MOVING = (Status.PROVISIONING, Status.DISCARDING)

    class AccountMode(models.TextChoices):
        NEW = "new", _("Connect a new Stripe account")
        EXISTING = "existing", _("Use an account already connected")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sandbox = models.ForeignKey(Sandbox, models.CASCADE, related_name="drafts")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="wizard_drafts"
    )
    # Colleagues the creator handed the draft to; they may continue it.
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_wizard_drafts"
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.EDITING)
    # The furthest step the user has completed (index into STEP_NAMES, -1 for none).
    reached = models.SmallIntegerField(default=-1)

    # Step 1: account.
    account_mode = models.CharField(
        max_length=8, choices=AccountMode.choices, default=AccountMode.NEW
    )
    account = models.ForeignKey(Account, models.SET_NULL, null=True, blank=True, related_name="+")
    account_name = models.CharField(max_length=100, blank=True)
    account_description = models.TextField(blank=True)
    # Kept only until provisioning has finished (or the draft is discarded).
    access_token = EncryptedSecretField(blank=True)
    token_last4 = models.CharField(max_length=4, blank=True)
    key_kind = models.CharField(max_length=16, blank=True)
    livemode = models.BooleanField(default=False)
    # {"charges": {"status": "readable"|"forbidden"|"error", "message": "..."}, ...}
    probe = models.JSONField(default=dict, blank=True)
    probed_at = models.DateTimeField(null=True, blank=True)
    # Base connection created by this draft (new account), kept until the Account row exists.
    connection_id = models.CharField(max_length=64, blank=True)
    connection_etag = models.CharField(max_length=100, blank=True)

    # Step 2: resources and the dataflow name of each.
    resource_paths = models.JSONField(default=list, blank=True)
    flow_names = models.JSONField(default=dict, blank=True)

    # Step 3: {"charges": {"fields": [...], "sample": [...], "schema": {...}}}
    explore = models.JSONField(default=dict, blank=True)

    # Step 4: {"charges": {"mode": "new"|"existing", "name": "...", "dataset_id": "...",
    #          "schema_id": "...", "schema_title": "..."}}
    datasets = models.JSONField(default=dict, blank=True)
    # Datasets listed from Catalog: [{"id", "name", "schema_id", "schema_title"}]
    dataset_choices = models.JSONField(default=list, blank=True)

    # Step 5: {"charges": [{"source", "destination", "identity", "kind", "type"}]}
    mappings = models.JSONField(default=dict, blank=True)
    # Last Validate / Preview result per resource, shown until the mapping changes.
    mapping_checks = models.JSONField(default=dict, blank=True)
    # Identity rows of a new schema: their namespaces (from Sandbox.identity_namespaces) and
    # which one is primary (onboarding.identities).
    # {"charges": {"namespaces": {"<destination>": "Email"}, "primary": "<destination>"}}
    identities = models.JSONField(default=dict, blank=True)
    # A custom namespace the person asked for, created with the dataflows: {"name", "code",
    # "id_type"}; empty when none was asked for.
    custom_namespace = models.JSONField(default=dict, blank=True)

    # Step 6.
    frequency = models.CharField(max_length=8, default="hour")
    interval = models.PositiveIntegerField(null=True, blank=True, default=1)
    start_time = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    backfill = models.BooleanField(default=True)
    # {"charges": {"count": 120, "more": false}} or {"charges": {"error": "..."}}
    estimate = models.JSONField(default=dict, blank=True)
    # Dataflow options (AEP's "Dataflow detail" toggles), set on the schedule step.
    # Paths whose new dataset is enabled for Real-Time Customer Profile.
    profile_datasets = models.JSONField(default=list, blank=True)
    error_diagnostics = models.BooleanField(default=False)
    partial_ingestion = models.BooleanField(default=False)
    # Percent of failed records a batch may have and still load (0 < p <= 100).
    partial_ingestion_percent = models.FloatField(null=True, blank=True)
    # Subscribe the creator to the new dataflows' run-failure alerts once they exist.
    alert_on_failure = models.BooleanField(default=False)

    # Provisioning bookkeeping.
    attempt = models.PositiveIntegerField(default=0)
    heartbeat = models.DateTimeField(null=True, blank=True)
    # Times beat resumed a stalled provisioning or discard since a person last started one.
    auto_resumes = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-updated"]
        indexes = [models.Index(fields=["created_by", "status"], name="onboarding_draft_owner")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        account = self.account.name if self.account else self.account_name
        paths = ", ".join(self.resource_paths) or _("no resources yet")
        return f"{account or _('New account')} → {paths}"

    @property
    def tenant_namespace(self) -> str:
        return f"_{self.sandbox.tenant_id}" if self.sandbox.tenant_id else ""

    @property
    def base_connection_id(self) -> str:
        if self.account_mode == self.AccountMode.EXISTING and self.account:
            return self.account.connection_id
        return self.connection_id

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.EDITING

    @property
    def is_stale(self) -> bool:
        """Provisioning or discarding that stopped beating: its worker died (or its message was
        lost before any worker took it), so it may be resumed or cancelled."""
        if self.status not in self.MOVING:
            return False
        last_sign = self.heartbeat or self.updated
        return last_sign is not None and timezone.now() - last_sign > stale_after()

    def can_access(self, user) -> bool:
        if user.is_superuser or self.created_by_id == user.pk:
            return True
        from core.roles import ADMIN, role_of

        if role_of(user) == ADMIN:
            return True
        return self.shared_with.filter(pk=user.pk).exists()

    def save_entered(self) -> None:
        """Save what a person entered on a page: every column but WORKER_OWNED, which a copy
        read at the start of a request must never write back (a worker or another tab may
        have moved the draft on meanwhile)."""
        if self._state.adding:
            self.save()
            return
        names = [
            f.name
            for f in self._meta.concrete_fields
            if not f.primary_key and f.name not in WORKER_OWNED
        ]
        self.save(update_fields=names)

    def mark_reached(self, step: str) -> None:
        self.reached = max(self.reached, STEP_NAMES.index(step))

    def forget_token(self) -> None:
        self.access_token = ""


class ProvisioningStep(models.Model):
    """One AEP object a Draft's provisioning creates; the AEP id is stored the moment it exists.

    A retry runs the steps again in order: `done` steps are skipped, the others look for an
    object they may already have created (a timeout after AEP acted) before creating one.
    """

    class Kind(models.TextChoices):
        SCHEMA_CLASS = "schema_class", _("XDM class")
        SOURCE_CONNECTION = "source_connection", _("Source connection")
        FIELD_GROUP = "field_group", _("Field group")
        SCHEMA = "schema", _("XDM schema")
        IDENTITY_NAMESPACE = "identity_namespace", _("Identity namespace")
        IDENTITY = "identity", _("Identity descriptor")
        PROFILE_SCHEMA = "profile_schema", _("Schema enabled for Profile")
        DATASET = "dataset", _("Dataset")
        TARGET_CONNECTION = "target_connection", _("Target connection")
        MAPPING_SET = "mapping_set", _("Mapping set")
        FLOW = "flow", _("Dataflow")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Working")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        DELETED = "deleted", _("Removed")

    draft = models.ForeignKey(Draft, models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    resource_path = models.CharField(max_length=32, blank=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    aep_id = models.CharField(max_length=300, blank=True)
    etag = models.CharField(max_length=100, blank=True)
    # Whether this draft created the object (and so Discard may delete it); reused ones are kept.
    created_here = models.BooleanField(default=False)
    extra = models.JSONField(default=dict, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "position"], name="onboarding_step_order")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.resource_path}".strip()
