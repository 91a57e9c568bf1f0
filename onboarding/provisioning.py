"""Turn a Draft into AEP objects: ordered, resumable steps, each storing its AEP id at once.

Per resource path: source connection → (field group + schema + identity descriptors + the
schema's Profile tag + dataset, when the user asked for a new dataset) → target connection →
mapping set → flow; one shared XDM class comes first when any path needs a new schema, and a
custom identity namespace when the person asked for one. Profile follows Adobe's order
(catalog/datasets/enable-for-profile.md): the primary identity descriptor, then the schema's
`union` tag, then the dataset tagged `enabled:true`. Each step's body comes from one function
here (on top of `aep.payloads`), which both the Review page and the step's create call use, so
what the user reviewed is what AEP receives.

A retry runs the steps again: `done` ones are skipped, and a step that was tried before first
looks for the object it may already have created (AEP may have acted on a call that then timed
out), so retries never leave duplicates. A step that meets a passing error (429, 5xx, timeout)
is retried by the task, sent back to the queue with a countdown (RetryLater), so waiting holds
no worker slot.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

import core.mapping
from aep import AEPClient, AEPError, NotFoundError, payloads, redact
from aep.types import Descriptor
from core.explain import explain_step_failure, unexpected_failure
from core.metrics import record_aep_error
from monitoring.audit import record
from monitoring.models import Account, AlertRule, Dataflow, Subscription
from onboarding import identities, mapping
from onboarding import schedule as schedules
from onboarding.models import Draft, ProvisioningStep, stale_after

logger = logging.getLogger(__name__)
Kind = ProvisioningStep.Kind
StepStatus = ProvisioningStep.Status

CLASS_TITLE = "Stripe record"
NEW_DATASET_KINDS = (
    Kind.SOURCE_CONNECTION,
    Kind.FIELD_GROUP,
    Kind.SCHEMA,
    Kind.IDENTITY,
    Kind.PROFILE_SCHEMA,
    Kind.DATASET,
    Kind.TARGET_CONNECTION,
    Kind.MAPPING_SET,
    Kind.FLOW,
)
EXISTING_DATASET_KINDS = (
    Kind.SOURCE_CONNECTION,
    Kind.TARGET_CONNECTION,
    Kind.MAPPING_SET,
    Kind.FLOW,
)
# A step's retry waits at most this long, even when AEP's Retry-After asks for more: half of
# STALE_AFTER, so a draft waiting for its retry does not read as stalled while interactive
# workers keep up (if none takes the retry in time, the person may resume the draft safely).
MAX_RETRY_WAIT_SECONDS = 90


def note_aep_error(
    exc: AEPError, message: str, *args: object, level: int = logging.WARNING
) -> None:
    """Count an AEP error on /metrics and log it with AEP's request id, as core.jobs.perform
    does for jobs: provisioning and discarding record their outcome on the Draft instead."""
    record_aep_error(exc.code)
    logger.log(
        level,
        message + ": AEP error %s (HTTP %s)",
        *args,
        exc.code or "-",
        exc.status_code or "-",
        extra={"aep_request_id": exc.request_id or "", "aep_error_code": exc.code or ""},
    )


def resource_label(path: str) -> str:
    return path.replace("_", " ")


def default_flow_name(account_name: str, path: str) -> str:
    return f"Stripe {resource_label(path)} - {account_name}".strip(" -")


def default_dataset_name(account_name: str, path: str) -> str:
    """Per account, so two accounts' drafts in one sandbox never propose the same dataset."""
    return f"Stripe {resource_label(path)} data - {account_name}".strip(" -")


# -- the draft's mark on what it creates --------------------------------------------------------
#
# A retry looks for what an earlier attempt may have created, by name; another draft (or a
# person) may have an object of that name. Everything the wizard creates carries the draft's
# id where AEP keeps it and lists it back: the description (source and target connections,
# dataset, flow) or, where lists show titles only (field group, schema, mapping set), the
# title. Only marked objects are adopted as this draft's (and so deleted by Discard); the
# shared class is always treated as reused.


def description_mark(draft: Draft) -> str:
    return f"(Stripe Sources draft {draft.pk})"


def title_mark(draft: Draft) -> str:
    return f"[{draft.pk.hex[:8]}]"


def marked(draft: Draft, description: str) -> str:
    return f"{description} {description_mark(draft)}"


def carries_mark(draft: Draft, description: str) -> bool:
    return description_mark(draft) in (description or "")


def uses_new_dataset(draft: Draft, path: str) -> bool:
    return (draft.datasets.get(path) or {}).get("mode", "new") != "existing"


def schema_for_checks(draft: Draft, path: str) -> str | None:
    """The schema mapping checks name as `outputSchema`, whenever one exists in AEP: the chosen
    dataset's, or the new one an earlier provisioning attempt already created. None before
    the new schema exists (Data Prep then checks sources and expressions, not field types)."""
    if not uses_new_dataset(draft, path):
        return (draft.datasets.get(path) or {}).get("schema_id") or None
    created = (
        draft.steps.filter(resource_path=path, kind=Kind.SCHEMA)
        .exclude(aep_id="")
        .values_list("aep_id", flat=True)
        .first()
    )
    return created or None


@dataclass(frozen=True)
class Names:
    flow: str
    dataset: str
    mark: str = ""

    @property
    def source(self) -> str:
        return f"{self.flow} - source"

    @property
    def target(self) -> str:
        return f"{self.flow} - target"

    @property
    def mapping(self) -> str:
        return f"{self.flow} - mapping {self.mark}".strip()

    @property
    def field_group(self) -> str:
        return f"{self.dataset} fields {self.mark}".strip()

    @property
    def schema(self) -> str:
        return f"{self.dataset} schema {self.mark}".strip()


def names_for(draft: Draft, path: str) -> Names:
    account = draft.account.name if draft.account else draft.account_name
    flow = draft.flow_names.get(path) or default_flow_name(account, path)
    dataset = (draft.datasets.get(path) or {}).get("name") or default_dataset_name(account, path)
    return Names(flow=flow, dataset=dataset, mark=title_mark(draft))


