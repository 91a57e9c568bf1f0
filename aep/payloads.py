"""The body of every AEP request that creates something: pure functions, no I/O.

The client's `create_*` methods send the body they are given. The wizard's Review page,
provisioning and plan export all build their bodies here, so what a person reviews or exports
is, to the byte, what AEP receives. Shapes are in docs/aep-api-notes.md: §2.4 (Flow Service),
§4.1 (Data Prep) and §5 (Schema Registry, Catalog); identity descriptors and the union tag follow
Adobe's xdm/api/descriptors.md and xdm/api/schemas.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aep import quirks
from aep.types import Schedule

# Fixed ids of the Stripe pipeline (notes §0 fact 4).
STRIPE_CONNECTION_SPEC_ID = "cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3"
STRIPE_AUTH_SPEC_NAME = "OAuth2 Refresh Code"
STRIPE_FLOW_SPEC_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"
DATA_LAKE_CONNECTION_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
SPEC_VERSION = "1.0"

# A schema as target connections and mapping sets name it, and as datasets name it.
XDM_FULL_CONTENT_TYPE = "application/vnd.adobe.xed-full+json;version=1"
XDM_FULL_SCHEMA_VERSION = XDM_FULL_CONTENT_TYPE
XDM_CONTENT_TYPE = "application/vnd.adobe.xed+json;version=1"
RECORD_BEHAVIOR = "https://ns.adobe.com/xdm/data/record"
ATTRIBUTE = "ATTRIBUTE"
IDENTITY_DESCRIPTOR = "xdm:descriptorIdentity"
UNION_TAG = "union"
# Catalog tags that enable a dataset for Profile and Identity Service, spelled as Adobe's
# tutorial does (catalog/datasets/enable-for-profile.md: "enabled:true", no space).
PROFILE_DATASET_TAGS: dict[str, list[str]] = {
    "unifiedProfile": ["enabled:true"],
    "unifiedIdentity": ["enabled:true"],
}


def spec_ref(spec_id: str, version: str = SPEC_VERSION) -> dict[str, str]:
    """`connectionSpec` / `flowSpec`: `{"id": …, "version": "1.0"}`."""
    return {"id": spec_id, "version": version}


# Flow Service ----------------------------------------------------------------------------------


def base_connection(
    *,
    name: str,
    auth_params: Mapping[str, Any],
    description: str = "",
    connection_spec_id: str = STRIPE_CONNECTION_SPEC_ID,
    auth_spec_name: str = STRIPE_AUTH_SPEC_NAME,
) -> dict[str, Any]:
    """POST /connections: a base connection holding the Stripe key (notes §2.4.1)."""
    return {
        "name": name,
        "description": description,
        "connectionSpec": spec_ref(connection_spec_id),
        "auth": {"specName": auth_spec_name, "params": dict(auth_params)},
    }


def source_connection(
    *,
    name: str,
    base_connection_id: str,
    params: Mapping[str, Any],
    description: str = "",
    connection_spec_id: str = STRIPE_CONNECTION_SPEC_ID,
    data_format: str = "json",
) -> dict[str, Any]:
    """POST /sourceConnections; `params` e.g. `{"resourcePath": "charges"}` (notes §2.4.3)."""
    return {
        "name": name,
        "description": description,
        "baseConnectionId": base_connection_id,
        "connectionSpec": spec_ref(connection_spec_id),
        "data": {"format": data_format},
        "params": dict(params),
    }


def target_connection(
    *,
    name: str,
    dataset_id: str,
    schema_id: str,
    description: str = "",
    schema_version: str = XDM_FULL_SCHEMA_VERSION,
    connection_spec_id: str = DATA_LAKE_CONNECTION_SPEC_ID,
    data_format: str = "parquet_xdm",
) -> dict[str, Any]:
    """POST /targetConnections: the data-lake dataset a flow writes to (notes §2.4.4)."""
    return {
        "name": name,
        "description": description,
        "connectionSpec": spec_ref(connection_spec_id),
        "data": {"format": data_format, "schema": {"id": schema_id, "version": schema_version}},
        "params": {"dataSetId": dataset_id},
    }


def flow(
    *,
    name: str,
    source_connection_id: str,
    target_connection_id: str,
    mapping_id: str,
    mapping_version: int | str,
    schedule: Schedule | None,
    description: str = "",
    flow_spec_id: str = STRIPE_FLOW_SPEC_ID,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """POST /flows: one source, one target, one Mapping transformation (notes §2.4.6).

    `options` is sent only when it holds something. A flow's `state` is never part of the
    body: Flow Service refuses it on create (1410-400), and new flows start enabled. Without a
    schedule (a flow read back without one) `scheduleParams` is empty.
    """
    mapping = {
        "mappingId": mapping_id,
        "mappingVersion": quirks.mapping_version_for_request(mapping_version),
    }
    body: dict[str, Any] = {
        "name": name,
        "description": description,
        "flowSpec": spec_ref(flow_spec_id),
        "sourceConnectionIds": [source_connection_id],
        "targetConnectionIds": [target_connection_id],
        "transformations": [{"name": "Mapping", "params": mapping}],
        "scheduleParams": schedule.to_api() if schedule else {},
    }
    if options:
        body["options"] = dict(options)
    return body


# Data Prep -------------------------------------------------------------------------------------


def mapping_rule(
    source: str, destination: str, *, source_type: str = ATTRIBUTE, identity: bool = False
) -> dict[str, Any]:
    """One rule of a modern mapping set; `identity` appears only when true."""
    entry: dict[str, Any] = {
        "sourceType": source_type,
        "source": source,
        "destination": destination,
    }
    if identity:
        entry["identity"] = True
    return entry


def mapping_set(
    schema_id: str | None,
    mappings: Iterable[Mapping[str, Any]],
    *,
    name: str = "",
    content_type: str = XDM_FULL_CONTENT_TYPE,
) -> dict[str, Any]:
    """POST /mappingSets in the documented (modern) shape, from `mapping_rule` entries (§4.1).

    Without a schema (`None`) there is no `outputSchema`: validate and preview accept that, so
    mappings can be checked before the schema they will fill exists.
    """
    body: dict[str, Any] = {"name": name} if name else {}
    if schema_id is not None:
        body["outputSchema"] = {"schemaRef": {"id": schema_id, "contentType": content_type}}
    body["mappings"] = [dict(m) for m in mappings]
    return body


def modern_mapping_set(
    schema_id: str,
    pairs: Iterable[tuple[str, str]],
    *,
    source_type: str = ATTRIBUTE,
    content_type: str = XDM_FULL_CONTENT_TYPE,
) -> dict[str, Any]:
    """The API reference's body from (source, destination) pairs."""
    rules = [mapping_rule(source, target, source_type=source_type) for source, target in pairs]
    return mapping_set(schema_id, rules, content_type=content_type)


