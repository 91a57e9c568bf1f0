"""Frozen dataclasses for everything the client returns, parsed once at the boundary.

Timestamps become aware UTC datetimes here (Flow Service entity metadata is epoch
milliseconds, schedule start times are epoch seconds), so nothing downstream handles raw epochs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aep import quirks


def ms_to_datetime(value: Any) -> datetime | None:
    """Epoch milliseconds (int or numeric string) as an aware UTC datetime."""
    number = quirks.to_int(value)
    return None if number is None else datetime.fromtimestamp(number / 1000, tz=UTC)


def lenient_ms_to_datetime(value: Any) -> datetime | None:
    """`ms_to_datetime`, with None for garbage: connections and flows are listed together (a
    delete preview, discovery), and one odd timestamp must not make the listing unreadable."""
    try:
        return ms_to_datetime(value)
    except (OverflowError, OSError, TypeError, ValueError):
        return None


def seconds_to_datetime(value: Any) -> datetime | None:
    """Epoch seconds (int or numeric string) as an aware UTC datetime. A value only
    milliseconds can be (quirks.epoch_to_datetime) is read as milliseconds; None for garbage."""
    if _int_or_none(value) is None:
        return None
    try:
        return quirks.epoch_to_datetime(value)
    except (OverflowError, OSError, ValueError):
        return None


def _int_or_none(value: Any) -> int | None:
    """`quirks.to_int`, with None for what is not a whole number (`"weekly"`, `"1.5"`)."""
    try:
        return quirks.to_int(value)
    except (TypeError, ValueError):
        return None


def _dig(data: Mapping[str, Any], *keys: str) -> Any:
    """`data[k1][k2]…` or None when any level is missing."""
    current: Any = data
    for key in keys:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def _str_tuple(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    if not isinstance(values, (list, tuple)):
        return ()
    return tuple(str(value) for value in values)


@dataclass(frozen=True)
class Created:
    """`{"id", "etag"}` answered by Flow Service creates, PATCHes and actions."""

    id: str
    etag: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Created:
        return cls(id=str(data["id"]), etag=data.get("etag"))


@dataclass(frozen=True)
class Connection:
    """A base connection (the authenticated Stripe account). Auth params are not kept."""

    id: str
    name: str
    state: str | None
    connection_spec_id: str | None
    auth_spec_name: str | None
    etag: str | None
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Connection:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            state=data.get("state"),
            connection_spec_id=_dig(data, "connectionSpec", "id"),
            auth_spec_name=_dig(data, "auth", "specName"),
            etag=data.get("etag"),
            description=data.get("description") or "",
            created_at=lenient_ms_to_datetime(data.get("createdAt")),
            updated_at=lenient_ms_to_datetime(data.get("updatedAt")),
        )


@dataclass(frozen=True)
class ConnectionSpec:
    id: str
    name: str
    provider_id: str | None
    version: str | None
    auth_spec_names: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ConnectionSpec:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            provider_id=data.get("providerId"),
            version=data.get("version"),
            auth_spec_names=tuple(spec.get("name", "") for spec in data.get("authSpec") or ()),
        )


@dataclass(frozen=True)
class FlowSpec:
    id: str
    name: str
    version: str | None
    source_connection_spec_ids: tuple[str, ...] = ()
    target_connection_spec_ids: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FlowSpec:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            version=data.get("version"),
            source_connection_spec_ids=_str_tuple(data.get("sourceConnectionSpecIds")),
            target_connection_spec_ids=_str_tuple(data.get("targetConnectionSpecIds")),
        )


@dataclass(frozen=True)
class SourceConnection:
    id: str
    name: str
    state: str | None
    base_connection_id: str | None
    connection_spec_id: str | None
    data_format: str | None
    params: dict[str, Any]
    etag: str | None
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def resource_path(self) -> str | None:
        return self.params.get("resourcePath")

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SourceConnection:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            state=data.get("state"),
            base_connection_id=data.get("baseConnectionId"),
            connection_spec_id=_dig(data, "connectionSpec", "id"),
            data_format=_dig(data, "data", "format"),
            params=dict(data.get("params") or {}),
            etag=data.get("etag"),
            description=data.get("description") or "",
            created_at=lenient_ms_to_datetime(data.get("createdAt")),
            updated_at=lenient_ms_to_datetime(data.get("updatedAt")),
        )


@dataclass(frozen=True)
class TargetConnection:
    id: str
    name: str
    state: str | None
    connection_spec_id: str | None
    data_format: str | None
    dataset_id: str | None
    schema_id: str | None
    schema_version: str | None
    etag: str | None
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TargetConnection:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            state=data.get("state"),
            connection_spec_id=_dig(data, "connectionSpec", "id"),
            data_format=_dig(data, "data", "format"),
            dataset_id=_dig(data, "params", "dataSetId"),
            schema_id=_dig(data, "data", "schema", "id"),
            schema_version=_dig(data, "data", "schema", "version"),
            etag=data.get("etag"),
            description=data.get("description") or "",
            created_at=lenient_ms_to_datetime(data.get("createdAt")),
            updated_at=lenient_ms_to_datetime(data.get("updatedAt")),
        )


@dataclass(frozen=True)
class Schedule:
    """A flow's `scheduleParams`, with the strings Flow Service returns turned into types."""

    start_time: datetime
    frequency: str = "once"
    interval: int | None = None
    backfill: bool | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Schedule:
        start_time = seconds_to_datetime(data.get("startTime"))
        if start_time is None:
            raise ValueError("scheduleParams without startTime")
        return cls(
            start_time=start_time,
            frequency=data.get("frequency") or "once",
            interval=_int_or_none(data.get("interval")),
            backfill=quirks.to_bool(data.get("backfill")),
        )

    def to_api(self) -> dict[str, Any]:
        return quirks.schedule_for_request(
            int(self.start_time.timestamp()), self.frequency, self.interval, self.backfill
        )