def plan(draft: Draft) -> list[tuple[str, str]]:
    """(resource path, kind) of every object provisioning creates, in order."""
    steps: list[tuple[str, str]] = []
    if any(uses_new_dataset(draft, path) for path in draft.resource_paths):
        steps.append(("", Kind.SCHEMA_CLASS))
    if identities.creates_namespace(draft):
        steps.append(("", Kind.IDENTITY_NAMESPACE))
    for path in draft.resource_paths:
        kinds = NEW_DATASET_KINDS if uses_new_dataset(draft, path) else EXISTING_DATASET_KINDS
        steps.extend((path, kind) for kind in kinds if _planned(draft, path, kind))
    return steps


def _planned(draft: Draft, path: str, kind: str) -> bool:
    """Identity descriptors only for identity rows; the Profile tag only when asked for."""
    if kind == Kind.IDENTITY:
        return bool(identities.identities(draft, path))
    if kind == Kind.PROFILE_SCHEMA:
        return wants_profile(draft, path)
    return True


def create_steps(draft: Draft) -> bool:
    """Plan the draft's steps afresh; False, changing nothing, once a step was tried or holds
    an AEP id (a plan already under way is never thrown away with what it created)."""
    if draft.steps.exclude(aep_id="", attempts=0).exists():
        return False
    draft.steps.all().delete()
    ProvisioningStep.objects.bulk_create(
        ProvisioningStep(draft=draft, position=i, resource_path=path, kind=kind)
        for i, (path, kind) in enumerate(plan(draft))
    )
    return True


# -- payloads ----------------------------------------------------------------------------------


@dataclass
class Ids:
    """AEP ids known so far; unknown ones show as placeholders on the Review page."""

    values: dict[tuple[str, str], str] = field(default_factory=dict)
    extra: dict[tuple[str, str], dict] = field(default_factory=dict)

    def get(self, path: str, kind: str) -> str:
        return self.values.get((path, kind)) or "{" + _placeholder(kind) + "}"

    @classmethod
    def from_steps(cls, steps: Iterable[ProvisioningStep]) -> Ids:
        ids = cls()
        for step in steps:
            if step.aep_id:
                ids.values[(step.resource_path, step.kind)] = step.aep_id
                ids.extra[(step.resource_path, step.kind)] = step.extra
        return ids


def _placeholder(kind: str) -> str:
    placeholders: dict[str, str] = {
        Kind.SCHEMA_CLASS: "id of the Stripe record class",
        Kind.SOURCE_CONNECTION: "id of the source connection",
        Kind.FIELD_GROUP: "id of the field group",
        Kind.SCHEMA: "id of the new schema",
        Kind.IDENTITY_NAMESPACE: "code of the new namespace",
        Kind.IDENTITY: "id of the primary identity descriptor",
        Kind.DATASET: "id of the new dataset",
        Kind.TARGET_CONNECTION: "id of the target connection",
        Kind.MAPPING_SET: "id of the mapping set",
    }
    return placeholders.get(kind, "new id")


def target_ids(draft: Draft, path: str, ids: Ids) -> tuple[str, str]:
    """(dataset id, schema id) the flow of `path` writes to."""
    if uses_new_dataset(draft, path):
        return ids.get(path, Kind.DATASET), ids.get(path, Kind.SCHEMA)
    chosen = draft.datasets.get(path) or {}
    return chosen.get("dataset_id", ""), chosen.get("schema_id", "")


def class_body() -> dict[str, Any]:
    return payloads.xdm_class(
        title=CLASS_TITLE,
        description="Stripe objects (charges, customers, …) loaded by the Stripe source.",
    )


def source_connection_body(draft: Draft, path: str) -> dict[str, Any]:
    return payloads.source_connection(
        name=names_for(draft, path).source,
        description=marked(draft, f"Stripe {resource_label(path)}"),
        base_connection_id=draft.base_connection_id or "{id of the account's base connection}",
        params={"resourcePath": path},
    )


def field_group_body(draft: Draft, path: str, ids: Ids) -> dict[str, Any]:
    names = names_for(draft, path)
    return mapping.field_group_body(
        title=names.field_group,
        description=marked(draft, f"Stripe {resource_label(path)} fields, as explored."),
        tenant_namespace=draft.tenant_namespace,
        resource_path=path,
        explored_schema=(draft.explore.get(path) or {}).get("schema") or {},
        rows=draft.mappings.get(path) or [],
        class_id=ids.get("", Kind.SCHEMA_CLASS),
    )


def schema_body(draft: Draft, path: str, ids: Ids) -> dict[str, Any]:
    return payloads.schema(
        title=names_for(draft, path).schema,
        description=marked(draft, f"Stripe {resource_label(path)} as loaded by the Stripe source."),
        class_id=ids.get("", Kind.SCHEMA_CLASS),
        field_group_ids=[ids.get(path, Kind.FIELD_GROUP)],
    )


def wants_profile(draft: Draft, path: str) -> bool:
    """Profile can only be switched on for a dataset the wizard creates."""
    return path in (draft.profile_datasets or []) and uses_new_dataset(draft, path)


def dataset_tags(draft: Draft, path: str) -> dict[str, list[str]]:
    """Catalog tags that enable the new dataset for Profile (and its identities for the graph)."""
    if not wants_profile(draft, path):
        return {}
    return {key: list(values) for key, values in payloads.PROFILE_DATASET_TAGS.items()}


def namespace_body(draft: Draft) -> dict[str, Any]:
    asked = draft.custom_namespace or {}
    return payloads.identity_namespace(
        name=str(asked.get("name") or asked.get("code") or ""),
        code=identities.requested_code(draft),
        id_type=str(asked.get("id_type") or "CROSS_DEVICE"),
        description="Created by Stripe Sources for Stripe identities.",
    )


def identity_bodies(draft: Draft, path: str, ids: Ids) -> list[dict[str, Any]]:
    """One identity descriptor per identity row of the new schema, the primary one first."""
    chosen = sorted(identities.identities(draft, path), key=lambda i: not i.primary)
    return [
        payloads.identity_descriptor(
            schema_id=ids.get(path, Kind.SCHEMA),
            destination=identity.destination,
            namespace=identity.namespace,
            primary=identity.primary,
        )
        for identity in chosen
    ]


def bodies(draft: Draft, path: str, kind: str, ids: Ids) -> list[Any]:
    """Every request body of one step: one, except for identity descriptors (one per field)."""
    if kind == Kind.IDENTITY:
        return list(identity_bodies(draft, path, ids))
    return [PAYLOADS[kind](draft, path, ids)]


