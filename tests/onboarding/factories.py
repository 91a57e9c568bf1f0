"""Drafts at each stage of the wizard, built straight in the database."""

from __future__ import annotations

from datetime import UTC, datetime

from aep.flowservice import STRIPE_RESOURCE_PATHS
from core import profiling
from onboarding import identities, mapping
from onboarding.models import STEP_NAMES, Draft
from tests.onboarding.fakes import SAMPLES, TENANT, explore_schema

KEY = "sk_test_demo_stripe_sources_0001"
READABLE_ALL = {p: {"status": "readable", "message": ""} for p in STRIPE_RESOURCE_PATHS}
# The tags of a dataset enabled for Profile.
PROFILE_TAGS = {"unifiedProfile": ["enabled:true"], "unifiedIdentity": ["enabled:true"]}
# The sandbox's namespaces as the namespaces task stores them (a few of Adobe's standard ones).
NAMESPACES = [
    {"code": "Email", "name": "Email", "custom": False, "id_type": "EMAIL"},
    {"code": "Phone", "name": "Phone", "custom": False, "id_type": "PHONE"},
]


def connected_draft(user, sandbox, **fields) -> Draft:
    if not sandbox.tenant_id:
        sandbox.tenant_id = TENANT
        sandbox.save()
    values = {
        "sandbox": sandbox,
        "created_by": user,
        "account_name": "Acme EU",
        "access_token": KEY,
        "token_last4": KEY[-4:],
        "key_kind": "secret",
        "probe": READABLE_ALL,
        "connection_id": "conn-1",
        "reached": 0,
        **fields,
    }
    return Draft.objects.create(**values)


def explore_entry(path: str) -> dict:
    records = [{"data": r} for r in SAMPLES.get(path, [])]
    schema = explore_schema(path)
    return {
        "schema": schema,
        "fields": profiling.profile_fields(schema, records),
        "sample": records,
        "sample_size": len(records),
    }


def explored_draft(user, sandbox, paths=("charges", "customers"), **fields) -> Draft:
    draft = connected_draft(user, sandbox, **fields)
    draft.resource_paths = list(paths)
    draft.flow_names = {p: f"Stripe {p}" for p in paths}
    draft.explore = {p: explore_entry(p) for p in paths}
    draft.mappings = {
        p: mapping.default_rows(f"_{TENANT}", p, draft.explore[p]["fields"]) for p in paths
    }
    sandbox.identity_namespaces = [dict(ns) for ns in NAMESPACES]
    sandbox.save(update_fields=["identity_namespaces"])
    draft.reached = STEP_NAMES.index("explore")
    draft.save()
    return draft


def ready_draft(user, sandbox, paths=("charges", "customers"), **fields) -> Draft:
    draft = explored_draft(user, sandbox, paths, **fields)
    draft.datasets = {p: {"mode": "new", "name": f"Stripe {p} data"} for p in paths}
    draft.frequency, draft.interval, draft.backfill = "hour", 2, True
    draft.start_time = datetime(2030, 12, 3, 9, 0, tzinfo=UTC)
    draft.reached = STEP_NAMES.index("schedule")
    draft.save()
    return draft


def mark_identity(draft: Draft, path: str) -> dict:
    """Tick Identity on the resource's email row (its namespace defaults to Email)."""
    row = identities.email_row(draft, path) or draft.mappings[path][0]
    row["identity"] = True
    draft.save()
    return row