@dataclass(frozen=True)
class Transformation:
    name: str
    params: dict[str, Any]

    @property
    def mapping_id(self) -> str | None:
        return self.params.get("mappingId")

    @property
    def mapping_version(self) -> int | None:
        return _int_or_none(self.params.get("mappingVersion"))

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Transformation:
        return cls(name=data.get("name", ""), params=dict(data.get("params") or {}))


@dataclass(frozen=True)
class LastRun:
    """`lastRunDetails` on a flow; absent until the first run."""

    id: str | None
    state: str | None
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LastRun:
        return cls(
            id=data.get("id"),
            state=quirks.normalize_run_status(data.get("state")),
            started_at=lenient_ms_to_datetime(data.get("startedAtUTC")),
            completed_at=lenient_ms_to_datetime(data.get("completedAtUTC")),
        )


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    state: str | None
    flow_spec_id: str | None
    source_connection_ids: tuple[str, ...]
    target_connection_ids: tuple[str, ...]
    schedule: Schedule | None
    transformations: tuple[Transformation, ...]
    etag: str | None
    description: str = ""
    last_run: LastRun | None = None
    options: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def mapping(self) -> Transformation | None:
        """The `Mapping` transformation (mapping set id + version), if the flow has one."""
        return next((t for t in self.transformations if t.name == "Mapping"), None)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Flow:
        """Tolerant: a flow without a readable schedule (no `startTime`, say) or with odd
        parts still parses, with those parts empty; only the id is required."""
        schedule = data.get("scheduleParams")
        last_run = data.get("lastRunDetails")
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            state=data.get("state"),
            flow_spec_id=_dig(data, "flowSpec", "id"),
            source_connection_ids=_str_tuple(data.get("sourceConnectionIds")),
            target_connection_ids=_str_tuple(data.get("targetConnectionIds")),
            schedule=_schedule_or_none(schedule),
            transformations=tuple(
                Transformation.from_api(t)
                for t in data.get("transformations") or ()
                if isinstance(t, Mapping)
            ),
            etag=data.get("etag"),
            description=data.get("description") or "",
            last_run=LastRun.from_api(last_run) if isinstance(last_run, Mapping) else None,
            options=dict(data.get("options") or {})
            if isinstance(data.get("options"), Mapping)
            else {},
            created_at=lenient_ms_to_datetime(data.get("createdAt")),
            updated_at=lenient_ms_to_datetime(data.get("updatedAt")),
        )


def _schedule_or_none(data: Any) -> Schedule | None:
    if not isinstance(data, Mapping) or not data:
        return None
    try:
        return Schedule.from_api(data)
    except ValueError:
        return None


