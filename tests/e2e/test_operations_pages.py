"""More operations in a real browser: Marketing Ops edits a mapping, a conflicting edit is
explained, a failed cascade delete is resumed, failed runs are retried in bulk.

Set OPS_SCREENSHOT_DIR to keep a screenshot of each page on the way.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from core.roles import MARKETING_OPS, SUPPORT, ensure_roles
from operations import service, steps
from operations.management.cli import run_in_process
from operations.models import Operation
from tests.base import make_user, wait_for
from tests.e2e.operation_pages import DONE, shoot
from tests.emulator_world import READONLY_KEY, AEPWorld

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def people(celery_worker_thread, aep_emulator, stripe_stand_in):
    ensure_roles()
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url):
        yield (
            make_user("mina", MARKETING_OPS),
            make_user("sam", SUPPORT),
            AEPWorld(aep_emulator.url),
        )


def test_marketing_ops_edits_a_mapping_and_a_late_edit_is_a_conflict(page, login, people):
    mina, sam, world = people
    account = world.account(name="Acme Stripe")
    flow = world.dataflow(account, "charges", owner=mina)

    login(page, mina)
    page.goto(f"/ops/dataflows/{flow.pk}/")
    expect(page.get_by_role("link", name="Disable…")).to_have_count(0)  # not for her role
    page.get_by_role("link", name="Edit mapping").click()
    textarea = page.locator("#id_mapping")
    expect(textarea).to_contain_text("data.id -> _stripesources.charges_data.id")
    textarea.fill(
        "data.id -> _stripesources.charges_data.id\n"
        "data.amount / 100 -> _stripesources.charges_data.amount\n"
    )
    page.fill("#id_reason", "Amounts in major units")
    shoot(page, "11-mapping-form")
    page.get_by_role("button", name="Save as a new mapping version").click()
    expect(page.get_by_text(DONE)).to_be_visible()
    expect(page.get_by_text("The new mapping applies to future runs only.")).to_be_visible()
    assert world.client.flowservice.get_flow(flow.flow_id).mapping.mapping_version == 1

    # Sam opens the edit form; before he saves, Mina's schedule change reaches AEP.
    page.context.clear_cookies()
    login(page, sam)
    page.goto(f"/ops/dataflows/{flow.pk}/edit/")
    page.fill("#id_name", "Charges (EU shop)")
    flow.refresh_from_db()
    changes = {"interval": 30}
    mina_op = service.create(
        Operation.Kind.DATAFLOW_UPDATE,
        actor=mina,
        dataflow=flow,
        params={"changes": changes, "seen": {"etag": flow.etag, "interval": 15}},
        steps=steps.dataflow_update_steps(flow, changes),
    )
    run_in_process(mina_op, lambda line: None)
    page.get_by_role("button", name="Save in AEP").click()
    expect(page.get_by_text("Someone else changed it first")).to_be_visible()
    expect(page.locator(".conflict")).to_contain_text("mina changed this dataflow")
    shoot(page, "12-conflict")
    current = world.client.flowservice.get_flow(flow.flow_id)
    assert current.schedule.interval == 30 and current.name == flow.name


def test_a_failed_cascade_is_resumed_from_the_page(page, login, people):
    _mina, sam, world = people
    account = world.account(name="Globex Stripe")
    first = world.dataflow(account, "charges")
    second = world.dataflow(account, "refunds")
    world.fault(method="DELETE", path=f"*/flows/{second.flow_id}", kind="500")
    try:
        login(page, sam)
        page.goto(f"/ops/accounts/{account.pk}/delete/")
        page.get_by_role("button", name="Show the impact").click()
        page.fill("#id_reason", "Customer left")
        page.fill("#id_confirm_name", "Globex Stripe")
        page.get_by_role("button", name="Delete permanently").click()
        expect(page.get_by_role("button", name="Resume from the failed step")).to_be_visible()
        expect(page.locator(".error-box")).to_contain_text("internal error")
        shoot(page, "13-cascade-failed")
        assert world.exists("flows", second.flow_id)
        assert world.exists("sourceConnections", second.source_connection_id)
        assert not world.exists("flows", first.flow_id)
        page.get_by_role("button", name="Resume from the failed step").click()
        expect(page.get_by_text(DONE)).to_be_visible(timeout=20_000)
        assert not world.exists("connections", account.connection_id)
    finally:
        world.clear_faults()


def test_failed_runs_are_retried_in_bulk(page, login, people):
    _mina, sam, world = people
    restricted = world.account(READONLY_KEY, name="Read-only key")
    prices = world.dataflow(restricted, "prices")  # the key cannot read prices: runs fail
    wait_for(lambda: [r for r in world.runs(prices) if r.status == "failed"], "a failed run")
    world.mirror_runs(prices)
    login(page, sam)
    page.goto("/ops/dataflows/")
    page.get_by_label(f"Select {prices.name}").check()
    shoot(page, "14-dataflows")
    page.get_by_role("button", name="Retry failed runs of selected…").click()
    expect(page.get_by_text("AEP will re-trigger")).to_be_visible()
    shoot(page, "15-bulk-retry")
    page.fill("#id_reason", "Stripe permissions fixed")
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_text(DONE)).to_be_visible()
    shoot(page, "16-bulk-retry-done")
