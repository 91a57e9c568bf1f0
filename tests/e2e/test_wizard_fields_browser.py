"""In headless chromium: wizard fields found by their label, as a screen reader does, and the
demo keys a sandbox on the local AEP emulator offers.

These pages read only the database, so sandboxes and drafts are built there; no emulator runs.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.roles import MARKETING_OPS, ensure_roles
from onboarding.models import Draft
from tests.base import make_sandbox, make_user
from tests.onboarding.factories import connected_draft

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_each_dataflow_name_is_found_by_its_resource(logged_in_page):
    ensure_roles()
    mina = make_user("mina", MARKETING_OPS)
    draft = connected_draft(mina, make_sandbox())
    page = logged_in_page(mina)
    page.goto(f"/wizard/{draft.pk}/resources/")

    refunds = page.get_by_label("Dataflow name for refunds")
    expect(refunds).to_have_attribute("name", "name_refunds")
    expect(page.get_by_label("Dataflow name for charges")).to_have_attribute("name", "name_charges")
    refunds.fill("Refunds EU")
    page.check("#res-refunds")
    page.click("text=Next: look at the data")
    page.wait_for_url("**/explore/")
    draft.refresh_from_db()
    assert draft.flow_names == {"refunds": "Refunds EU"}


def test_use_this_key_fills_the_key_field_on_a_local_emulator_sandbox(logged_in_page):
    ensure_roles()
    mina = make_user("mina", MARKETING_OPS)
    make_sandbox(display_name="On this machine", platform_url="http://127.0.0.1:8100")
    make_sandbox(display_name="Adobe", sandbox_name="dev", platform_url="https://platform.adobe.io")
    page = logged_in_page(mina)
    page.goto("/wizard/new/")
    demo_keys = page.locator(".demo-keys")

    expect(demo_keys).to_be_hidden()  # no sandbox chosen yet
    page.select_option("#id_sandbox", label="Adobe (dev)")
    expect(demo_keys).to_be_hidden()
    page.select_option("#id_sandbox", label="On this machine (prod)")
    expect(demo_keys).to_be_visible()

    restricted = demo_keys.locator("li", has_text="rk_test_demo_readonly_0001")
    restricted.get_by_role("button", name="Use this key").click()
    expect(page.locator("#id_access_token")).to_have_value("rk_test_demo_readonly_0001")
    expect(demo_keys.get_by_role("status")).to_contain_text("Key filled in")
    expect(page.locator("#id_account_name")).to_be_focused()

    page.check("input[name=account_mode][value=existing]")
    expect(demo_keys).to_be_hidden()  # they belong to a new account's key
    page.check("input[name=account_mode][value=new]")
    page.fill("#id_account_name", "Demo store")
    page.get_by_role("button", name="Save and check the key").click()
    page.wait_for_url("**/account/")
    assert Draft.objects.get().access_token.reveal() == "rk_test_demo_readonly_0001"