@dataclass(frozen=True)
class RunError:
    code: str | None
    message: str
    record_count: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RunError:
        return cls(
            code=data.get("code"),
            message=data.get("message") or "",
            record_count=quirks.to_int(data.get("recordCount")),
        )


def _run_errors(
    metrics: Mapping[str, Any], activities: list[dict[str, Any]]
) -> tuple[RunError, ...]:
    """Run-level errors plus each activity's, without repeating the same (code, message).

    Activity-level `statusSummary.extensions.errors` is where record counts live.
    """
    raw: list[Mapping[str, Any]] = list(_dig(metrics, "statusSummary", "errors") or [])
    for activity in activities:
        raw.extend(_dig(activity, "statusSummary", "errors") or [])
        raw.extend(_dig(activity, "statusSummary", "extensions", "errors") or [])
    seen: dict[tuple[Any, Any], RunError] = {}
    for entry in raw:
        error = RunError.from_api(entry)
        key = (error.code, error.message)
        if key not in seen or (seen[key].record_count is None and error.record_count is not None):
            seen[key] = error
    return tuple(seen.values())


def _run_window(
    data: Mapping[str, Any], activities: list[dict[str, Any]]
) -> tuple[datetime | None, datetime | None]:
    """Ingestion window: ad-hoc `params.window*Time`, else the activities' extensions."""
    params = data.get("params") or {}
    if params.get("windowStartTime") or params.get("windowEndTime"):
        return (
            quirks.epoch_to_datetime(params.get("windowStartTime")),
            quirks.epoch_to_datetime(params.get("windowEndTime")),
        )
    for activity in activities:
        extensions = _dig(activity, "durationSummary", "extensions") or {}
        if "windowStart" in extensions or "windowEnd" in extensions:
            return (
                quirks.epoch_to_datetime(extensions.get("windowStart")),
                quirks.epoch_to_datetime(extensions.get("windowEnd")),
            )
    return None, None


@dataclass(frozen=True)
class Run:
    id: str
    flow_id: str | None
    status: str | None
    started_at: datetime | None
    completed_at: datetime | None
    input_record_count: int | None
    output_record_count: int | None
    failed_record_count: int | None
    input_bytes: int | None
    output_bytes: int | None
    errors: tuple[RunError, ...]
    activities: tuple[dict[str, Any], ...]
    etag: str | None
    window_start: datetime | None = None
    window_end: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Run:
        metrics = data.get("metrics") or {}
        activities = quirks.run_activities(data)
        window_start, window_end = _run_window(data, activities)
        return cls(
            id=data["id"],
            flow_id=data.get("flowId"),
            status=quirks.normalize_run_status(_dig(metrics, "statusSummary", "status")),
            started_at=ms_to_datetime(_dig(metrics, "durationSummary", "startedAtUTC")),
            completed_at=ms_to_datetime(_dig(metrics, "durationSummary", "completedAtUTC")),
            input_record_count=quirks.to_int(_dig(metrics, "recordSummary", "inputRecordCount")),
            output_record_count=quirks.to_int(_dig(metrics, "recordSummary", "outputRecordCount")),
            failed_record_count=quirks.to_int(_dig(metrics, "recordSummary", "failedRecordCount")),
            input_bytes=quirks.to_int(_dig(metrics, "sizeSummary", "inputBytes")),
            output_bytes=quirks.to_int(_dig(metrics, "sizeSummary", "outputBytes")),
            errors=_run_errors(metrics, activities),
            activities=tuple(activities),
            etag=quirks.run_etag(data),
            window_start=window_start,
            window_end=window_end,
            created_at=ms_to_datetime(data.get("createdAt")),
            updated_at=ms_to_datetime(data.get("updatedAt")),
        )


@dataclass(frozen=True)
class ExploreResult:
    """GET /connections/{id}/explore for a REST source: the record schema, plus samples."""

    format: str | None
    schema: dict[str, Any]
    data: list[Any]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ExploreResult:
        return cls(
            format=data.get("format"),
            schema=dict(data.get("schema") or {}),
            data=list(data.get("data") or []),
        )


