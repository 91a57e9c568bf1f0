"""Support in a real browser: rotate a Stripe key, disable then enable a dataflow, delete the
account. Real live server, real Celery worker, real AEP emulator and Stripe stand-in.

Set OPS_SCREENSHOT_DIR to keep a screenshot of each page on the way.
"""

from __future__ import annotations

import re
import time

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from core.roles import SUPPORT, ensure_roles
from tests.base import make_user, wait_for
from tests.e2e.operation_pages import DONE, shoot
from tests.emulator_world import READONLY_KEY, AEPWorld

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def support(celery_worker_thread, aep_emulator, stripe_stand_in):
    ensure_roles()
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url):
        yield make_user("sam", SUPPORT), AEPWorld(aep_emulator.url)


def test_support_rotates_a_key_pauses_a_flow_and_deletes_the_account(page, login, support):
    sam, world = support
    account = world.account(name="Acme Stripe")
    charges = world.dataflow(account, "charges")
    prices = world.dataflow(account, "prices")
    wait_for(lambda: len(world.runs(charges)) >= 3, "three runs in AEP")
    login(page, sam)

    # Rotate: the new key is checked first and the dataflow that would lose access is named.
    page.goto("/ops/accounts/")
    shoot(page, "01-accounts")
    page.get_by_role("link", name="Acme Stripe").click()
    shoot(page, "02-account")
    page.get_by_role("link", name="Rotate Stripe key").click()
    page.fill("#id_new_key", READONLY_KEY)
    page.fill("#id_reason", "Key pasted into a public ticket")
    page.fill("#id_ticket", "SUP-1001")
    shoot(page, "03-rotate-form")
    page.get_by_role("button", name="Check the new key").click()
    expect(page.get_by_text("1 dataflow would lose access:")).to_be_visible()
    expect(page.locator(".warning-box")).to_contain_text(prices.name)
    shoot(page, "04-rotate-preview")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Replace the key in AEP").click()
    expect(page.get_by_text(DONE)).to_be_visible()
    shoot(page, "05-rotate-done")
    assert READONLY_KEY not in page.content()

    # Disable, let intervals pass, then enable: the backfill runs are announced and appear.
    page.goto(f"/ops/dataflows/{charges.pk}/")
    page.get_by_role("link", name="Disable…").click()
    page.fill("#id_reason", "Noisy while the customer migrates")
    page.get_by_role("button", name="Disable in AEP").click()
    expect(page.get_by_text(DONE)).to_be_visible()
    time.sleep(0.5)
    before = {run.id for run in world.runs(charges)}
    time.sleep(3.5)  # two 15-minute windows at the emulator's time scale
    world.mirror_runs(charges)
    page.goto(f"/ops/dataflows/{charges.pk}/")
    shoot(page, "06-dataflow-disabled")
    page.get_by_role("link", name="Enable…").click()
    expect(page.get_by_text(re.compile(r"About \d+ backfill runs?"))).to_be_visible()
    shoot(page, "07-enable-preview")
    page.get_by_role("button", name=re.compile(r"Enable and start \d+ backfill")).click()
    expect(page.get_by_text(DONE)).to_be_visible()
    wait_for(lambda: [r for r in world.runs(charges) if r.id not in before], "a new run")

    # Delete the account: impact preview, typed confirmation, cascade step by step.
    page.goto(f"/ops/accounts/{account.pk}/")
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Show the impact").click()
    expect(page.get_by_text("What will be deleted")).to_be_visible()
    shoot(page, "08-delete-impact")
    page.fill("#id_reason", "Customer closed their Stripe account")
    page.fill("#id_confirm_name", "Acme Strip")
    page.get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_text("Type the name exactly as shown")).to_be_visible()
    page.fill("#id_reason", "Customer closed their Stripe account")
    page.fill("#id_confirm_name", "Acme Stripe")
    page.get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_text(DONE)).to_be_visible(timeout=20_000)
    shoot(page, "09-delete-done")
    assert not world.exists("connections", account.connection_id)
    assert not world.exists("flows", charges.flow_id)

    # Everything is in the audit trail with who and why.
    page.goto("/ops/audit/?actor=sam")
    expect(page.locator("table.audit")).to_contain_text("account.rotate_key")
    expect(page.locator("table.audit")).to_contain_text("Key pasted into a public ticket")
    shoot(page, "10-audit")