def endpoint(path: str, kind: str, ids: Ids) -> str:
    if kind == Kind.PROFILE_SCHEMA:
        schema_id = ids.get(path, Kind.SCHEMA)
        shown = schema_id if schema_id.startswith("{") else quote(schema_id, safe="")
        return f"{ENDPOINTS[kind]}/{shown}"
    return ENDPOINTS[kind]


def dataset_body(draft: Draft, path: str, ids: Ids) -> dict[str, Any]:
    return payloads.dataset(
        name=names_for(draft, path).dataset,
        description=marked(draft, f"Stripe {resource_label(path)}"),
        schema_id=ids.get(path, Kind.SCHEMA),
        tags=dataset_tags(draft, path),
    )


def target_connection_body(draft: Draft, path: str, ids: Ids) -> dict[str, Any]:
    dataset_id, schema_id = target_ids(draft, path, ids)
    return payloads.target_connection(
        name=names_for(draft, path).target,
        description=marked(draft, f"Data lake dataset for Stripe {resource_label(path)}"),
        dataset_id=dataset_id,
        schema_id=schema_id,
    )


def mapping_set_body(draft: Draft, path: str, ids: Ids) -> dict[str, Any]:
    _dataset_id, schema_id = target_ids(draft, path, ids)
    rows = draft.mappings.get(path) or []
    name = names_for(draft, path).mapping
    return core.mapping.mapping_set_body(schema_id, mapping.rules(rows), name=name)


def flow_schedule(draft: Draft):
    start = draft.start_time or timezone.now()
    return schedules.to_api(draft.frequency, draft.interval, start, draft.backfill)


def flow_options(draft: Draft) -> dict[str, Any]:
    """The flow's `options` object; only switched-on options are sent."""
    options: dict[str, Any] = {}
    if draft.error_diagnostics:
        options["errorDiagnosticsEnabled"] = True
    if draft.partial_ingestion and draft.partial_ingestion_percent:
        percent = draft.partial_ingestion_percent
        options["partialIngestionPercent"] = int(percent) if percent.is_integer() else percent
    return options


def flow_body(draft: Draft, path: str, ids: Ids) -> dict[str, Any]:
    version = (ids.extra.get((path, Kind.MAPPING_SET)) or {}).get("version", 0)
    return payloads.flow(
        name=names_for(draft, path).flow,
        description=marked(draft, f"Stripe {resource_label(path)} into AEP"),
        source_connection_id=ids.get(path, Kind.SOURCE_CONNECTION),
        target_connection_id=ids.get(path, Kind.TARGET_CONNECTION),
        mapping_id=ids.get(path, Kind.MAPPING_SET),
        mapping_version=version,
        schedule=flow_schedule(draft),
        options=flow_options(draft),
    )


PAYLOADS: dict[str, Callable[[Draft, str, Ids], Any]] = {
    Kind.SCHEMA_CLASS: lambda draft, path, ids: class_body(),
    Kind.IDENTITY_NAMESPACE: lambda draft, path, ids: namespace_body(draft),
    Kind.IDENTITY: lambda draft, path, ids: (identity_bodies(draft, path, ids) or [{}])[0],
    Kind.PROFILE_SCHEMA: lambda draft, path, ids: payloads.union_tag_patch(),
    Kind.SOURCE_CONNECTION: lambda draft, path, ids: source_connection_body(draft, path),
    Kind.FIELD_GROUP: field_group_body,
    Kind.SCHEMA: schema_body,
    Kind.DATASET: dataset_body,
    Kind.TARGET_CONNECTION: target_connection_body,
    Kind.MAPPING_SET: mapping_set_body,
    Kind.FLOW: flow_body,
}
ENDPOINTS: dict[str, str] = {
    Kind.SCHEMA_CLASS: "POST /data/foundation/schemaregistry/tenant/classes",
    Kind.SOURCE_CONNECTION: "POST /data/foundation/flowservice/sourceConnections",
    Kind.FIELD_GROUP: "POST /data/foundation/schemaregistry/tenant/fieldgroups",
    Kind.SCHEMA: "POST /data/foundation/schemaregistry/tenant/schemas",
    Kind.IDENTITY_NAMESPACE: "POST /data/core/idnamespace/identities",
    Kind.IDENTITY: "POST /data/foundation/schemaregistry/tenant/descriptors",
    Kind.PROFILE_SCHEMA: "PATCH /data/foundation/schemaregistry/tenant/schemas",
    Kind.DATASET: "POST /data/foundation/catalog/dataSets",
    Kind.TARGET_CONNECTION: "POST /data/foundation/flowservice/targetConnections",
    Kind.MAPPING_SET: "POST /data/foundation/conversion/mappingSets",
    Kind.FLOW: "POST /data/foundation/flowservice/flows",
}


def payload(draft: Draft, path: str, kind: str, ids: Ids) -> Any:
    return redact(PAYLOADS[kind](draft, path, ids))


