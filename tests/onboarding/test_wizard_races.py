"""Double clicks, two tabs and slow workers against PostgreSQL, the real worker and the AEP
emulator: Create, Retry and Discard take effect once, a live worker is never joined by a
second one, and what a draft adopts by name is only what carries its own mark."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from unittest.mock import patch

import pytest
from django.db import connection
from django.test import Client, override_settings

from monitoring.models import Dataflow
from onboarding.models import Draft, ProvisioningStep
from tests.base import make_user, wait_for
from tests.emulator_world import clear_faults, emulator_sandbox, emulator_state, inject
from tests.onboarding.driver import run_until_review, wait_draft

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FLOWS = "/data/foundation/flowservice/flows"
SCHEMAS = "/data/foundation/schemaregistry/tenant/schemas"
# Things the emulator keeps besides the objects the wizard creates.
NOT_OBJECTS = {"runs", "tokens", "mappingSetVersions"}


@pytest.fixture
def wizard(celery_worker_thread, aep_emulator, stripe_stand_in):
    from core.roles import MARKETING_OPS, ensure_roles

    ensure_roles()
    user = make_user("mina", MARKETING_OPS)
    sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="dev", display_name="Emulator dev")
    with override_settings(
        STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0, AEP_TIMEOUT_SECONDS=30
    ):
        yield user, sandbox
    clear_faults(aep_emulator.url)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def together(*posts: Callable[[], object]) -> list[object]:
    """Run the posts in threads released at the same instant, as two clicks or two tabs."""
    barrier = threading.Barrier(len(posts))
    answers: list[object] = [None] * len(posts)

    def run(index: int, post: Callable[[], object]) -> None:
        try:
            barrier.wait()
            answers[index] = post()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


@contextlib.contextmanager
def read_then_write_in_turn(clicks: int, gap: float = 2.0):
    """Hold each retry request after it has read the draft until every click has read it,
    then let them go on `gap` seconds apart."""
    from onboarding.views import provisioning_pages

    real = provisioning_pages.draft_for
    all_read = threading.Barrier(clicks)
    turn = itertools.count()

    def draft_for(request, pk):
        draft = real(request, pk)
        all_read.wait(30)
        time.sleep(gap * next(turn))
        return draft

    with patch.object(provisioning_pages, "draft_for", draft_for):
        yield


def counts(aep_url: str) -> dict[str, int]:
    from emulators.aep.testing import DEMO_ORG_ID

    per_sandbox = emulator_state(aep_url)["orgs"].get(DEMO_ORG_ID, {}).get("dev", {})
    return {kind: n for kind, n in per_sandbox.items() if kind not in NOT_OBJECTS}


def created(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    kinds = set(before) | set(after)
    return {k: after.get(k, 0) - before.get(k, 0) for k in kinds if after.get(k) != before.get(k)}


def assert_one_of_each(before: dict[str, int], aep_url: str, draft: Draft) -> None:
    made = created(before, counts(aep_url))
    assert made.get("flows") == 1, made
    assert set(made.values()) == {1}, made
    assert Dataflow.objects.filter(sandbox=draft.sandbox).count() == 1


def test_two_create_clicks_create_everything_once(wizard, aep_emulator, stripe_stand_in):
    user, sandbox = wizard
    first, second = client_of(user), client_of(user)
    draft = run_until_review(first, sandbox, stripe_stand_in.secret_key, ["charges"],
                             check_mapping=False)  # fmt: skip
    before = counts(aep_emulator.url)
    url = f"/wizard/{draft.pk}/review/"
    answers = together(lambda: first.post(url), lambda: second.post(url))
    assert [a.status_code for a in answers] == [302, 302]  # type: ignore[attr-defined]
    draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    assert draft.status == Draft.Status.DONE, draft.error
    assert draft.attempt == 1
    assert_one_of_each(before, aep_emulator.url, draft)


def test_two_retry_clicks_resume_once(wizard, aep_emulator, stripe_stand_in):
    user, sandbox = wizard
    first, second = client_of(user), client_of(user)
    draft = run_until_review(first, sandbox, stripe_stand_in.secret_key, ["charges"],
                             check_mapping=False)  # fmt: skip
    before = counts(aep_emulator.url)
    inject(aep_emulator.url, method="POST", path=FLOWS, kind="500", count=1)
    first.post(f"/wizard/{draft.pk}/review/")
    draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    assert draft.status == Draft.Status.FAILED
    url = f"/wizard/{draft.pk}/provisioning/retry/"
    # Both clicks read the failed draft; the second writes once the first attempt's worker
    # is waiting for AEP to create the flow (a slow request: the widest window two clicks
    # can have).
    inject(aep_emulator.url, method="POST", path=FLOWS, kind="delay", delay_seconds=4, count=1)
    slow_call_over = time.monotonic() + 4 + 3
    with read_then_write_in_turn(2, gap=1.5):
        together(lambda: first.post(url), lambda: second.post(url))
    draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    time.sleep(max(0.0, slow_call_over - time.monotonic()))  # whatever AEP was still doing
    draft.refresh_from_db()
    assert draft.status == Draft.Status.DONE, draft.error
    assert draft.attempt == 2
    assert_one_of_each(before, aep_emulator.url, draft)


@override_settings(ONBOARDING_STALE_AFTER_SECONDS=3)
def test_a_slow_but_live_worker_is_not_joined_by_a_second_one(
    wizard, aep_emulator, stripe_stand_in
):
    """AEP takes longer to answer the flow creation than the staleness limit; the worker
    renews its lease meanwhile, so Resume is refused and the flow is created once."""
    user, sandbox = wizard
    client = client_of(user)
    draft = run_until_review(client, sandbox, stripe_stand_in.secret_key, ["charges"],
                             check_mapping=False)  # fmt: skip
    before = counts(aep_emulator.url)
    inject(aep_emulator.url, method="POST", path=FLOWS, kind="delay", delay_seconds=8, count=1)
    client.post(f"/wizard/{draft.pk}/review/")
    flow_step = ProvisioningStep.objects.get(draft=draft, kind=ProvisioningStep.Kind.FLOW)

    def calling_aep() -> bool:
        flow_step.refresh_from_db()
        return flow_step.status == ProvisioningStep.Status.RUNNING

    wait_for(calling_aep, "the flow creation under way", 60)
    time.sleep(5)  # longer than the staleness limit, shorter than AEP's answer
    draft.refresh_from_db()
    assert not draft.is_stale
    client.post(f"/wizard/{draft.pk}/provisioning/retry/")
    draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
    assert draft.status == Draft.Status.DONE, draft.error
    assert draft.attempt == 1
    assert_one_of_each(before, aep_emulator.url, draft)


def test_discarding_a_draft_never_deletes_another_drafts_objects_of_the_same_name(
    wizard, aep_emulator, stripe_stand_in
):
    """Two drafts keep the names the pages propose; B's schema creation fails, so Discard
    looks B's schema up by name: it must not take A's for B's."""
    user, sandbox = wizard
    client = client_of(user)
    key = stripe_stand_in.secret_key
    a = run_until_review(client, sandbox, key, ["charges"], check_mapping=False,
                         account_name="Acme EU", default_names=True)  # fmt: skip
    client.post(f"/wizard/{a.pk}/review/")
    a = wait_draft(a, Draft.Status.DONE, Draft.Status.FAILED)
    assert a.status == Draft.Status.DONE, a.error
    with_a = counts(aep_emulator.url)

    b = run_until_review(client, sandbox, key, ["charges"], check_mapping=False,
                         account_name="Acme US", default_names=True)  # fmt: skip
    inject(aep_emulator.url, method="POST", path=SCHEMAS, kind="500", count=1)
    client.post(f"/wizard/{b.pk}/review/")
    b = wait_draft(b, Draft.Status.DONE, Draft.Status.FAILED)
    assert b.status == Draft.Status.FAILED
    assert b.steps.get(status=ProvisioningStep.Status.FAILED).kind == ProvisioningStep.Kind.SCHEMA
    client.post(f"/wizard/{b.pk}/discard/")
    b = wait_draft(b, Draft.Status.DISCARDED, Draft.Status.FAILED)
    assert b.status == Draft.Status.DISCARDED, b.error

    assert counts(aep_emulator.url) == with_a
    from monitoring.clients import client_for

    aep = client_for(sandbox)
    schemas = {s.id for s in aep.schemas.list_schemas()}
    datasets = {d.id for d in aep.catalog.list_datasets()}
    a_ids = {s.kind: s.aep_id for s in a.steps.all()}
    assert a_ids[ProvisioningStep.Kind.SCHEMA] in schemas
    assert a_ids[ProvisioningStep.Kind.DATASET] in datasets
