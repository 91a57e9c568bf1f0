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
from tests.emulator_world import clear_faults, emulator_sandbox, emulator_state, inject
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


@pytest.fixture
def profile_wizard(celery_worker_thread, aep_emulator, stripe_stand_in):
    from core.roles import MARKETING_OPS, ensure_roles

    ensure_roles()
    user = make_user("nils", MARKETING_OPS)
    relax_sqlite_locks()
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="dev", display_name="Emulator dev")
    yield client, sandbox
    clear_faults(aep_emulator.url)


def profile_draft(client, sandbox, key: str) -> Draft:
    """A customers draft at Review with Profile on: the email field is its primary identity."""
    draft = run_until_review(client, sandbox, key, ["customers"], check_mapping=False)
    wait_for(lambda: Sandbox.objects.get(pk=sandbox.pk).identity_namespaces, "namespaces")
    draft.sandbox.refresh_from_db()
    email = identities.email_row(draft, "customers")
    assert email is not None
    email["identity"] = True
    draft.profile_datasets = ["customers"]
    draft.save()
    return draft


def dev_counts(aep_url: str) -> dict[str, int]:
    from emulators.aep.testing import DEMO_ORG_ID

    kept = {"runs", "tokens", "mappingSetVersions"}
    per_sandbox = emulator_state(aep_url)["orgs"].get(DEMO_ORG_ID, {}).get("dev", {})
    return {kind: n for kind, n in per_sandbox.items() if kind not in kept and n}


def test_discarding_a_profile_draft_removes_its_descriptor_with_the_schema(
    profile_wizard, aep_emulator, stripe_stand_in
):
    client, sandbox = profile_wizard
    before = dev_counts(aep_emulator.url)
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0):
        draft = profile_draft(client, sandbox, stripe_stand_in.secret_key)
        inject(aep_emulator.url, method="POST", path="/data/foundation/flowservice/flows",
               kind="500", count=1)  # fmt: skip
        client.post(f"/wizard/{draft.pk}/review/")
        draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
        assert draft.status == Draft.Status.FAILED
        assert dev_counts(aep_emulator.url).get("descriptors") == before.get("descriptors", 0) + 1
        assert client.post(f"/wizard/{draft.pk}/discard/").status_code == 302
        draft = wait_draft(draft, Draft.Status.DISCARDED, Draft.Status.FAILED)
    assert draft.status == Draft.Status.DISCARDED, draft.error
    after = dev_counts(aep_emulator.url)
    assert after.get("descriptors", 0) == before.get("descriptors", 0)
    assert after.get("schemas", 0) == before.get("schemas", 0)


def test_a_descriptor_call_that_timed_out_is_adopted_not_repeated(
    profile_wizard, aep_emulator, stripe_stand_in
):
    client, sandbox = profile_wizard
    settings = {
        "STRIPE_API_BASE": stripe_stand_in.url,
        "ONBOARDING_STEP_RETRIES": 2,
        "AEP_TIMEOUT_SECONDS": 1,
    }
    with override_settings(**settings):
        draft = profile_draft(client, sandbox, stripe_stand_in.secret_key)
        inject(aep_emulator.url, method="POST", kind="delay", delay_seconds=2.5, count=1,
               path="/data/foundation/schemaregistry/tenant/descriptors")  # fmt: skip
        client.post(f"/wizard/{draft.pk}/review/")
        draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    assert draft.status == Draft.Status.DONE, draft.error
    flow = Dataflow.objects.get(sandbox=sandbox, resource_path="customers")
    descriptors = client_for(sandbox).schemas.list_descriptors(schema_id=flow.schema_id)
    assert len(descriptors) == 1 and descriptors[0].primary
    assert draft.steps.get(kind="identity").attempts == 2
