"""In headless chromium: a new user clicks through the whole wizard and lands on the new
dataflows, against the AEP emulator and the Stripe stand-in with a real worker.

Screenshots of every step go to SCREENSHOT_DIR (or a tmp dir) as wizard-*.png.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from core.roles import MARKETING_OPS, ensure_roles
from monitoring.models import Dataflow
from tests.base import make_user
from tests.emulator_world import emulator_sandbox
from tests.onboarding.driver import relax_sqlite_locks

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SLOW = 60_000  # ms: steps that wait for the worker and AEP


def test_a_new_user_creates_charges_and_customers_dataflows(
    logged_in_page, screenshots, celery_worker_thread, aep_emulator, stripe_stand_in
):
    ensure_roles()
    relax_sqlite_locks()
    mina = make_user("mina", MARKETING_OPS)
    emulator_sandbox(aep_emulator.url, display_name="Acme production")
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0):
        page = logged_in_page(mina)
        _walk_through(page, screenshots, stripe_stand_in)
    flows = Dataflow.objects.filter(owner=mina)
    assert sorted(flows.values_list("resource_path", flat=True)) == ["charges", "customers"]


def _walk_through(page, shoot, stand_in) -> None:
    page.click("nav >> text=New dataflow")
    page.wait_for_url("**/wizard/")
    shoot(page, "wizard-0-drafts")
    page.click("text=Start a new dataflow")

    # 1. Sandbox and account: a mistyped key first, then the real one.
    page.select_option("#id_sandbox", label="Acme production (prod)")
    page.fill("#id_account_name", "Acme EU store")
    page.fill("#id_access_token", "acme-key")
    page.click("text=Save and check the key")
    expect(page.locator(".error").first).to_contain_text("Stripe API keys start with")
    shoot(page, "wizard-1a-account-error")
    page.fill("#id_access_token", stand_in.restricted_key)
    page.click("text=Save and check the key")
    expect(page.locator("table.matrix")).to_be_visible(timeout=SLOW)
    expect(page.locator("#probe")).to_contain_text("Not permitted")
    shoot(page, "wizard-1b-account-probe")
    page.click("text=Connect account to AEP")
    page.click("text=Next: choose data", timeout=SLOW)

    # 2. Resources: the restricted key cannot read prices.
    expect(page.locator("#res-prices")).to_be_disabled()
    page.check("#res-charges")
    page.check("#res-customers")
    shoot(page, "wizard-2-resources")
    page.click("text=Next: look at the data")

    # 3. Explore.
    expect(page.locator("section.explore")).to_have_count(2, timeout=SLOW)
    expect(page.locator("section.explore").first).to_contain_text("personal data")
    shoot(page, "wizard-3-explore", full_page=False)
    page.click("text=Next: choose a dataset")

    # 4. Dataset: new ones, as suggested.
    shoot(page, "wizard-4-dataset")
    page.click("text=Next: map the fields")

    # 5. Mapping: add a calculated field, validate and preview, for charges; then customers.
    page.select_option("#id_recipe", "decimal_amount")
    page.select_option("#id_field", "data.amount")
    page.click("form:has(#id_recipe) button[type=submit]")
    expect(page.locator("input[value='_stripesources.charges_data.amount_decimal']")).to_have_count(
        1
    )
    page.click("button[value=validate]")
    expect(page.locator("#checks")).to_contain_text("AEP accepts", timeout=SLOW)
    page.click("button[value=preview]")
    expect(page.locator("#checks")).to_contain_text("What AEP would store", timeout=SLOW)
    shoot(page, "wizard-5a-mapping", full_page=False)
    page.locator("#mapping-form tbody tr").nth(80).scroll_into_view_if_needed()
    shoot(page, "wizard-5b-mapping-rows", full_page=False)
    page.click("button[value=next]")
    page.wait_for_url("**/mapping/customers/")
    page.click("button[value=next]")

    # 6. Schedule: a too-short interval first.
    page.wait_for_url("**/schedule/")
    page.select_option("#id_frequency", "minute")
    page.fill("#id_interval", "5")
    page.click("button[value=save]")
    expect(page.locator(".error").first).to_contain_text("at most every 15 minutes")
    shoot(page, "wizard-6a-schedule-error")
    page.fill("#id_interval", "15")
    page.click("button[value=save]")
    expect(page.locator(".summary")).to_contain_text("Every 15 minutes from")
    expect(page.locator("#estimate")).to_contain_text("First run size", timeout=SLOW)
    shoot(page, "wizard-6b-schedule")
    page.click("button[value=next]")

    # 7. Review, then Create.
    page.wait_for_url("**/review/")
    expect(page.locator("main")).to_contain_text("Mapping set")
    shoot(page, "wizard-7-review")
    page.click("text=Create 2 dataflows")
    page.wait_for_url("**/provisioning/")
    shoot(page, "wizard-8-provisioning")
    page.wait_for_url("**/done/", timeout=SLOW)
    expect(page.locator("h1")).to_contain_text("2 dataflows created")
    shoot(page, "wizard-9-done")


def test_a_failed_step_is_explained_and_retry_finishes(
    logged_in_page, screenshots, celery_worker_thread, aep_emulator, stripe_stand_in
):
    from django.test import Client

    from tests.base import PASSWORD
    from tests.emulator_world import clear_faults, inject
    from tests.onboarding.driver import run_until_review

    ensure_roles()
    relax_sqlite_locks()
    mina = make_user("mina", MARKETING_OPS)
    sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="dev", display_name="Acme dev")
    client = Client()
    client.login(username="mina", password=PASSWORD)
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0):
        draft = run_until_review(
            client, sandbox, stripe_stand_in.secret_key, ["refunds"], check_mapping=False
        )
        inject(
            aep_emulator.url, method="POST", path="/data/foundation/flowservice/flows", kind="500"
        )
        try:
            page = logged_in_page(mina)
            page.goto(f"/wizard/{draft.pk}/review/")
            page.click("text=Create 1 dataflow")
            expect(page.locator(".error-box")).to_contain_text("failed", timeout=SLOW)
            expect(page.locator(".error-box")).to_contain_text("internal error")
            screenshots(page, "wizard-8b-provisioning-failed")
            page.click("button:has-text('Retry')")
            page.wait_for_url("**/done/", timeout=SLOW)
            expect(page.locator("h1")).to_contain_text("1 dataflow created")
        finally:
            clear_faults(aep_emulator.url)
