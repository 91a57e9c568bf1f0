"""The fixed connection and flow specifications the Stripe pipeline uses.

Ids, auth spec name and the RestStorageToAEP schedule spec come from Adobe's Stripe tutorial and
the sources SDK docs; the rest of each document follows the generic REST connector template.
"""

from __future__ import annotations

from typing import Any

STRIPE_SPEC_ID = "cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
REST_TO_AEP_FLOW_SPEC_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"

STRIPE_RESOURCE_PATHS = (
    "charges",
    "subscriptions",
    "refunds",
    "balance_transactions",
    "customers",
    "prices",
)

STRIPE_AUTH_SPEC_NAME = "OAuth2 Refresh Code"

SCHEDULE_SPEC: dict[str, Any] = {
    "type": "object",
    "properties": {
        "startTime": {"description": "epoch time", "type": "integer"},
        "frequency": {"type": "string", "enum": ["once", "minute", "hour", "day", "week"]},
        "interval": {"type": "integer"},
        "backfill": {"type": "boolean", "default": True},
    },
    "required": ["startTime", "frequency"],
    "if": {"properties": {"frequency": {"const": "once"}}},
    "then": {
        "allOf": [
            {"not": {"required": ["interval"]}},
            {"not": {"required": ["backfill"]}},
        ]
    },
    "else": {
        "required": ["interval"],
        "if": {"properties": {"frequency": {"const": "minute"}}},
        "then": {"properties": {"interval": {"minimum": 15}}},
        "else": {"properties": {"interval": {"minimum": 1}}},
    },
}

_PERMISSIONS = {
    "view": [{"@type": "lowLevel", "name": "EnterpriseSource", "permissions": ["read"]}],
    "manage": [{"@type": "lowLevel", "name": "EnterpriseSource", "permissions": ["write"]}],
}

STRIPE_CONNECTION_SPEC: dict[str, Any] = {
    "id": STRIPE_SPEC_ID,
    "name": "stripe",
    "providerId": "0ed90a81-07f4-4586-8190-b40eccef1c5a",
    "version": "1.0",
    "authSpec": [
        {
            "name": STRIPE_AUTH_SPEC_NAME,
            "type": "OAuth2RefreshCode",
            "spec": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "description": "Define auth params required for connecting to Stripe.",
                "properties": {
                    "accessToken": {
                        "description": "Your Stripe OAuth 2 Refresh Code authentication token "
                        "(the account's secret or restricted API key).",
                        "type": "string",
                        "format": "password",
                    },
                },
                "required": ["accessToken"],
            },
        }
    ],
    "sourceSpec": {
        "name": "stripe",
        "type": "REST",
        "attributes": {
            "uiAttributes": {
                "isSource": True,
                "isPreview": True,
                "isBeta": True,
                "category": "payments",
                "icon": "stripe",
                "description": "Ingest payment data from Stripe.",
                "label": "Stripe",
            }
        },
        "spec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "description": "Define user input parameters to fetch resource values.",
            "properties": {
                "resourcePath": {
                    "type": "string",
                    "description": "The Stripe resource to ingest.",
                    "enum": list(STRIPE_RESOURCE_PATHS),
                }
            },
            "required": ["resourcePath"],
        },
    },
    "exploreSpec": {
        "name": "Resource",
        "type": "Resource",
        "requestSpec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"resourcePath": {"type": "string", "enum": list(STRIPE_RESOURCE_PATHS)}},
        },
        "responseSpec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"format": {"type": "string"}, "schema": {"type": "object"}},
        },
    },
    "attributes": {
        "category": "Payments",
        "connectorName": "Stripe",
        "isSource": True,
        "isPreview": True,
        "uiAttributes": {"apiFeatures": {"explorePaginationSupported": False}},
    },
    "permissionsInfo": _PERMISSIONS,
}

DATA_LAKE_CONNECTION_SPEC: dict[str, Any] = {
    "id": DATA_LAKE_SPEC_ID,
    "name": "Data Lake",
    "providerId": "521eee4d-8cbe-4906-bb48-fb6bd4450033",
    "version": "1.0",
    "authSpec": [],
    "targetSpec": {
        "name": "Data Lake",
        "type": "DataSet",
        "spec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "dataSetId": {"type": "string", "description": "Target dataset id."},
            },
            "required": ["dataSetId"],
        },
    },
    "attributes": {"category": "Adobe Experience Platform", "isDestination": False},
    "permissionsInfo": _PERMISSIONS,
}

REST_TO_AEP_FLOW_SPEC: dict[str, Any] = {
    "id": REST_TO_AEP_FLOW_SPEC_ID,
    "name": "RestStorageToAEP",
    "providerId": "0ed90a81-07f4-4586-8190-b40eccef1c5a",
    "version": "1.0",
    "attributes": {
        "isSourceFlow": True,
        "flacValidationSupported": True,
        "frequency": "batch",
        "notification": {
            "category": "sources",
            "flowRun": {"enabled": True},
        },
    },
    "sourceConnectionSpecIds": [STRIPE_SPEC_ID],
    "targetConnectionSpecIds": [DATA_LAKE_SPEC_ID],
    "optionSpec": {
        "name": "OptionSpec",
        "spec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "errorDiagnosticsEnabled": {"title": "Error diagnostics.", "type": "boolean"},
                "partialIngestionPercent": {
                    "description": "Percentage which defines the threshold of errors allowed "
                    "before the run is marked as failed.",
                    "type": "number",
                    "exclusiveMinimum": 0,
                },
            },
        },
    },
    "transformationSpecs": [
        {
            "name": "Mapping",
            "spec": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "description": "defines various params required for different mapping from "
                "source to target",
                "properties": {
                    "mappingId": {"type": "string"},
                    "mappingVersion": {"type": "string"},
                },
            },
        }
    ],
    "scheduleSpec": {"name": "PeriodicSchedule", "type": "PeriodicSchedule", "spec": SCHEDULE_SPEC},
    "runSpec": {
        "name": "ProviderRunSpec",
        "spec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "startTime": {"type": "integer"},
                "windowStartTime": {"type": "integer"},
                "windowEndTime": {"type": "integer"},
            },
        },
    },
    "permissionsInfo": _PERMISSIONS,
}

CONNECTION_SPECS = {
    spec["id"]: spec for spec in (STRIPE_CONNECTION_SPEC, DATA_LAKE_CONNECTION_SPEC)
}
FLOW_SPECS = {REST_TO_AEP_FLOW_SPEC_ID: REST_TO_AEP_FLOW_SPEC}


def auth_spec(connection_spec: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((a for a in connection_spec.get("authSpec", []) if a["name"] == name), None)


def secret_fields(connection_spec: dict[str, Any] | None) -> set[str]:
    """Auth params whose values are never returned: ``format: password`` plus obvious names."""
    names = {"accessToken", "clientSecret", "refreshToken", "password", "secretAccessKey", "apiKey"}
    for spec in (connection_spec or {}).get("authSpec", []):
        for key, prop in spec.get("spec", {}).get("properties", {}).items():
            if prop.get("format") == "password":
                names.add(key)
    return names
