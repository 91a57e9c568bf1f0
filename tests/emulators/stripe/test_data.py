"""The seeded data: Stripe's field shapes, consistent references, PII, variety, determinism."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter

import pytest

from emulators.stripe.objects import fixture
from emulators.stripe.resources import RESOURCES
from emulators.stripe.seed import seed


@pytest.fixture(scope="module")
def data(stripe_list_all) -> dict[str, list[dict]]:
    params = {"subscriptions": {"status": "all"}}
    return {r: stripe_list_all(r, params.get(r)) for r in RESOURCES}


@pytest.fixture(scope="module")
def by_id(data) -> dict[str, dict]:
    return {o["id"]: o for objects in data.values() for o in objects}


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_objects_have_the_fixture_fields(data, resource):
    expected = set(fixture(RESOURCES[resource].object))
    for obj in data[resource]:
        assert set(obj) == expected


def test_nested_shapes_follow_the_fixtures(data):
    charge_fixture = fixture("charge")
    card_keys = set(charge_fixture["payment_method_details"]["card"])
    item_keys = set(fixture("subscription")["items"]["data"][0])
    plan_keys = set(fixture("subscription")["items"]["data"][0]["plan"])
    for charge in data["charges"]:
        assert set(charge["billing_details"]) == set(charge_fixture["billing_details"])
        assert set(charge["payment_method_details"]["card"]) == card_keys
        assert set(charge["outcome"]) == set(charge_fixture["outcome"])
    for sub in data["subscriptions"]:
        (item,) = sub["items"]["data"]
        assert set(item) == item_keys
        assert set(item["plan"]) == plan_keys
        assert set(item["price"]) == set(fixture("price"))


def test_charges_point_at_real_customers_and_transactions(data, by_id):
    for charge in data["charges"]:
        if charge["customer"]:
            assert by_id[charge["customer"]]["object"] == "customer"
        if charge["status"] == "failed":
            assert charge["balance_transaction"] is None and not charge["paid"]
            continue
        txn = by_id[charge["balance_transaction"]]
        assert (txn["source"], txn["type"]) == (charge["id"], "charge")
        assert txn["amount"] == charge["amount"]
        assert txn["net"] == txn["amount"] - txn["fee"]


def test_refunds_and_charges_agree(data, by_id):
    refunded: Counter[str] = Counter()
    for refund in data["refunds"]:
        charge = by_id[refund["charge"]]
        assert refund["id"] in [r["id"] for r in charge["refunds"]["data"]]
        assert refund["currency"] == charge["currency"]
        assert refund["created"] >= charge["created"]
        if refund["status"] != "failed":
            refunded[charge["id"]] += refund["amount"]
            txn = by_id[refund["balance_transaction"]]
            assert (txn["source"], txn["amount"]) == (refund["id"], -refund["amount"])
    for charge in data["charges"]:
        assert charge["amount_refunded"] == refunded[charge["id"]]
        assert charge["refunded"] == (charge["amount_refunded"] == charge["amount"])
    assert refunded, "the seed should refund some charges"


def test_every_balance_transaction_has_a_source(data, by_id):
    kinds = Counter(by_id[t["source"]]["object"] for t in data["balance_transactions"])
    assert set(kinds) == {"charge", "refund"}


def test_subscriptions_reference_customers_and_prices(data, by_id):
    for sub in data["subscriptions"]:
        assert by_id[sub["customer"]]["object"] == "customer"
        price = sub["items"]["data"][0]["price"]
        assert by_id[price["id"]] == price
        assert price["recurring"] is not None
        assert sub["currency"] == price["currency"]


def test_customers_and_charges_carry_personal_data(data):
    for customer in data["customers"]:
        assert customer["name"] and "@" in customer["email"] and customer["phone"]
        assert customer["address"]["line1"] and customer["address"]["country"]
    for charge in data["charges"]:
        details = charge["billing_details"]
        assert details["name"] and details["email"] and details["address"]["city"]
        card = charge["payment_method_details"]["card"]
        assert re.fullmatch(r"\d{4}", card["last4"])
        assert re.fullmatch(r"[A-Za-z0-9]{16}", card["fingerprint"])


def test_a_customer_pays_with_the_same_card(data):
    cards: dict[str, set[str]] = {}
    for charge in data["charges"]:
        if charge["customer"]:
            cards.setdefault(charge["customer"], set()).add(
                charge["payment_method_details"]["card"]["fingerprint"]
            )
    assert all(len(prints) == 1 for prints in cards.values())


def test_data_has_variety(data):
    assert {c["status"] for c in data["charges"]} == {"succeeded", "failed", "pending"}
    assert len({c["currency"] for c in data["charges"]}) >= 4
    assert len({s["status"] for s in data["subscriptions"]}) >= 4
    assert {p["type"] for p in data["prices"]} == {"recurring", "one_time"}
    assert None in {c["customer"] for c in data["charges"]}


def _dump(db_path) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT account, resource, id, created, status, body FROM objects ORDER BY id"
        ).fetchall()


def test_seeding_is_deterministic(tmp_path):
    first = seed(tmp_path / "a.db", 300, account="acct_demo")
    second = seed(tmp_path / "b.db", 300, account="acct_demo")
    assert first.counts == second.counts
    assert _dump(tmp_path / "a.db") == _dump(tmp_path / "b.db")
    seed(tmp_path / "c.db", 300, account="acct_demo", rng_seed=7)
    assert _dump(tmp_path / "a.db") != _dump(tmp_path / "c.db")


def test_reseeding_replaces_the_account(tmp_path):
    db = tmp_path / "s.db"
    seed(db, 200, account="acct_other")
    again = seed(db, 80, account="acct_other")
    rows = _dump(db)
    assert len(rows) == again.total
    assert Counter(r[1] for r in rows)["charges"] == 80


def test_seed_respects_window_and_livemode(tmp_path):
    db = tmp_path / "w.db"
    end = 1_700_000_000
    seed(db, 100, account="acct_live", livemode=True, end=end, days=30)
    rows = _dump(db)
    charges = [json.loads(r[5]) for r in rows if r[1] == "charges"]
    assert all(end - 30 * 86_400 <= c["created"] < end for c in charges)
    assert {c["livemode"] for c in charges} == {True}


def test_ten_thousand_charges_seed_with_their_related_objects(tmp_path):
    # How long seeding takes is measured by bench/emulator_ingestion.py, not asserted here.
    result = seed(tmp_path / "big.db", 10_000)
    assert result.counts["charges"] == 10_000
    assert result.counts["customers"] == 2_500
    assert result.counts["balance_transactions"] > 9_000
