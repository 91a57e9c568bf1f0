"""In headless chromium: wizard fields a person finds by their label, as a screen reader does.

These pages read only the database, so the drafts are built there; no emulator is needed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.roles import MARKETING_OPS, ensure_roles
from tests.base import make_sandbox, make_user
from tests.onboarding.onboarding_builders import connected_draft

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