@dataclass(frozen=True)
class FieldMapping:
    """One field mapping of a mapping set, whichever naming the response used."""

    source: str
    destination: str
    source_type: str | None = None
    identity: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FieldMapping:
        return cls(
            source=data.get("source") or data.get("sourceAttribute") or "",
            destination=data.get("destination") or data.get("destinationXdmPath") or "",
            source_type=data.get("sourceType"),
            identity=bool(data.get("identity", False)),
        )


@dataclass(frozen=True)
class MappingSet:
    """A Data Prep mapping set. The create response carries only id/version/dates."""

    id: str
    version: int
    status: str | None = None
    schema_id: str | None = None
    mappings: tuple[FieldMapping, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> MappingSet:
        schema_id = (
            _dig(data, "outputSchema", "schemaRef", "id")
            or _dig(data, "schemaRef", "id")
            or data.get("xdmSchema")
        )
        return cls(
            id=str(data["id"]),
            version=quirks.to_int(data.get("version")) or 0,
            status=data.get("status"),
            schema_id=schema_id,
            mappings=tuple(FieldMapping.from_api(m) for m in data.get("mappings") or ()),
            created_at=ms_to_datetime(data.get("createdDate")),
            updated_at=ms_to_datetime(data.get("modifiedDate")),
        )


@dataclass(frozen=True)
class MappingValidation:
    """One entry of `validationResponse` (one per mapping)."""

    status: str
    errors: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return self.status.upper() == "SUCCESS"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> MappingValidation:
        return cls(status=data.get("status", ""), errors=tuple(data.get("errors") or ()))


@dataclass(frozen=True)
class MappingPreview:
    """One transformed record from POST /mappingSets/preview."""

    data: dict[str, Any]
    errors: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> MappingPreview:
        return cls(data=dict(data.get("data") or {}), errors=tuple(data.get("errors") or ()))


@dataclass(frozen=True)
class RegistryStats:
    """GET /stats: mostly wanted for the tenant id that namespaces custom fields."""

    tenant_id: str
    ims_org: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RegistryStats:
        return cls(tenant_id=data["tenantId"], ims_org=data.get("imsOrg"))


def _registry_version(data: Mapping[str, Any]) -> str | None:
    version = data.get("version")
    return None if version is None else str(version)


@dataclass(frozen=True)
class Schema:
    """An XDM schema; list responses fill only id/alt_id/version/title."""

    id: str
    title: str
    alt_id: str | None = None
    version: str | None = None
    description: str = ""
    class_id: str | None = None
    extends: tuple[str, ...] = ()
    # `union` here enables the schema for Profile (xdm/api/schemas.md#union).
    immutable_tags: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Schema:
        return cls(
            id=data["$id"],
            title=data.get("title", ""),
            alt_id=data.get("meta:altId"),
            version=_registry_version(data),
            description=data.get("description") or "",
            class_id=data.get("meta:class"),
            extends=_str_tuple(data.get("meta:extends")),
            immutable_tags=_str_tuple(data.get("meta:immutableTags")),
        )


@dataclass(frozen=True)
class FieldGroup:
    id: str
    title: str
    alt_id: str | None = None
    version: str | None = None
    intended_to_extend: tuple[str, ...] = ()
    tenant_namespace: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FieldGroup:
        return cls(
            id=data["$id"],
            title=data.get("title", ""),
            alt_id=data.get("meta:altId"),
            version=_registry_version(data),
            intended_to_extend=_str_tuple(data.get("meta:intendedToExtend")),
            tenant_namespace=data.get("meta:tenantNamespace"),
        )


@dataclass(frozen=True)
class SchemaClass:
    id: str
    title: str
    alt_id: str | None = None
    version: str | None = None
    extends: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SchemaClass:
        return cls(
            id=data["$id"],
            title=data.get("title", ""),
            alt_id=data.get("meta:altId"),
            version=_registry_version(data),
            extends=_str_tuple(data.get("meta:extends")),
        )


@dataclass(frozen=True)
class Descriptor:
    """A Schema Registry descriptor (`@id`, `@type`, the schema and field it applies to)."""

    id: str
    type: str
    schema_id: str = ""
    source_property: str = ""
    namespace: str = ""
    primary: bool = False

    @property
    def is_identity(self) -> bool:
        return self.type == "xdm:descriptorIdentity"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Descriptor:
        return cls(
            id=str(data.get("@id") or ""),
            type=str(data.get("@type") or ""),
            schema_id=str(data.get("xdm:sourceSchema") or ""),
            source_property=str(data.get("xdm:sourceProperty") or ""),
            namespace=str(data.get("xdm:namespace") or ""),
            primary=bool(quirks.to_bool(data.get("xdm:isPrimary"))),
        )


@dataclass(frozen=True)
class IdentityNamespace:
    """An Identity Service namespace (GET /data/core/idnamespace/identities)."""

    code: str
    name: str
    id: str = ""
    id_type: str = ""
    custom: bool = False
    description: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> IdentityNamespace:
        code = str(data.get("code") or "")
        return cls(
            code=code,
            name=str(data.get("name") or code),
            id="" if data.get("id") is None else str(data["id"]),
            id_type=str(data.get("idType") or ""),
            custom=bool(quirks.to_bool(data.get("custom"))),
            description=str(data.get("description") or ""),
        )


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    schema_id: str | None = None
    schema_content_type: str | None = None
    description: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], dataset_id: str | None = None) -> Dataset:
        """Catalog keys datasets by id (`{"<id>": {...}}`); pass the key as `dataset_id`, or
        pass the whole one-entry keyed object."""
        if dataset_id is None and "id" in data:
            dataset_id = str(data["id"])
        if dataset_id is None:
            ((dataset_id, data),) = quirks.catalog_entries(data)
        return cls(
            id=dataset_id,
            name=data.get("name", ""),
            schema_id=_dig(data, "schemaRef", "id"),
            schema_content_type=_dig(data, "schemaRef", "contentType"),
            description=data.get("description") or "",
            tags=dict(data.get("tags") or {}),
            created_at=ms_to_datetime(data.get("created")),
            updated_at=ms_to_datetime(data.get("updated")),
        )


