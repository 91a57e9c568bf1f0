"""Emulator-only endpoints and keep-adding mode: new data arrives with created = now."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests

from emulators.process import REPO_ROOT
from emulators.stripe.live import keep_adding
from emulators.stripe.seed import seed


def list_page(server, resource: str, key: str | None = None, **params) -> dict:
    response = requests.get(
        f"{server.url}/v1/{resource}",
        params=params,
        auth=(key or server.secret_key, ""),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_added_charges_are_new_and_found_incrementally(stripe_scratch_server):
    server = stripe_scratch_server
    before = server.count("charges")
    since = int(time.time()) - 1
    result = server.admin("objects", {"account": "acct_demo", "resource": "charges", "count": 3})
    new_ids = result["created"]["charges"]
    assert len(new_ids) == 3
    assert server.count("charges") == before + 3
    assert result["created_at"] >= since
    page = list_page(server, "charges", **{"created[gt]": since, "limit": 100})
    assert {c["id"] for c in page["data"]} >= set(new_ids)
    newest = list_page(server, "charges", limit=3)["data"]
    assert {c["created"] for c in newest} >= {result["created_at"]}


def test_added_refund_updates_its_charge(stripe_scratch_server):
    server = stripe_scratch_server
    result = server.admin("objects", {"resource": "refunds", "count": 1})
    (refund_id,) = result["created"]["refunds"]
    refund = list_page(server, "refunds", limit=1)["data"][0]
    assert refund["id"] == refund_id
    charge = requests.get(
        f"{server.url}/v1/charges/{refund['charge']}", auth=(server.secret_key, ""), timeout=10
    ).json()
    assert refund_id in [r["id"] for r in charge["refunds"]["data"]]
    if refund["status"] != "failed":
        assert charge["amount_refunded"] >= refund["amount"]


@pytest.mark.parametrize(
    "resource", ["customers", "prices", "subscriptions", "balance_transactions"]
)
def test_each_resource_can_be_added(stripe_scratch_server, resource):
    server = stripe_scratch_server
    before = server.count(resource, account="acct_other")
    result = server.admin("objects", {"account": "acct_other", "resource": resource, "count": 2})
    assert len(result["created"][resource]) == 2
    assert server.count(resource, account="acct_other") == before + 2


def test_count_endpoint_filters_by_created(stripe_scratch_server):
    server = stripe_scratch_server
    items = list_page(server, "balance_transactions", limit=100)["data"]
    low, high = items[-1]["created"], items[len(items) // 2]["created"]
    expected = sum(1 for t in items if low <= t["created"] < high)
    assert server.count("balance_transactions", created__gte=low, created__lt=high) == expected


def test_admin_rejects_unknown_account_and_resource(stripe_scratch_server):
    url = f"{stripe_scratch_server.url}/__stripe__/objects"
    for payload in (
        {"account": "acct_nobody", "resource": "charges"},
        {"resource": "invoices"},
        {"resource": "charges", "count": 0},
    ):
        assert requests.post(url, json=payload, timeout=10).status_code == 400, payload


def test_seed_endpoint_replaces_one_account(stripe_scratch_server):
    server = stripe_scratch_server
    demo_before = server.count(account="acct_demo")
    result = server.admin("seed", {"account": "acct_live", "charges": 30})
    assert result["counts"]["charges"] == 30
    assert server.count("charges", account="acct_live") == 30
    assert server.count(account="acct_demo") == demo_before
    page = list_page(server, "charges", key=server.live_key, limit=100)
    assert len(page["data"]) == 30 and page["data"][0]["livemode"] is True


def test_reset_wipes_data_but_keeps_demo_keys(stripe_scratch_server):
    server = stripe_scratch_server
    server.admin("keys", {"key": "sk_test_temporary_reset_key_1"})
    server.admin("rate-limit", {"rps": 1})
    assert server.admin("reset") == {"reset": True, "counts": {}}
    assert server.count() == 0
    assert list_page(server, "charges")["data"] == []
    temporary = requests.get(
        f"{server.url}/v1/charges", auth=("sk_test_temporary_reset_key_1", ""), timeout=10
    )
    assert temporary.status_code == 401
    seeded = server.admin("reset", {"charges": 20})
    assert seeded["counts"]["acct_demo"]["charges"] == 20
    # The rate limit went back to the start-up setting (none), so a burst passes.
    assert all(
        requests.get(f"{server.url}/v1/prices", auth=(server.secret_key, ""), timeout=10).ok
        for _ in range(5)
    )


def _charges_since(db_path, since: int) -> int:
    with sqlite3.connect(db_path) as conn:
        try:
            (n,) = conn.execute(
                "SELECT COUNT(*) FROM objects WHERE resource = 'charges' AND created >= ?", (since,)
            ).fetchone()
        except sqlite3.OperationalError:
            return 0  # the seed process has created the file but not its tables yet
    return n


def test_keep_adding_creates_rounds_stamped_now(tmp_path):
    db = tmp_path / "k.db"
    seed(db, 20)
    since = int(time.time())
    assert keep_adding(db, "acct_demo", 0.01, rounds=3) == 3
    assert 3 <= _charges_since(db, since) <= 9


def test_keep_adding_stops_when_asked(tmp_path):
    db = tmp_path / "k.db"
    stop = threading.Event()
    thread = threading.Thread(target=keep_adding, args=(db, "acct_demo", 30), kwargs={"stop": stop})
    since = int(time.time())
    seed(db, 5)
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert _charges_since(db, since) >= 1


def test_seed_command_line_keeps_adding(tmp_path):
    db = tmp_path / "cli.db"
    command = [sys.executable, "-m", "emulators.stripe.seed", "--db", str(db), "--charges", "25"]
    process = subprocess.Popen(
        [*command, "--keep-adding", "0.1"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        since = int(time.time())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not db.exists() or _charges_since(db, since) < 3):
            time.sleep(0.1)
        assert _charges_since(db, since) >= 3
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "seeded acct_demo" in output and "25 charges" in output
    assert "added to acct_demo" in output


def test_start_seeds_only_an_empty_database(tmp_path):
    from emulators.stripe.testing import start_stripe_stand_in

    empty = start_stripe_stand_in(tmp_path / "a", charges=0)
    try:
        assert list_page(empty, "charges")["data"] == []
        assert empty.count() == 0
    finally:
        empty.stop()
    first = start_stripe_stand_in(tmp_path / "b", charges=15)
    first.stop()
    again = start_stripe_stand_in(tmp_path / "c", charges=40, db_path=first.db_path)
    try:
        assert again.count("charges") == 15
        assert again.count("charges", account="acct_live") == 3
    finally:
        again.stop()
