"""What the API answers and accepts. Read-only serializers mirror what the pages show."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from monitoring.models import Account, Alert, Dataflow, Run
from operations.models import Operation


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class RefSerializer(serializers.Serializer):
    """Another object, by id and name."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class FreshnessSerializer(serializers.Serializer):
    data_through = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.IntegerField(allow_null=True)
    sla_minutes = serializers.IntegerField(allow_null=True)
    stale_at = serializers.DateTimeField(allow_null=True)
    overdue_at = serializers.DateTimeField(allow_null=True)
    late_reason = serializers.CharField()


class LastRunSerializer(serializers.Serializer):
    status = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField()


class DataflowSerializer(serializers.ModelSerializer):
    sandbox = serializers.CharField(source="sandbox.display_name")
    account = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    schedule = serializers.SerializerMethodField()
    freshness = serializers.SerializerMethodField()
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = Dataflow
        fields = [
            "id",
            "flow_id",
            "name",
            "description",
            "sandbox",
            "account",
            "resource_path",
            "owner",
            "enabled",
            "health",
            "schedule",
            "freshness",
            "last_run",
            "records_24h",
            "records_7d",
            "failed_ratio",
            "runs_24h",
            "created",
            "deleted_at",
        ]

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_account(self, flow: Dataflow):
        if flow.account is None:
            return None
        return {"id": flow.account.pk, "name": flow.account.name}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_owner(self, flow: Dataflow):
        return flow.owner.get_username() if flow.owner else None

    @extend_schema_field(serializers.CharField())
    def get_schedule(self, flow: Dataflow) -> str:
        return str(flow.schedule_label())

    @extend_schema_field(FreshnessSerializer)
    def get_freshness(self, flow: Dataflow) -> dict:
        age = flow.freshness_age
        return {
            "data_through": _iso(flow.data_through),
            "age_seconds": int(age.total_seconds()) if age is not None else None,
            "sla_minutes": flow.sla_minutes,
            "stale_at": _iso(flow.stale_at),
            "overdue_at": _iso(flow.overdue_at),
            "late_reason": flow.late_reason,
        }

    @extend_schema_field(LastRunSerializer)
    def get_last_run(self, flow: Dataflow) -> dict:
        return {
            "status": flow.last_run_status,
            "at": _iso(flow.last_run_at),
            "last_success_at": _iso(flow.last_success_at),
            "consecutive_failures": flow.consecutive_failures,
        }


class RunSerializer(serializers.ModelSerializer):
    dataflow = serializers.IntegerField(source="dataflow_id")
    # AEP's run status as it reported it (its words vary; see monitoring.models).
    status = serializers.CharField()
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "run_id",
            "dataflow",
            "status",
            "created_at",
            "started_at",
            "completed_at",
            "window_start",
            "window_end",
            "input_records",
            "output_records",
            "failed_records",
            "duration_seconds",
        ]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, run: Run):
        return run.duration.total_seconds() if run.duration else None


class RejectedSampleSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="none, queued, running, succeeded or failed")
    read_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    result = serializers.DictField(help_text="the sample as the run page shows it")


class RunDetailSerializer(RunSerializer):
    errors = serializers.ListField(child=serializers.DictField())
    rejected_records = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "errors", "rejected_records"]

    @extend_schema_field(RejectedSampleSerializer)
    def get_rejected_records(self, run: Run) -> dict:
        job = self.context.get("rejected_job")
        if job is None:
            return {"status": "none", "read_at": None, "error": "", "result": {}}
        return {
            "status": job.status,
            "read_at": _iso(job.finished),
            "error": job.error,
            "result": job.result if job.status == "succeeded" else {},
        }


class AccountSerializer(serializers.ModelSerializer):
    sandbox = serializers.CharField(source="sandbox.display_name")
    dataflows = serializers.IntegerField(source="flow_count", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "description",
            "sandbox",
            "connection_id",
            "token_last4",
            "key_kind",
            "livemode",
            "dataflows",
            "created",
        ]


class AlertSerializer(serializers.ModelSerializer):
    dataflow = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "summary",
            "dataflow",
            "state",
            "opened_at",
            "resolved_at",
            "resolution",
        ]

    @extend_schema_field(RefSerializer)
    def get_dataflow(self, alert: Alert) -> dict:
        return {"id": alert.dataflow_id, "name": alert.dataflow.name}

    @extend_schema_field(serializers.ChoiceField(choices=["open", "resolved"]))
    def get_state(self, alert: Alert) -> str:
        return "open" if alert.resolved_at is None else "resolved"


class OperationSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    confirm_name = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()

    class Meta:
        model = Operation
        fields = [
            "id",
            "kind",
            "status",
            "target_label",
            "dataflow",
            "account",
            "actor",
            "via",
            "reason",
            "ticket",
            "preview",
            "confirm_name",
            "steps",
            "error",
            "created",
            "finished",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor(self, op: Operation):
        return op.actor.get_username() if op.actor else None

    @extend_schema_field(serializers.CharField())
    def get_confirm_name(self, op: Operation) -> str:
        """The name to type when confirming (a delete), as the operation page asks for it."""
        return op.confirm_name

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_steps(self, op: Operation) -> list:
        keep = ("action", "label", "status", "error")
        return [{k: step.get(k, "") for k in keep} for step in op.steps]


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    error = serializers.CharField()
    result = serializers.DictField()
    created = serializers.DateTimeField()
    finished = serializers.DateTimeField(allow_null=True)


# -- input -------------------------------------------------------------------------------------


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class DisableInput(ReasonInput):
    resume_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="resume automatically then"
    )


class ConfirmInput(serializers.Serializer):
    name = serializers.CharField(help_text="the object's name, typed to confirm", max_length=300)
    reason = serializers.CharField(max_length=2000)
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    delete_datasets = serializers.BooleanField(required=False, default=False)
    delete_schemas = serializers.BooleanField(required=False, default=False)


class PlanApplyInput(serializers.Serializer):
    plan = serializers.DictField(help_text="a plan from GET /dataflows/{id}/plan")
    sandbox = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    connection_id = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default=""
    )
    dataset_id = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    schema_id = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


def _iso(value):
    return value.isoformat() if value else None