@dataclass(frozen=True)
class FailedRecordError:
    """Why AEP rejected a record: code and message, and the fields involved when known."""

    code: str
    message: str
    source_field: str | None = None  # `columnName`: the source attribute, e.g. `data.amount`
    path: str | None = None  # the schema field the value was headed for

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FailedRecordError:
        return cls(
            code=str(data.get("code") or ""),
            message=str(data.get("message") or data.get("description") or ""),
            source_field=data.get("columnName") or data.get("source") or None,
            path=data.get("path") or data.get("pointerToViolation") or None,
        )


@dataclass(frozen=True)
class FailedRecord:
    """One line of a Data Access error file: the source record as sent, and its errors."""

    source: str  # `_corrupt_record`, the record's JSON text as it reached AEP
    errors: tuple[FailedRecordError, ...]
    file: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any], file: str = "") -> FailedRecord:
        raw = data.get("_corrupt_record")
        source = raw if isinstance(raw, str) else json.dumps(raw, separators=(",", ":"))
        errors = data.get("_errors") or data.get("_validationErrors") or ()
        return cls(
            source=source,
            errors=tuple(FailedRecordError.from_api(e) for e in errors if isinstance(e, Mapping)),
            file=str(data.get("_filename") or file),
        )

    @property
    def record(self) -> Any:
        """The source record parsed and out of any lone root field, or None when it is not
        JSON (a corrupt row)."""
        try:
            return quirks.unwrap_lone_root(json.loads(self.source))
        except ValueError:
            return None

    @property
    def record_id(self) -> str | None:
        record = self.record
        value = record.get("id") if isinstance(record, Mapping) else None
        return None if value is None else str(value)

    def value_at(self, source_field: str | None) -> tuple[bool, Any]:
        """(found, value) of a source attribute such as `data.amount` in this record.

        Stripe sources name attributes under `data.`, the object itself; a path that does not
        resolve (a calculated field, a missing key) gives (False, None).
        """
        record = self.record
        if not source_field or not isinstance(record, Mapping):
            return False, None
        current: Any = {"data": record}
        for key in source_field.split("."):
            if not isinstance(current, Mapping) or key not in current:
                return False, None
            current = current[key]
        return True, current


@dataclass(frozen=True)
class FailedRecordSample:
    """A batch's failed records as far as they were read; `available` is False when AEP keeps
    no diagnostics for the batch (error diagnostics off), with AEP's `message`."""

    batch_id: str
    available: bool
    records: tuple[FailedRecord, ...] = ()
    files: int = 0
    truncated: bool = False  # more failed records exist than were read
    message: str = ""
