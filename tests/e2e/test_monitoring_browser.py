"""In headless chromium: overview → dataflow → run detail, with htmx filtering in between.

Set SCREENSHOT_DIR to keep a full-page screenshot of every page visited.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.roles import MARKETING_OPS, ensure_roles
from monitoring.models import Run
from tests.base import make_sandbox, make_user
from tests.monitoring.demo import build_demo

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def snap(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"monitoring-{name}.png"), full_page=True)


def test_overview_to_dataflow_to_run_detail(page, login):
    ensure_roles()
    mina = make_user("mina", MARKETING_OPS)
    flows = build_demo(make_sandbox(), owner=mina)
    login(page, mina)

    page.click("nav >> text=Overview")
    page.wait_for_url("**/overview/")
    tiles = page.locator(".tiles")
    assert tiles.locator(".tile-failing .tile-n").inner_text() == "1"
    assert tiles.locator(".tile-late .tile-n").inner_text() == "1"
    rows = page.locator("table.flows tbody tr")
    assert rows.first.locator("td").first.inner_text().startswith("Acme refunds")  # failing first
    assert page.locator("svg.chart rect").count() > 0
    snap(page, "overview")

    # Filtering swaps the live part in place and keeps the filter in the address bar.
    page.select_option("#id_status", "failing")
    page.wait_for_url("**status=failing**")
    expect(rows).to_have_count(1)
    page.select_option("#id_status", "")
    expect(rows).to_have_count(6)

    page.click("text=Acme refunds")
    page.wait_for_url(f"**/dataflows/{flows['refunds'].pk}/")
    assert "Failing" in page.locator("h1").inner_text()
    assert page.locator("#live svg.chart").count() == 2
    assert page.locator("table.runs tbody tr").count() == 25
    snap(page, "dataflow")

    failed = Run.objects.filter(dataflow=flows["refunds"], status="failed").order_by("-created_at")[
        0
    ]
    page.click(f"a[href='/runs/{failed.pk}/']")
    page.wait_for_url(f"**/runs/{failed.pk}/")
    errors = page.locator("#errors")
    assert "CONNECTOR-1001-401" in errors.inner_text()
    assert "Stripe rejected the API key" in errors.inner_text()
    assert "Suggested fix" in errors.inner_text()
    snap(page, "run-failed")

    partial = Run.objects.filter(dataflow=flows["charges"], status="partialSuccess").first()
    page.goto(f"/runs/{partial.pk}/")
    assert "A mapping rule could not be applied" in page.locator("#errors").inner_text()
    snap(page, "run-partial")

    page.goto(f"/dataflows/{flows['charges'].pk}/")
    snap(page, "dataflow-healthy")
    page.click("text=Acme Payments (live)")
    page.wait_for_url(f"**/accounts/{flows['charges'].account_id}/")
    assert page.locator("table.flows tbody tr").count() == 3
    snap(page, "account")
    page.goto("/alerts/")
    assert "The latest run failed." in page.locator("table").inner_text()
    snap(page, "alerts")
    page.goto("/alerts/rules/")
    snap(page, "alert-rules")
    # Mina owns the charges flow, so she may add rules for it (and only for it).
    page.goto(f"/alerts/rules/new/?dataflow={flows['charges'].pk}")
    page.select_option("#id_kind", "zero_records")
    snap(page, "alert-rule-form")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/dataflows/{flows['charges'].pk}/")
    assert "No records in 24 hours" in page.locator("#alerts").inner_text()
