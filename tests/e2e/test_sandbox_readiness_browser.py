"""In headless chromium: an Admin runs Check readiness on a sandbox whose credential may not
use Catalog, and the table names the failed call and the permission to grant.

Set SCREENSHOT_DIR to keep a full-page screenshot of the page with its report.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.roles import ADMIN, ensure_roles
from tests.base import make_user
from tests.emulator_world import DEMO_KEY, AEPWorld

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_check_readiness_shows_the_report_table(
    page, login, celery_worker_thread, aep_emulator, stripe_stand_in
):
    ensure_roles()
    alex = make_user("alex", ADMIN)
    world = AEPWorld(aep_emulator.url)
    account = world.account(DEMO_KEY, name="Acme EU")
    world.dataflow(account, "charges")
    world.fault(path="/data/foundation/catalog/*", kind="403", rate=1.0)
    try:
        login(page, alex)
        page.goto(f"/sandboxes/{world.sandbox.pk}/")
        page.click("button:has-text('Check readiness')")
        verdict = page.locator("#readiness .error-box")
        expect(verdict).to_contain_text("Not ready", timeout=60_000)
        failed = page.locator("table.readiness tr.readiness-failed")
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("Datasets")
        expect(failed).to_contain_text("403")
        expect(failed).to_contain_text("View Datasets / Manage Datasets")
        assert page.locator("table.readiness tr.readiness-passed").count() >= 15
        folder = os.environ.get("SCREENSHOT_DIR")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / "sandbox-readiness.png"), full_page=True)
    finally:
        world.clear_faults()
