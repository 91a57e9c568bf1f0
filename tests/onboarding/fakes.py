"""An in-memory stand-in for `aep.AEPClient`, enough for the wizard's tasks.

It keeps every object it creates, so tests can count them, and can fail a call on request:
`fake.fail("create_flow", ServerError("boom"))` raises before acting, `after=True` acts first
(the object exists) and then raises, like a timeout after AEP did the work.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aep.dataprep import mapping_set_shape
from aep.errors import AEPError, BadRequestError
from aep.types import (
    Created,
    Dataset,
    Descriptor,
    ExploreResult,
    FieldGroup,
    FieldMapping,
    Flow,
    IdentityNamespace,
    MappingPreview,
    MappingSet,
    MappingValidation,
    RegistryStats,
    Schema,
    SchemaClass,
    SourceConnection,
    TargetConnection,
)

TENANT = "acme"
CHARGE = {
    "id": "ch_1",
    "object": "charge",
    "amount": 1099,
    "currency": "usd",
    "created": 1700000000,
    "status": "succeeded",
    "billing_details": {"email": "jo@example.org", "name": "Jo Doe", "address": {"city": "Oslo"}},
    "payment_method_details": {"card": {"last4": "4242", "brand": "visa"}},
    "metadata": {},
    "description": None,
}
CUSTOMER = {
    "id": "cus_1",
    "object": "customer",
    "email": "jo@example.org",
    "name": "Jo Doe",
    "created": 1700000000,
    "balance": 0,
}
SAMPLES = {
    "charges": [CHARGE, {**CHARGE, "id": "ch_2", "description": "x"}],
    "customers": [CUSTOMER],
}


def _schema_of(value: Any) -> dict:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: _schema_of(v) for k, v in value.items()}}
    return {}


def explore_schema(resource: str) -> dict:
    record = SAMPLES.get(resource, [{"id": "x"}])[0]
    return {"type": "object", "properties": {"data": _schema_of(record)}}


@dataclass
class Failure:
    exc: AEPError
    after: bool
    count: int


@dataclass
class FakeAEP:
    objects: dict[str, dict[str, dict]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.flowservice = self
        self.dataprep = self
        self.schemas = self
        self.catalog = self
        self.identity = self

    # -- test controls -------------------------------------------------------------------
    def fail(self, method: str, exc: AEPError, *, after: bool = False, count: int = 1) -> None:
        self.failures[method] = Failure(exc, after, count)

    def count(self, kind: str) -> int:
        return len(self.objects.get(kind, {}))

    def _enter(self, method: str) -> Failure | None:
        self.calls.append(method)
        failure = self.failures.get(method)
        if failure is None or failure.count <= 0:
            return None
        failure.count -= 1
        if not failure.after:
            raise failure.exc
        return failure

    def _store(self, kind: str, method: str, data: dict, prefix: str = "") -> str:
        failure = self._enter(method)
        new_id = f"{prefix}{kind}-{next(self._ids)}"
        self.objects.setdefault(kind, {})[new_id] = {"id": new_id, **data}
        if failure:
            raise failure.exc
        return new_id

    # -- flow service --------------------------------------------------------------------
    def create_connection(self, body) -> Created:
        new_id = self._store("connection", "create_connection", dict(body))
        return Created(new_id, '"etag-1"')

    def delete_connection(self, connection_id):
        self._delete("connection", "delete_connection", connection_id)

    def explore_connection(self, connection_id, resource_path, *, preview=False):
        self._enter("explore_connection")
        data = [{"data": r} for r in SAMPLES.get(resource_path, [])] if preview else []
        return ExploreResult("hierarchical", explore_schema(resource_path), data)

    def create_source_connection(self, body) -> Created:
        return Created(self._store("source", "create_source_connection", dict(body)), '"e"')

    def list_source_connections(self, *, properties=(), **kw):
        self._enter("list_source_connections")
        for item in self.objects.get("source", {}).values():
            yield SourceConnection.from_api(item)

    def delete_source_connection(self, source_id):
        self._delete("source", "delete_source_connection", source_id)

    def create_target_connection(self, body) -> Created:
        return Created(self._store("target", "create_target_connection", dict(body)), '"e"')

    def list_target_connections(self, *, properties=(), **kw):
        self._enter("list_target_connections")
        for item in self.objects.get("target", {}).values():
            yield TargetConnection.from_api(item)

    def delete_target_connection(self, target_id):
        self._delete("target", "delete_target_connection", target_id)

    def create_flow(self, body) -> Created:
        return Created(self._store("flow", "create_flow", dict(body)), '"e"')

    def list_flows(self, *, properties=(), **kw):
        self._enter("list_flows")
        wanted = [p.split("==", 1)[1] for p in properties if "sourceConnectionIds" in p]
        for item in self.objects.get("flow", {}).values():
            if not wanted or wanted[0] in item["sourceConnectionIds"]:
                yield Flow.from_api(item)

    def delete_flow(self, flow_id):
        self._delete("flow", "delete_flow", flow_id)

    # -- data prep -----------------------------------------------------------------------
    def create_mapping_set(self, body) -> MappingSet:
        new_id = self._store("mapping", "create_mapping_set", dict(body))
        return MappingSet(id=new_id, version=0)

    def list_mapping_sets(self, *, name=None, **kw):
        self._enter("list_mapping_sets")
        for item in self.objects.get("mapping", {}).values():
            if name is None or item.get("name") == name:
                yield MappingSet.from_api(item)

    def get_mapping_set(self, mapping_set_id, *, version=None) -> MappingSet:
        self._enter("get_mapping_set")
        return MappingSet.from_api(self.objects["mapping"][mapping_set_id])

    def delete_mapping_set(self, mapping_set_id):
        self._delete("mapping", "delete_mapping_set", mapping_set_id)

    def validate_mapping_set(self, body, *, require_schema=True):
        self._enter("validate_mapping_set")
        mapping_set_shape(body, require_schema=require_schema)
        return tuple(
            MappingValidation("FAILED", ({"message": "bad destination"},))
            if m["destination"].endswith("bad")
            else MappingValidation("SUCCESS")
            for m in body["mappings"]
        )

    def preview_mapping_set(self, body, records, *, require_schema=True):
        self._enter("preview_mapping_set")
        mapping_set_shape(body, require_schema=require_schema)
        return tuple(MappingPreview({"mapped": dict(r)}) for r in records)

    # -- schema registry and catalog -----------------------------------------------------
    def get_stats(self) -> RegistryStats:
        self._enter("get_stats")
        return RegistryStats(tenant_id=TENANT)

    def create_class(self, body) -> SchemaClass:
        new_id = self._store("class", "create_class", dict(body), prefix="https://ns/")
        return SchemaClass(id=new_id, title=body["title"])

    def list_classes(self, **kw):
        self._enter("list_classes")
        for item in self.objects.get("class", {}).values():
            yield SchemaClass(id=item["id"], title=item["title"])

    def delete_class(self, class_id):
        self._delete("class", "delete_class", class_id)

    def create_field_group(self, body) -> FieldGroup:
        new_id = self._store("fieldgroup", "create_field_group", dict(body), prefix="https://ns/")
        return FieldGroup(id=new_id, title=body["title"])

    def list_field_groups(self, **kw):
        self._enter("list_field_groups")
        for item in self.objects.get("fieldgroup", {}).values():
            yield FieldGroup(id=item["id"], title=item["title"])

    def delete_field_group(self, field_group_id):
        self._delete("fieldgroup", "delete_field_group", field_group_id)

    def create_schema(self, body) -> Schema:
        new_id = self._store("schema", "create_schema", dict(body), prefix="https://ns/")
        return Schema(id=new_id, title=body["title"])

    def list_schemas(self, **kw):
        self._enter("list_schemas")
        for item in self.objects.get("schema", {}).values():
            yield Schema(id=item["id"], title=item["title"])

    def delete_schema(self, schema_id):
        self._delete("schema", "delete_schema", schema_id)

    def patch_schema(self, schema_id, operations) -> Schema:
        self._enter("patch_schema")
        schema = self.objects["schema"][schema_id]
        for op in operations:
            if op["path"] == "/meta:immutableTags":
                if "union" in op["value"] and not self._has_primary(schema_id):
                    raise BadRequestError("no primary identity", status_code=400)
                schema["meta:immutableTags"] = list(op["value"])
        return Schema(id=schema_id, title=schema["title"])

    def create_descriptor(self, body) -> Descriptor:
        new_id = self._store("descriptor", "create_descriptor", {"@id": "", **dict(body)})
        self.objects["descriptor"][new_id]["@id"] = new_id
        return Descriptor.from_api(self.objects["descriptor"][new_id])

    def list_descriptors(self, *, schema_id=None):
        self._enter("list_descriptors")
        found = [Descriptor.from_api(d) for d in self.objects.get("descriptor", {}).values()]
        return [d for d in found if schema_id is None or d.schema_id == schema_id]

    def delete_descriptor(self, descriptor_id):
        self._delete("descriptor", "delete_descriptor", descriptor_id)

    def _has_primary(self, schema_id: str) -> bool:
        return any(d.primary for d in self.list_descriptors(schema_id=schema_id))

    # -- identity service ----------------------------------------------------------------
    namespaces = (
        IdentityNamespace(code="Email", name="Email", id="6", id_type="EMAIL"),
        IdentityNamespace(code="Phone", name="Phone", id="7", id_type="PHONE"),
    )

    def list_namespaces(self):
        self._enter("list_namespaces")
        custom = self.objects.get("namespace", {}).values()
        return [*self.namespaces, *(IdentityNamespace.from_api(n) for n in custom)]

    def create_namespace(self, body) -> IdentityNamespace:
        self._store("namespace", "create_namespace", {**dict(body), "custom": True})
        return IdentityNamespace.from_api({**dict(body), "custom": True})

    def create_dataset(self, body) -> str:
        # Catalog enables a dataset for Profile only on a Profile-enabled schema: the union tag
        # and a primary identity (catalog/datasets/enable-for-profile.md).
        if "unifiedProfile" in (body.get("tags") or {}):
            schema = self.objects.get("schema", {}).get(body["schemaRef"]["id"]) or {}
            if "union" not in schema.get("meta:immutableTags", []) or not self._has_primary(
                body["schemaRef"]["id"]
            ):
                self._enter("create_dataset")
                raise BadRequestError("schema not enabled for Profile", status_code=400)
        return self._store("dataset", "create_dataset", dict(body))

    def list_datasets(self, **kw):
        self._enter("list_datasets")
        for item in self.objects.get("dataset", {}).values():
            yield Dataset.from_api(item, item["id"])

    def delete_dataset(self, dataset_id):
        self._delete("dataset", "delete_dataset", dataset_id)

    def _delete(self, kind: str, method: str, entity_id: str) -> None:
        self._enter(method)
        self.objects.get(kind, {}).pop(entity_id, None)


__all__ = ["FakeAEP", "FieldMapping", "MappingPreview", "MappingValidation"]
