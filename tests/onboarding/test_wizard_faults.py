"""Faults injected in the emulator at every provisioning step: after Retry there is exactly one
AEP object of each kind for the resource, and Discard leaves nothing behind."""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings

from onboarding.models import Draft, ProvisioningStep
from onboarding.provisioning import CLASS_TITLE
from tests.base import PASSWORD, make_user
from tests.emulator_world import clear_faults, emulator_sandbox, emulator_state, inject
from tests.onboarding.driver import relax_sqlite_locks, run_until_review, wait_draft

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CREATES = [
    "/data/foundation/flowservice/sourceConnections",
    "/data/foundation/schemaregistry/tenant/fieldgroups",
    "/data/foundation/schemaregistry/tenant/schemas",
    "/data/foundation/catalog/dataSets",
    "/data/foundation/flowservice/targetConnections",
    "/data/foundation/conversion/mappingSets",
    "/data/foundation/flowservice/flows",
]
DELAY_SECONDS = 2.5
# Things the emulator keeps besides the objects the wizard creates.
NOT_OBJECTS = {"runs", "tokens", "mappingSetVersions"}


@pytest.fixture
def wizard(celery_worker_thread, aep_emulator, stripe_stand_in):
    from core.roles import MARKETING_OPS, ensure_roles

    ensure_roles()
    user = make_user("mina", MARKETING_OPS)
    relax_sqlite_locks()
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="dev", display_name="Emulator dev")
    with override_settings(
        STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0, AEP_TIMEOUT_SECONDS=1
    ):
        yield client, sandbox
    clear_faults(aep_emulator.url)


def counts(aep_url: str) -> dict[str, int]:
    from emulators.aep.testing import DEMO_ORG_ID

    per_sandbox = emulator_state(aep_url)["orgs"].get(DEMO_ORG_ID, {}).get("dev", {})
    return {kind: n for kind, n in per_sandbox.items() if kind not in NOT_OBJECTS}


def wizard_class_exists(aep_url: str) -> bool:
    """Whether the sandbox has the wizard's shared class (other tests make classes of their own)."""
    from emulators.aep.testing import SCHEMA_REGISTRY, PlatformSession

    session = PlatformSession(aep_url, sandbox="dev")
    response = session.get(
        f"{SCHEMA_REGISTRY}/tenant/classes",
        headers={"Accept": "application/vnd.adobe.xed-id+json"},
        timeout=30,
    )
    response.raise_for_status()
    return any(item.get("title") == CLASS_TITLE for item in response.json()["results"])


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    kinds = set(before) | set(after)
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in kinds if after.get(k, 0) != before.get(k, 0)
    }


@pytest.mark.parametrize(
    "fault",
    [{"kind": "500"}, {"kind": "429"}, {"kind": "delay", "delay_seconds": DELAY_SECONDS}],
    ids=["500", "429", "timeout"],
)
def test_a_fault_at_every_step_ends_in_exactly_one_object_of_each_kind(
    wizard, aep_emulator, stripe_stand_in, fault
):
    client, sandbox = wizard
    draft = run_until_review(client, sandbox, stripe_stand_in.secret_key, ["charges"],
                             check_mapping=False)  # fmt: skip
    before = counts(aep_emulator.url)
    creates = list(CREATES)
    if not wizard_class_exists(aep_emulator.url):
        # The sandbox's shared "Stripe record" class is created by the first draft only.
        creates.insert(0, "/data/foundation/schemaregistry/tenant/classes")
    for path in creates:
        inject(aep_emulator.url, method="POST", path=path, count=1, **fault)
    assert client.post(f"/wizard/{draft.pk}/review/").status_code == 302
    failures = 0
    while True:
        draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
        if draft.status == Draft.Status.DONE:
            break
        failures += 1
        assert failures <= len(creates), draft.error
        failed = draft.steps.get(status=ProvisioningStep.Status.FAILED)
        assert "Retry" in failed.error, failed.error
        if fault["kind"] == "delay":
            time.sleep(DELAY_SECONDS)  # let the slow call finish in AEP before retrying
        assert client.post(f"/wizard/{draft.pk}/provisioning/retry/").status_code == 302
    assert failures == len(creates)
    created = delta(before, counts(aep_emulator.url))
    assert set(created.values()) == {1}, created
    assert len(created) == len(creates), created


@pytest.mark.parametrize(
    "fault", [{"kind": "429", "retry_after": 1}, {"kind": "500"}], ids=["429", "500"]
)
def test_retries_by_the_worker_get_past_a_fault_at_every_step_with_exactly_one_object(
    wizard, aep_emulator, stripe_stand_in, fault
):
    """With ONBOARDING_STEP_RETRIES, each faulted step goes back to the queue with a countdown
    and the draft is done without anyone pressing Retry."""
    client, sandbox = wizard
    draft = run_until_review(client, sandbox, stripe_stand_in.secret_key, ["charges"],
                             check_mapping=False)  # fmt: skip
    before = counts(aep_emulator.url)
    creates = list(CREATES)
    if not wizard_class_exists(aep_emulator.url):
        creates.insert(0, "/data/foundation/schemaregistry/tenant/classes")
    for path in creates:
        inject(aep_emulator.url, method="POST", path=path, count=1, **fault)
    with override_settings(ONBOARDING_STEP_RETRIES=1):
        assert client.post(f"/wizard/{draft.pk}/review/").status_code == 302
        draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    assert draft.status == Draft.Status.DONE, draft.error
    assert sum(s.attempts - 1 for s in draft.steps.all()) == len(creates)  # one retry each
    created = delta(before, counts(aep_emulator.url))
    assert set(created.values()) == {1}, created
    assert len(created) == len(creates), created


def test_discard_after_a_failure_leaves_nothing_behind(wizard, aep_emulator, stripe_stand_in):
    client, sandbox = wizard
    before = counts(aep_emulator.url)
    draft = run_until_review(client, sandbox, stripe_stand_in.secret_key, ["charges"],
                             check_mapping=False)  # fmt: skip
    inject(aep_emulator.url, method="POST", path=CREATES[-1], kind="500", count=1)
    client.post(f"/wizard/{draft.pk}/review/")
    draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    assert draft.status == Draft.Status.FAILED
    assert delta(before, counts(aep_emulator.url))  # the base connection and more exist
    assert client.post(f"/wizard/{draft.pk}/discard/").status_code == 302
    draft = wait_draft(draft, Draft.Status.DISCARDED, Draft.Status.FAILED)
    assert draft.status == Draft.Status.DISCARDED, draft.error
    # Data Prep's public API has no delete: AEP may keep the mapping set (it holds no data).
    assert delta(before, counts(aep_emulator.url)) == {"mappingSets": 1}