def legacy_mapping_set(
    schema_id: str, mappings: Iterable[tuple[str, str, bool]], *, xdm_version: str = "1.0"
) -> dict[str, Any]:
    """The Stripe tutorial's body from (source, destination, identity) triples."""
    return {
        "version": 0,
        "xdmSchema": schema_id,
        "xdmVersion": xdm_version,
        "mappings": [
            {
                "destinationXdmPath": destination,
                "sourceAttribute": source,
                "identity": bool(identity),
                "version": 0,
            }
            for source, destination, identity in mappings
        ],
    }


# Schema Registry -------------------------------------------------------------------------------


def _registry_resource(
    title: str, description: str, all_of: list[dict[str, Any]], **members: Any
) -> dict[str, Any]:
    """A Schema Registry resource: title, description, `type: object`, `members`, `allOf`."""
    return {
        "title": title,
        "description": description,
        "type": "object",
        **members,
        "allOf": all_of,
    }


def xdm_class(
    *, title: str, description: str = "", behavior: str = RECORD_BEHAVIOR
) -> dict[str, Any]:
    """POST /tenant/classes: a class with the record behaviour (notes §5.1)."""
    return _registry_resource(title, description, [{"$ref": behavior}])


def field_group(
    *,
    title: str,
    description: str,
    class_id: str,
    definition: str,
    tenant_namespace: str,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """POST /tenant/fieldgroups: `fields` (XDM properties) under `_{tenant}`, in one definition
    named `definition`, for schemas of class `class_id`."""
    tenant = {tenant_namespace: {"type": "object", "properties": dict(fields)}}
    members = {
        "meta:intendedToExtend": [class_id],
        "definitions": {definition: {"properties": tenant}},
    }
    return _registry_resource(
        title, description, [{"$ref": f"#/definitions/{definition}"}], **members
    )


def schema(
    *, title: str, description: str, class_id: str, field_group_ids: Iterable[str]
) -> dict[str, Any]:
    """POST /tenant/schemas: a class plus field groups."""
    refs = [{"$ref": class_id}, *({"$ref": group} for group in field_group_ids)]
    return _registry_resource(title, description, refs)


def xdm_pointer(destination: str) -> str:
    """A dotted XDM path (`_tenant.charges.email`) as a descriptor's `xdm:sourceProperty`
    (`/_tenant/charges/email`: leading slash, no `properties`; xdm/api/descriptors.md)."""
    return "/" + "/".join(part for part in destination.split(".") if part)


def identity_descriptor(
    *,
    schema_id: str,
    destination: str,
    namespace: str,
    primary: bool,
    schema_version: int = 1,
) -> dict[str, Any]:
    """POST /tenant/descriptors: the field `destination` of the schema is an identity of
    `namespace` (its code), the primary one when `primary` (xdm/api/descriptors.md)."""
    return {
        "@type": IDENTITY_DESCRIPTOR,
        "xdm:sourceSchema": schema_id,
        "xdm:sourceVersion": schema_version,
        "xdm:sourceProperty": xdm_pointer(destination),
        "xdm:namespace": namespace,
        "xdm:property": "xdm:code",
        "xdm:isPrimary": bool(primary),
    }


def union_tag_patch() -> list[dict[str, Any]]:
    """PATCH /tenant/schemas/{id}: enable the schema for Profile (xdm/api/schemas.md#union).

    Immutable tags are set and never removed; the schema needs its primary identity first."""
    return [{"op": "add", "path": "/meta:immutableTags", "value": [UNION_TAG]}]


# Identity Service -------------------------------------------------------------------------------


def identity_namespace(
    *, name: str, code: str, id_type: str = "CROSS_DEVICE", description: str = ""
) -> dict[str, Any]:
    """POST /data/core/idnamespace/identities: a custom identity namespace."""
    body: dict[str, Any] = {"name": name, "code": code, "idType": id_type}
    if description:
        body["description"] = description
    return body


# Catalog ---------------------------------------------------------------------------------------


def dataset(
    *,
    name: str,
    schema_id: str,
    description: str = "",
    tags: Mapping[str, Iterable[str]] | None = None,
    content_type: str = XDM_CONTENT_TYPE,
) -> dict[str, Any]:
    """POST /dataSets (notes §5.2); `description` and `tags` only when they hold something."""
    body: dict[str, Any] = {"name": name}
    if description:
        body["description"] = description
    body["schemaRef"] = {"id": schema_id, "contentType": content_type}
    if tags:
        body["tags"] = {key: list(values) for key, values in tags.items()}
    return body
