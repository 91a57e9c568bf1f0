"""The whole wizard for charges and customers against the AEP emulator and the Stripe stand-in,
over HTTP, with a real Celery worker; then runs land in the emulator's datasets."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from emulators.aep.testing import dataset_records
from monitoring.models import Account, AuditEvent, Dataflow
from onboarding.models import Draft
from tests.base import PASSWORD, make_user, wait_for
from tests.emulator_world import emulator_sandbox, emulator_state
from tests.onboarding.driver import relax_sqlite_locks, run_until_review, wait_draft

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def wizard_client(celery_worker_thread, aep_emulator, stripe_stand_in):
    from core.roles import MARKETING_OPS, ensure_roles

    ensure_roles()
    user = make_user("mina", MARKETING_OPS)
    relax_sqlite_locks()
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0):
        yield client, user


def test_the_wizard_creates_two_dataflows_whose_runs_load_records(
    wizard_client, aep_emulator, stripe_stand_in
):
    client, user = wizard_client
    sandbox = emulator_sandbox(aep_emulator.url)
    draft = run_until_review(client, sandbox, stripe_stand_in.secret_key, ["charges", "customers"])
    assert draft.probe["charges"]["status"] == "readable"
    assert draft.connection_id

    # Preview on the sample, before anything else exists.
    r = client.post(f"/wizard/{draft.pk}/review/")
    assert r.status_code == 302, r.content.decode()[:2000]
    draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    assert draft.status == Draft.Status.DONE, (draft.error, list(draft.steps.values()))
    assert not draft.access_token

    account = Account.objects.get(connection_id=draft.connection_id)
    assert account.token_last4 == stripe_stand_in.secret_key[-4:]
    flows = {f.resource_path: f for f in Dataflow.objects.filter(account=account)}
    assert set(flows) == {"charges", "customers"}
    assert all(f.owner == user for f in flows.values())
    # The account, then seven objects per resource; the sandbox's shared XDM class is created
    # by whichever draft comes first, so it is left out of the count.
    created = AuditEvent.objects.filter(action="wizard.create", result="succeeded")
    assert created.exclude(target_type="schema_class").count() == 1 + 7 * 2

    counts = emulator_state(aep_emulator.url)["orgs"]
    assert counts, counts

    charges = flows["charges"]
    records = wait_for(
        lambda: dataset_records(aep_emulator.url, charges.dataset_id), "charges records", 60
    )
    first = records[0]
    data = first.get("record") or first.get("data") or first
    tenant = f"_{sandbox.__class__.objects.get(pk=sandbox.pk).tenant_id}"
    assert data[tenant]["charges_data"]["id"].startswith("ch_")
    customers = wait_for(
        lambda: dataset_records(aep_emulator.url, flows["customers"].dataset_id),
        "customer records",
        60,
    )
    assert customers

    r = client.get(f"/wizard/{draft.pk}/done/")
    assert "2 dataflows created" in r.content.decode()