def _shown_name(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    return body.get("name") or body.get("title") or body.get("xdm:sourceProperty") or ""


def review_groups(draft: Draft) -> list[dict[str, Any]]:
    """What Review shows: per resource path, each object with its endpoint and payload."""
    ids = Ids()
    groups: dict[str, list[dict]] = {}
    for path, kind in plan(draft):
        for body in bodies(draft, path, kind, ids):
            body = redact(body)
            groups.setdefault(path, []).append(
                {
                    "kind": kind,
                    "label": Kind(kind).label,
                    "name": _shown_name(body),
                    "endpoint": endpoint(path, kind, ids),
                    "payload": body,
                }
            )
    return [
        {
            "resource": path,
            "items": items,
            "flow_name": names_for(draft, path).flow if path else "",
            "dataset": (draft.datasets.get(path) or {}) if path else {},
            "rows": len(draft.mappings.get(path) or []),
        }
        for path, items in groups.items()
    ]


# -- finding what an earlier attempt created ----------------------------------------------------


def _first(items: Iterable[Any], accept: Callable[[Any], bool]) -> Any:
    return next((item for item in items if accept(item)), None)


@dataclass
class Attempt:
    """One go at a draft's steps: finds what an earlier go created, creates the rest, and
    keeps the AEP ids known so far."""

    client: AEPClient
    draft: Draft
    ids: Ids
    # The draft's attempt this go belongs to; writes about the draft are fenced by it.
    number: int = 0

    def find(self, step: ProvisioningStep) -> tuple[str, str, dict] | None:
        """The object this step may have created in an earlier attempt, if AEP has it."""
        finder = getattr(self, f"_find_{step.kind}")
        return finder(step.resource_path)

    def find_own(self, step: ProvisioningStep) -> tuple[str, str, dict] | None:
        """What `find` finds, when it is this draft's own: the shared class never is."""
        return None if step.kind == Kind.SCHEMA_CLASS else self.find(step)

    def create(self, step: ProvisioningStep) -> tuple[str, str, dict]:
        creator = getattr(self, f"_create_{step.kind}")
        return creator(step.resource_path)

    def body(self, path: str, kind: str) -> Any:
        """What the step of `kind` sends: the body Review showed, with the ids now known."""
        return PAYLOADS[kind](self.draft, path, self.ids)

    # class
    def _find_schema_class(self, path: str):
        found = _first(self.client.schemas.list_classes(), lambda c: c.title == CLASS_TITLE)
        return (found.id, "", {}) if found else None

    def _create_schema_class(self, path: str):
        created = self.client.schemas.create_class(self.body(path, Kind.SCHEMA_CLASS))
        return created.id, "", {}

    # custom identity namespace (Identity Service cannot delete one, so it is never removed)
    def _find_identity_namespace(self, path: str):
        code = identities.requested_code(self.draft).lower()
        found = _first(self.client.identity.list_namespaces(), lambda n: n.code.lower() == code)
        return (found.code, "", {}) if found else None

    def _create_identity_namespace(self, path: str):
        created = self.client.identity.create_namespace(namespace_body(self.draft))
        return created.code, "", {}

    # identity descriptors: each one adopted when the schema already has it, so a retry after
    # a partial success creates only the missing ones
    def _find_identity(self, path: str):
        wanted = identity_bodies(self.draft, path, self.ids)
        existing = self.descriptors_of(path)
        if all(_matching(existing, body) for body in wanted):
            return self._identity_result(wanted, existing)
        return None

    def _create_identity(self, path: str):
        existing = self.descriptors_of(path)
        for body in identity_bodies(self.draft, path, self.ids):
            if _matching(existing, body) is None:
                existing.append(self.client.schemas.create_descriptor(body))
        return self._identity_result(identity_bodies(self.draft, path, self.ids), existing)

    def descriptors_of(self, path: str) -> list[Descriptor]:
        schema_id = self.ids.get(path, Kind.SCHEMA)
        return [
            d for d in self.client.schemas.list_descriptors(schema_id=schema_id) if d.is_identity
        ]

    @staticmethod
    def _identity_result(wanted: list[dict[str, Any]], existing: list[Descriptor]):
        matched = [_matching(existing, body) for body in wanted]
        by_field = {d.source_property: d.id for d in matched if d is not None}
        primary = next((d.id for d in matched if d is not None and d.primary), "")
        return primary or next(iter(by_field.values()), ""), "", {"descriptors": by_field}

    # the schema's union tag (Profile); adding it again is harmless, so a retry just repeats it
    def _find_profile_schema(self, path: str):
        return None

    def _create_profile_schema(self, path: str):
        schema_id = self.ids.get(path, Kind.SCHEMA)
        self.client.schemas.patch_schema(schema_id, self.body(path, Kind.PROFILE_SCHEMA))
        return schema_id, "", {}

    # source connection
    def _find_source_connection(self, path: str):
        name = names_for(self.draft, path).source
        base = self.draft.base_connection_id
        found = _first(
            self.client.flowservice.list_source_connections(
                properties=[f"baseConnectionId=={base}"]
            ),
            lambda sc: (
                sc.name == name
                and sc.resource_path == path
                and carries_mark(self.draft, sc.description)
            ),
        )
        return (found.id, found.etag or "", {}) if found else None

    def _create_source_connection(self, path: str):
        body = self.body(path, Kind.SOURCE_CONNECTION)
        created = self.client.flowservice.create_source_connection(body)
        return created.id, created.etag or "", {}

    # field group
    def _find_field_group(self, path: str):
        title = names_for(self.draft, path).field_group
        found = _first(self.client.schemas.list_field_groups(), lambda g: g.title == title)
        return (found.id, "", {}) if found else None

    def _create_field_group(self, path: str):
        created = self.client.schemas.create_field_group(self.body(path, Kind.FIELD_GROUP))
        return created.id, "", {}

    # schema
    def _find_schema(self, path: str):
        title = names_for(self.draft, path).schema
        found = _first(self.client.schemas.list_schemas(), lambda s: s.title == title)
        return (found.id, "", {}) if found else None

    def _create_schema(self, path: str):
        created = self.client.schemas.create_schema(self.body(path, Kind.SCHEMA))
        return created.id, "", {}

    # dataset
    def _find_dataset(self, path: str):
        body = self.body(path, Kind.DATASET)
        schema_id = body["schemaRef"]["id"]
        found = _first(
            self.client.catalog.list_datasets(properties=["name", "schemaRef", "description"]),
            lambda d: (
                d.name == body["name"]
                and d.schema_id == schema_id
                and carries_mark(self.draft, d.description)
            ),
        )
        return (found.id, "", {}) if found else None

    def _create_dataset(self, path: str):
        dataset_id = self.client.catalog.create_dataset(self.body(path, Kind.DATASET))
        return dataset_id, "", {}

    # target connection
    def _find_target_connection(self, path: str):
        body = self.body(path, Kind.TARGET_CONNECTION)
        dataset_id = body["params"]["dataSetId"]
        found = _first(
            self.client.flowservice.list_target_connections(
                properties=[f"params.dataSetId=={dataset_id}"]
            ),
            lambda tc: tc.name == body["name"] and carries_mark(self.draft, tc.description),
        )
        return (found.id, found.etag or "", {}) if found else None

    def _create_target_connection(self, path: str):
        body = self.body(path, Kind.TARGET_CONNECTION)
        created = self.client.flowservice.create_target_connection(body)
        return created.id, created.etag or "", {}

    # mapping set
    def _find_mapping_set(self, path: str):
        body = self.body(path, Kind.MAPPING_SET)
        schema_id = body["outputSchema"]["schemaRef"]["id"]
        found = _first(
            self.client.dataprep.list_mapping_sets(name=body["name"]),
            lambda m: m.schema_id in (None, schema_id),
        )
        return (found.id, "", {"version": found.version}) if found else None

    def _create_mapping_set(self, path: str):
        created = self.client.dataprep.create_mapping_set(self.body(path, Kind.MAPPING_SET))
        return created.id, "", {"version": created.version}

    # flow
    def _find_flow(self, path: str):
        source_id = self.ids.get(path, Kind.SOURCE_CONNECTION)
        found = _first(
            self.client.flowservice.list_flows(properties=[f"sourceConnectionIds[]=={source_id}"]),
            lambda f: carries_mark(self.draft, f.description),
        )
        return (found.id, found.etag or "", {}) if found else None

    def _create_flow(self, path: str):
        created = self.client.flowservice.create_flow(self.body(path, Kind.FLOW))
        return created.id, created.etag or "", {}


def _matching(existing: list[Descriptor], body: dict[str, Any]) -> Descriptor | None:
    """The descriptor of `existing` on the same field of the same schema as `body`."""
    return _first(
        existing,
        lambda d: (
            d.schema_id == body["xdm:sourceSchema"]
            and d.source_property == body["xdm:sourceProperty"]
        ),
    )


# -- transitions: every change of a draft's status locks its row and re-checks it -------------
#
# Two clicks, two tabs or a person and beat may ask for the same change at once; each change
# happens under the draft's row lock after its condition is checked again, so only the first
# takes effect. A new attempt number fences off any worker still on an older one.


def _locked(draft: Draft) -> Draft:
    return (
        Draft.objects.select_related("sandbox", "account", "created_by")
        .select_for_update(of=("self",))
        .get(pk=draft.pk)
    )


def _new_attempt(draft: Draft, status: str, task, *, automatic: bool = False) -> int:
    """Move the locked `draft` to `status` under a new attempt and send `task` on commit."""
    draft.status = status
    draft.attempt += 1
    draft.heartbeat = None
    draft.error = ""
    draft.auto_resumes = draft.auto_resumes + 1 if automatic else 0
    draft.save(update_fields=["status", "attempt", "heartbeat", "error", "auto_resumes", "updated"])
    task.delay_on_commit(str(draft.pk), draft.attempt)
    return draft.attempt


def start(draft: Draft, task) -> bool:
    """Review → Create: plan the steps and queue the first attempt; False when the draft has
    already left editing (a second click, another tab) and nothing was changed."""
    with transaction.atomic():
        locked = _locked(draft)
        if locked.status != Draft.Status.EDITING or not create_steps(locked):
            return False
        _new_attempt(locked, Draft.Status.PROVISIONING, task)
    return True


def may_resume(draft: Draft) -> bool:
    """Retry after a failure, or Resume a provisioning or discard whose worker went away (a
    stalled discard is cancelled by it: what it removed is created again)."""
    return draft.status == Draft.Status.FAILED or draft.is_stale


def resume(draft: Draft, task, *, automatic: bool = False) -> bool:
    """A new provisioning attempt; steps already done are skipped. False when the draft is
    not resumable any more (someone else resumed it first, or its worker came back)."""
    with transaction.atomic():
        locked = _locked(draft)
        if not may_resume(locked):
            return False
        # Objects a discard already removed must be created again.
        locked.steps.filter(status=StepStatus.DELETED).update(
            status=StepStatus.PENDING, aep_id="", created_here=False
        )
        _new_attempt(locked, Draft.Status.PROVISIONING, task, automatic=automatic)
    return True


def created_anything(draft: Draft) -> bool:
    if draft.account_mode == Draft.AccountMode.NEW and draft.connection_id:
        return True
    return draft.steps.exclude(status__in=[StepStatus.PENDING, StepStatus.DELETED]).exists()


def start_discard(draft: Draft, task, *, automatic: bool = False) -> str:
    """Discard the draft: DISCARDED at once when nothing was created, else DISCARDING with the
    cleanup queued. Returns the new status, or "" when the draft cannot be discarded now (done,
    or a worker is still moving it)."""
    with transaction.atomic():
        locked = _locked(draft)
        if locked.status in (Draft.Status.DONE, Draft.Status.DISCARDED):
            return ""
        if locked.status in Draft.MOVING and not locked.is_stale:
            return ""
        if not created_anything(locked):
            locked.status = Draft.Status.DISCARDED
            locked.heartbeat = None
            locked.forget_token()
            locked.save(update_fields=["status", "heartbeat", "access_token", "updated"])
            return Draft.Status.DISCARDED
        _new_attempt(locked, Draft.Status.DISCARDING, task, automatic=automatic)
    return Draft.Status.DISCARDING


def stalled(now: datetime | None = None):
    """Drafts whose provisioning or discard worker stopped beating (see Draft.is_stale)."""
    cutoff = (now or timezone.now()) - stale_after()
    return Draft.objects.filter(status__in=Draft.MOVING).filter(
        Q(heartbeat__lt=cutoff) | Q(heartbeat=None, updated__lt=cutoff)
    )


def resume_stalled(provision_task, discard_task, tell_owner: Callable[[Draft], None]) -> int:
    """Beat: resume each stalled provisioning or discard, at most settings.AUTOMATIC_RESUMES
    times in a row; then fail it, say why on its page and `tell_owner`. Returns how many moved.
    """
    moved = 0
    for draft in stalled():
        if draft.auto_resumes >= settings.AUTOMATIC_RESUMES:
            if _give_up(draft):
                tell_owner(draft)
                moved += 1
            continue
        if draft.status == Draft.Status.DISCARDING:
            resumed = start_discard(draft, discard_task, automatic=True) != ""
        else:
            resumed = resume(draft, provision_task, automatic=True)
        if resumed:
            logger.warning("resumed stalled draft %s (%s)", draft.pk, draft.status)
            moved += 1
    return moved


def _give_up(draft: Draft) -> bool:
    with transaction.atomic():
        locked = _locked(draft)
        if not locked.is_stale:
            return False
        if locked.status == Draft.Status.DISCARDING:
            why = _(
                "Discarding stopped %(n)d times without finishing (the background worker went "
                "away). Some objects may still be in AEP: Discard again once the workers run."
            )
        else:
            why = _(
                "Creation stopped %(n)d times without finishing (the background worker went "
                "away). Retry once the workers run: steps already done are not repeated."
            )
        locked.status = Draft.Status.FAILED
        locked.error = why % {"n": locked.auto_resumes + 1}
        locked.heartbeat = None
        locked.save(update_fields=["status", "error", "heartbeat", "updated"])
    logger.error("gave up on stalled draft %s after %s resumes", draft.pk, draft.auto_resumes)
    return True


# -- running -----------------------------------------------------------------------------------


def claim(draft_pk, attempt: int, held_since: datetime | None = None) -> bool:
    """Take this attempt; False when another worker has it or a newer attempt replaced it.

    A new attempt is free (no heartbeat). A retry the task scheduled finds the heartbeat that
    RetryLater left (`held_since`), so exactly one delivery of its message takes the attempt.
    """
    taken = Draft.objects.filter(
        pk=draft_pk, status=Draft.Status.PROVISIONING, attempt=attempt, heartbeat=held_since
    ).update(heartbeat=timezone.now())
    return taken == 1


def _still_current(draft_pk, attempt_no: int, status: str = Draft.Status.PROVISIONING) -> bool:
    """Beat the heartbeat of this attempt; False once a newer attempt (or a person) took over."""
    return (
        Draft.objects.filter(pk=draft_pk, attempt=attempt_no, status=status).update(
            heartbeat=timezone.now()
        )
        == 1
    )


def lease_interval() -> float:
    """How often a working attempt beats its heartbeat: well within the staleness limit."""
    return stale_after().total_seconds() / 4


@contextlib.contextmanager
def lease_kept(draft_pk, attempt_no: int, status: str = Draft.Status.PROVISIONING):
    """Keep beating the heartbeat while one step's AEP calls run.

    A single step may wait longer than the staleness limit (AEP slow to answer, the client's
    own retries); without this a live worker would read as dead, and a Resume (a person's or
    beat's) would start a second worker on the same step.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(lease_interval()):
                if not _still_current(draft_pk, attempt_no, status):
                    return  # superseded: the newer attempt keeps its own lease
        except Exception:
            logger.exception("could not renew the lease of draft %s", draft_pk)
        finally:
            connection.close()

    beater = threading.Thread(target=beat, name=f"lease-{draft_pk}", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()


@dataclass(frozen=True)
class StepRetries:
    """Automatic retries the task already made of one step in this attempt."""

    step_pk: int | None = None
    used: int = 0

    def used_for(self, step: ProvisioningStep) -> int:
        return self.used if step.pk == self.step_pk else 0


class RetryLater(Exception):
    """A step met a passing AEP error with retries left: run the attempt again in `countdown`
    seconds. The task re-sends itself with a countdown (its worker slot is free meanwhile) and
    claims the draft back with `held_since`."""

    def __init__(self, countdown: float, retries: StepRetries, held_since: datetime) -> None:
        super().__init__(f"retry step {retries.step_pk} in {countdown}s")
        self.countdown = countdown
        self.retries = retries
        self.held_since = held_since


def provision(
    client: AEPClient, draft: Draft, attempt_no: int, retries: StepRetries | None = None
) -> bool:
    """Run every step not yet done; True when all are done and the monitoring rows exist.

    Raises RetryLater when a step should be tried again after a wait.
    """
    retries = retries or StepRetries()
    steps = list(draft.steps.order_by("position"))
    current = Attempt(client, draft, Ids.from_steps(steps), attempt_no)
    for step in steps:
        if step.status == StepStatus.DONE:
            continue
        if not _still_current(draft.pk, attempt_no):
            logger.info("provisioning of draft %s attempt %s was superseded", draft.pk, attempt_no)
            return False
        if not _run_step(current, step, attempt_no, retries.used_for(step)):
            return False
    return finish(draft, current.ids, attempt_no) is not None


def _run_step(current: Attempt, step: ProvisioningStep, attempt_no: int, retries_used: int) -> bool:
    try:
        with lease_kept(current.draft.pk, attempt_no):
            _attempt_step(current, step)
    except AEPError as exc:
        if exc.retryable and retries_used < settings.ONBOARDING_STEP_RETRIES:
            wait = _retry_wait(exc, step.attempts)
            retrying = "step %s of draft %s: retry in %ss"
            note_aep_error(exc, retrying, step, current.draft.pk, wait, level=logging.INFO)
            # The step stays `running` with its attempt counted: the retry first looks for
            # what this call may have created.
            held_since = _hold(current.draft.pk, attempt_no)
            raise RetryLater(wait, StepRetries(step.pk, retries_used + 1), held_since) from exc
        note_aep_error(exc, "step %s of draft %s failed", step, current.draft.pk)
        _fail(current, step, explain_step_failure(exc), exc.code or "", exc.request_id or "")
        return False
    except Exception:
        logger.exception("step %s of draft %s failed unexpectedly", step, current.draft.pk)
        _fail(current, step, unexpected_failure())
        return False
    return True


def _hold(draft_pk, attempt_no: int) -> datetime:
    """Beat the draft's heartbeat for the wait: the page keeps showing progress, and only the
    retry holding this exact value may claim the attempt. A retry that never comes leaves the
    draft stale after STALE_AFTER, and the person may resume it."""
    held_since = timezone.now()
    Draft.objects.filter(pk=draft_pk, attempt=attempt_no, status=Draft.Status.PROVISIONING).update(
        heartbeat=held_since
    )
    return held_since


def _retry_wait(exc: AEPError, attempts: int) -> float:
    cap = min(MAX_RETRY_WAIT_SECONDS, stale_after().total_seconds() / 2)
    hinted = getattr(exc, "retry_after", None)
    if hinted is not None:
        return min(float(hinted), cap)
    return min(2.0**attempts, cap)


def _attempt_step(attempt: Attempt, step: ProvisioningStep) -> None:
    tried_before = step.attempts > 0
    step.status = StepStatus.RUNNING
    step.attempts += 1
    step.started = timezone.now()
    step.error = step.error_code = step.request_id = ""
    step.save()
    found = None
    # The shared class and a custom namespace are looked up every time: another draft may have
    # created them already.
    if tried_before or step.kind in (Kind.SCHEMA_CLASS, Kind.IDENTITY_NAMESPACE):
        found = attempt.find(step)
    if found:
        aep_id, etag, extra = found
        # Finders adopt only objects carrying this draft's mark; the shared class is reused.
        created_here = tried_before and step.kind != Kind.SCHEMA_CLASS
    else:
        aep_id, etag, extra = attempt.create(step)
        created_here = True
    # Store the id before anything else can fail, so a retry resumes from here.
    ProvisioningStep.objects.filter(pk=step.pk).update(
        aep_id=aep_id,
        etag=etag,
        extra=extra,
        created_here=created_here,
        status=StepStatus.DONE,
        finished=timezone.now(),
    )
    step.aep_id, step.etag, step.extra = aep_id, etag, extra
    step.created_here, step.status = created_here, StepStatus.DONE
    attempt.ids.values[(step.resource_path, step.kind)] = aep_id
    attempt.ids.extra[(step.resource_path, step.kind)] = extra
    if created_here:
        _audit_created(attempt, step)


def _audit_created(attempt: Attempt, step: ProvisioningStep) -> None:
    body = attempt.body(step.resource_path, step.kind)
    if step.kind == Kind.IDENTITY:
        body = {"descriptors": identity_bodies(attempt.draft, step.resource_path, attempt.ids)}
    elif not isinstance(body, dict):
        body = {"patch": body}  # the schema's JSON Patch
    if step.kind in (Kind.FIELD_GROUP, Kind.MAPPING_SET):
        # Whole field trees and mapping lists would swamp the audit trail; keep the gist.
        body = {
            key: value
            for key, value in body.items()
            if key not in ("definitions", "allOf", "mappings")
        }
        body["rows"] = len(attempt.draft.mappings.get(step.resource_path) or [])
    record(
        attempt.draft.created_by,
        "wizard.create",
        target_type=audit_target_type(step.kind),
        target_id=step.aep_id,
        target_label=body.get("name") or body.get("title") or step.resource_path,
        sandbox=attempt.draft.sandbox,
        after=body,
    )


def audit_target_type(kind: str) -> str:
    """Audit events name flows and base connections the way support operations do."""
    target_types: dict[str, str] = {Kind.FLOW: "dataflow"}
    return target_types.get(kind, kind)


def _fail(
    attempt: Attempt, step: ProvisioningStep, message: str, code: str = "", request_id: str = ""
):
    """Record the step's failure, unless a newer attempt took the draft over meanwhile (its
    steps and status are no longer this attempt's to write)."""
    with transaction.atomic():
        failed = Draft.objects.filter(
            pk=attempt.draft.pk, attempt=attempt.number, status=Draft.Status.PROVISIONING
        ).update(status=Draft.Status.FAILED, error=message, heartbeat=None)
        if not failed:
            logger.info("draft %s attempt %s failed after it was superseded", attempt.draft.pk,
                        attempt.number)  # fmt: skip
            return
        ProvisioningStep.objects.filter(pk=step.pk).update(
            status=StepStatus.FAILED,
            error=message,
            error_code=code,
            request_id=request_id,
            finished=timezone.now(),
        )
    record(
        attempt.draft.created_by,
        "wizard.create",
        target_type=audit_target_type(step.kind),
        target_label=step.resource_path or step.kind,
        sandbox=attempt.draft.sandbox,
        result="failed",
        error=message,
        request_id=request_id,
    )


@transaction.atomic
def finish(draft: Draft, ids: Ids, attempt_no: int | None = None) -> list[Dataflow] | None:
    """Create the monitoring Account and Dataflow rows, forget the Stripe key, mark done.

    With `attempt_no`, only while that attempt still holds the draft: one superseded meanwhile
    leaves the rows to the attempt that replaced it (and returns None).
    """
    draft = Draft.objects.select_for_update().get(pk=draft.pk)
    if attempt_no is not None and (
        draft.attempt != attempt_no or draft.status != Draft.Status.PROVISIONING
    ):
        logger.info("draft %s attempt %s finished after it was superseded", draft.pk, attempt_no)
        return None
    account = _account_for(draft)
    start = flow_schedule(draft).start_time
    flows = []
    for path in draft.resource_paths:
        dataset_id, schema_id = target_ids(draft, path, ids)
        flow, _created = Dataflow.objects.update_or_create(
            sandbox=draft.sandbox,
            flow_id=ids.values[(path, Kind.FLOW)],
            defaults={
                "account": account,
                "name": names_for(draft, path).flow,
                "description": f"Stripe {resource_label(path)} into AEP",
                "resource_path": path,
                "source_connection_id": ids.values[(path, Kind.SOURCE_CONNECTION)],
                "target_connection_id": ids.values[(path, Kind.TARGET_CONNECTION)],
                "dataset_id": dataset_id,
                "schema_id": schema_id,
                "mapping_set_id": ids.values[(path, Kind.MAPPING_SET)],
                "mapping_version": str(
                    (ids.extra.get((path, Kind.MAPPING_SET)) or {}).get("version", 0)
                ),
                "frequency": draft.frequency,
                "interval": draft.interval if draft.frequency != "once" else None,
                "start_time": start,
                "backfill": draft.backfill if draft.frequency != "once" else False,
                "owner": draft.created_by,
            },
        )
        flows.append(flow)
    if draft.alert_on_failure and draft.created_by_id:
        subscribe_to_failures(draft.created_by, flows)
    draft.account = account
    draft.status = Draft.Status.DONE
    draft.error = ""
    draft.heartbeat = None
    draft.forget_token()
    draft.save(update_fields=["account", "status", "error", "heartbeat", "access_token", "updated"])
    return flows


def subscribe_to_failures(user, flows: Iterable[Dataflow]) -> None:
    """Subscribe the creator to each flow, as the dataflow page's "Subscribe to alerts" does.

    Subscribers are emailed by alert rules, so a flow no run-failure rule covers gets its own.
    """
    global_rule = AlertRule.objects.filter(
        dataflow=None, kind=AlertRule.Kind.RUN_FAILED, enabled=True, notify_subscribers=True
    ).exists()
    for flow in flows:
        Subscription.objects.get_or_create(user=user, dataflow=flow)
        if global_rule:
            continue
        AlertRule.objects.get_or_create(
            dataflow=flow,
            kind=AlertRule.Kind.RUN_FAILED,
            defaults={"notify_subscribers": True, "created_by": user},
        )


def _account_for(draft: Draft) -> Account:
    if draft.account_mode == Draft.AccountMode.EXISTING and draft.account:
        return draft.account
    account, _created = Account.objects.get_or_create(
        sandbox=draft.sandbox,
        connection_id=draft.connection_id,
        defaults={
            "name": draft.account_name,
            "description": draft.account_description,
            "etag": draft.connection_etag,
            "token_last4": draft.token_last4,
            "key_kind": draft.key_kind,
            "livemode": draft.livemode,
            "probe_result": draft.probe,
            "probed_at": draft.probed_at,
            "created_by": draft.created_by,
        },
    )
    return account


# -- discarding --------------------------------------------------------------------------------

DELETERS: dict[str, Callable[[AEPClient, str], object]] = {
    Kind.FLOW: lambda c, i: c.flowservice.delete_flow(i),
    Kind.MAPPING_SET: lambda c, i: c.dataprep.delete_mapping_set(i),
    Kind.TARGET_CONNECTION: lambda c, i: c.flowservice.delete_target_connection(i),
    Kind.DATASET: lambda c, i: c.catalog.delete_dataset(i),
    Kind.SCHEMA: lambda c, i: c.schemas.delete_schema(i),
    Kind.IDENTITY: lambda c, i: c.schemas.delete_descriptor(i),
    Kind.FIELD_GROUP: lambda c, i: c.schemas.delete_field_group(i),
    Kind.SOURCE_CONNECTION: lambda c, i: c.flowservice.delete_source_connection(i),
    Kind.SCHEMA_CLASS: lambda c, i: c.schemas.delete_class(i),
}


# Left in place on discard: the union tag goes with the schema it is on (deleted next), and
# Identity Service has no way to delete a namespace.
KEPT_ON_DISCARD = (Kind.PROFILE_SCHEMA, Kind.IDENTITY_NAMESPACE)


def discard(client: AEPClient, draft: Draft, attempt_no: int | None = None) -> bool:
    """Delete what this draft created, newest first, then its base connection (new account).

    Identity descriptors go before their schema: they are only ever put on a schema this
    draft created, so they go with it.

    Raises AEPError when AEP refuses a delete; what was deleted until then stays recorded, so
    discarding again continues where it stopped. With `attempt_no`, each delete first beats
    the heartbeat of that attempt, and the discard stops (False) once a newer one took over.
    """
    steps = list(draft.steps.order_by("position"))
    attempt = Attempt(client, draft, Ids.from_steps(steps), attempt_no or 0)
    for step in reversed(steps):
        if step.status == StepStatus.DELETED:
            continue
        if attempt_no is not None and not _still_current(
            draft.pk, attempt_no, Draft.Status.DISCARDING
        ):
            logger.info("discard of draft %s attempt %s was superseded", draft.pk, attempt_no)
            return False
        with _lease(draft.pk, attempt_no, Draft.Status.DISCARDING):
            _discard_step(attempt, step)
    if draft.account_mode == Draft.AccountMode.NEW and draft.connection_id:
        with _lease(draft.pk, attempt_no, Draft.Status.DISCARDING):
            _delete_connection(client, draft)
    return True


def _lease(draft_pk, attempt_no: int | None, status: str):
    if attempt_no is None:
        return contextlib.nullcontext()
    return lease_kept(draft_pk, attempt_no, status)


def _discard_step(attempt: Attempt, step: ProvisioningStep) -> None:
    if not step.aep_id and step.attempts:
        found = attempt.find_own(step)
        if found:
            step.aep_id, step.created_here = found[0], True
    if step.kind == Kind.IDENTITY and step.attempts:
        _delete_descriptors(attempt.client, attempt.draft, attempt, step)
    elif step.aep_id and step.created_here and step.kind not in KEPT_ON_DISCARD:
        _delete(attempt.client, attempt.draft, step.kind, step.aep_id, step.resource_path)
    ProvisioningStep.objects.filter(pk=step.pk).update(status=StepStatus.DELETED)


def _delete(client: AEPClient, draft: Draft, kind: str, aep_id: str, path: str) -> None:
    try:
        DELETERS[kind](client, aep_id)
    except NotFoundError:
        pass  # already gone: that is what we want
    except AEPError as exc:
        if kind != Kind.SCHEMA_CLASS:
            raise  # the discard task counts and logs it
        # The class is shared by every draft of the sandbox; another one may be using it.
        kept = "kept class %s of draft %s: AEP refused to delete it"
        note_aep_error(exc, kept, aep_id, draft.pk, level=logging.INFO)
        return
    record(
        draft.created_by,
        "wizard.discard",
        target_type=audit_target_type(kind),
        target_id=aep_id,
        target_label=path or kind,
        sandbox=draft.sandbox,
    )


def _delete_descriptors(
    client: AEPClient, draft: Draft, attempt: Attempt, step: ProvisioningStep
) -> None:
    """Every identity descriptor the step put on its schema, even those of a step that failed
    half-way (found on the schema by field), so the schema can go without leftovers."""
    if not attempt.ids.values.get((step.resource_path, Kind.SCHEMA)):
        return  # no schema, so nothing can be on it
    ours = {
        body["xdm:sourceProperty"]
        for body in identity_bodies(draft, step.resource_path, attempt.ids)
    }
    ours |= set((step.extra or {}).get("descriptors") or {})
    for descriptor in attempt.descriptors_of(step.resource_path):
        if descriptor.source_property in ours:
            _delete(client, draft, Kind.IDENTITY, descriptor.id, step.resource_path)


def _delete_connection(client: AEPClient, draft: Draft) -> None:
    with contextlib.suppress(NotFoundError):
        client.flowservice.delete_connection(draft.connection_id)
    record(
        draft.created_by,
        "wizard.discard",
        target_type="account",
        target_id=draft.connection_id,
        target_label=draft.account_name,
        sandbox=draft.sandbox,
    )
    Draft.objects.filter(pk=draft.pk).update(connection_id="", connection_etag="")
    draft.connection_id = ""
