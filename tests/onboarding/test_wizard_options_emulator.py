"""Dataflow options end to end: the AEP emulator keeps the flow options and dataset tags, and a
Profile dataflow leaves in AEP the identity descriptor, the schema's union tag and the dataset
enabled for Profile (which the emulator, as AEP, accepts only in that order)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from monitoring.clients import client_for
from monitoring.models import Dataflow, Sandbox, Subscription
from onboarding import identities
from onboarding.models import Draft
from tests.base import PASSWORD, make_user, wait_for
from tests.emulator_world import emulator_sandbox
from tests.onboarding.driver import relax_sqlite_locks, run_until_review, wait_draft

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_options_and_profile_tags_reach_aep(celery_worker_thread, aep_emulator, stripe_stand_in):
    from core.roles import MARKETING_OPS, ensure_roles

    ensure_roles()
    user = make_user("mina", MARKETING_OPS)
    relax_sqlite_locks()
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0):
        sandbox = emulator_sandbox(aep_emulator.url)
        draft = run_until_review(
            client, sandbox, stripe_stand_in.secret_key, ["customers"], check_mapping=False
        )
        # The worker read the sandbox's namespaces when the dataset step was saved.
        namespaces = wait_for(
            lambda: Sandbox.objects.get(pk=sandbox.pk).identity_namespaces, "namespaces"
        )
        assert "Email" in {ns["code"] for ns in namespaces}
        draft.sandbox.refresh_from_db()
        email = identities.email_row(draft, "customers")
        assert email is not None and email["source"] == "data.email"
        email["identity"] = True
        draft.profile_datasets = ["customers"]
        draft.error_diagnostics = True
        draft.partial_ingestion, draft.partial_ingestion_percent = True, 5.0
        draft.alert_on_failure = True
        draft.save()
        r = client.post(f"/wizard/{draft.pk}/review/")
        assert r.status_code == 302, r.content.decode()[:2000]
        draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
        assert draft.status == Draft.Status.DONE, (draft.error, list(draft.steps.values()))

    flow = Dataflow.objects.get(resource_path="customers", sandbox=sandbox)
    aep = client_for(sandbox)
    options = aep.flowservice.get_flow(flow.flow_id).options
    assert options["errorDiagnosticsEnabled"] is True
    assert float(options["partialIngestionPercent"]) == 5
    tags = aep.catalog.get_dataset(flow.dataset_id).tags
    assert tags["unifiedProfile"] == ["enabled:true"]
    assert tags["unifiedIdentity"] == ["enabled:true"]
    (descriptor,) = aep.schemas.list_descriptors(schema_id=flow.schema_id)
    assert descriptor.is_identity and descriptor.primary and descriptor.namespace == "Email"
    assert descriptor.source_property == f"/{draft.tenant_namespace}/customers_data/email"
    assert aep.schemas.get_schema(flow.schema_id).immutable_tags == ("union",)
    assert Subscription.objects.filter(user=user, dataflow=flow).exists()
