"""Create objects stamped with the current time, as a running Stripe account would.

Used by ``POST /__stripe__/objects`` and by the seeder's keep-adding mode, so incremental
ingestion (``created[gt]=<last run>``) has something new to find.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from emulators.stripe import store
from emulators.stripe.objects import CATALOG, Factory, Obj
from emulators.stripe.resources import RESOURCES
from emulators.stripe.seed import SUBSCRIPTION_STATUSES, _weighted, charge_with_related, to_row

NEW_CUSTOMER_SHARE = 0.25


class LiveAdder:
    """Adds objects to one account, reusing its customers, prices and charges as references."""

    def __init__(self, conn: sqlite3.Connection, account: str, livemode: bool) -> None:
        self.conn = conn
        self.account = account
        self.factory = Factory(account, livemode, random.Random())
        self.created: dict[str, list[str]] = {}

    @property
    def rng(self) -> random.Random:
        return self.factory.rng

    def add(self, resource: str, count: int, now: int | None = None) -> dict[str, list[str]]:
        """Create ``count`` ``resource`` objects (plus what they need); return ids by resource."""
        add_one = {
            "charges": self._add_charge,
            "customers": self._add_customer,
            "refunds": self._add_refund,
            "balance_transactions": self._add_paid_charge,
            "subscriptions": self._add_subscription,
            "prices": self._add_price,
        }[resource]
        for _ in range(count):
            add_one(now or int(time.time()))
        return self.created

    # ---- writing -------------------------------------------------------------------------

    def _insert(self, *objects: Obj) -> None:
        rows = [to_row(self.account, obj) for obj in objects]
        store.insert_rows(self.conn, rows)
        for row in rows:
            self.created.setdefault(row.resource, []).append(row.id)

    def _update(self, obj: Obj) -> None:
        row = to_row(self.account, obj)
        store.replace_body(self.conn, row.id, row.body, row.status)

    # ---- picking references --------------------------------------------------------------

    def _random_existing(self, resource: str) -> Obj | None:
        params = (self.account, resource)
        (n,) = self.conn.execute(
            "SELECT COUNT(*) FROM objects WHERE account = ? AND resource = ?", params
        ).fetchone()
        if not n:
            return None
        row = self.conn.execute(
            "SELECT body FROM objects WHERE account = ? AND resource = ? LIMIT 1 OFFSET ?",
            (*params, self.rng.randrange(n)),
        ).fetchone()
        return json.loads(row[0])

    def _customer(self, now: int, allow_guest: bool = True) -> Obj | None:
        roll = self.rng.random()
        if allow_guest and roll < 0.08:
            return None
        existing = None if roll < NEW_CUSTOMER_SHARE else self._random_existing("customers")
        return existing or self._add_customer(now)

    def _recurring_price(self, now: int) -> Obj:
        rows = self.conn.execute(
            "SELECT body FROM objects WHERE account = ? AND resource = 'prices' "
            "AND status = 'active'",
            (self.account,),
        ).fetchall()
        recurring = [p for (body,) in rows if (p := json.loads(body))["recurring"]]
        if recurring:
            return self.rng.choice(recurring)
        return self._add_price(now, recurring_only=True)

    # ---- one object of each kind ---------------------------------------------------------

    def _add_customer(self, now: int) -> Obj:
        customer = self.factory.customer(now)
        self._insert(customer)
        return customer

    def _add_price(self, now: int, recurring_only: bool = False) -> Obj:
        catalog = [c for c in CATALOG if c[3] or not recurring_only]
        name, lookup, amount, interval = self.rng.choice(catalog)
        currency = self.rng.choice(("usd", "eur", "gbp"))
        product = (self.factory.product_id(), name)
        price = self.factory.price(now, product, lookup, amount, interval, currency)
        self._insert(price)
        return price

    def _add_charge(self, now: int, status: str | None = None) -> Obj:
        customer = self._customer(now)
        objects = charge_with_related(self.factory, now, customer, now, status, refund_share=0)
        self._insert(*objects)
        return objects[-1]

    def _add_paid_charge(self, now: int) -> Obj:
        return self._add_charge(now, status="succeeded")

    def _add_refund(self, now: int) -> None:
        charge = self._refundable_charge() or self._add_charge(now, status="succeeded")
        refund = self.factory.refund(charge, now, self.factory.refund_amount(charge))
        objects = [refund]
        if refund["status"] != "failed":
            objects.append(self.factory.refund_transaction(refund, charge["description"], now))
        self._insert(*objects)
        # Stripe updates the charge in place; its created stays, so created filters miss it.
        self._update(charge)

    def _refundable_charge(self) -> Obj | None:
        rows = self.conn.execute(
            "SELECT body FROM objects WHERE account = ? AND resource = 'charges' "
            "AND status = 'succeeded' ORDER BY created DESC, id DESC LIMIT 50",
            (self.account,),
        ).fetchall()
        candidates = [c for (body,) in rows if not (c := json.loads(body))["refunded"]]
        return self.rng.choice(candidates) if candidates else None

    def _add_subscription(self, now: int) -> None:
        customer = self._customer(now, allow_guest=False)
        assert customer is not None
        price = self._recurring_price(now)
        status = _weighted(self.rng, tuple(s for s in SUBSCRIPTION_STATUSES if s[0] != "canceled"))
        self._insert(self.factory.subscription(now, customer, price, status, now))


def add_objects(
    conn: sqlite3.Connection, account: str, resource: str, count: int, now: int | None = None
) -> dict[str, list[str]]:
    """Create ``count`` new ``resource`` objects for ``account`` in one transaction."""
    if resource not in RESOURCES:
        raise ValueError(f"unknown resource {resource!r}")
    with store.transaction(conn):
        livemode = store.account_livemode(conn, account)
        if livemode is None:
            raise LookupError(f"unknown account {account!r}")
        return LiveAdder(conn, account, livemode).add(resource, count, now)


def add_round(conn: sqlite3.Connection, account: str, rng: random.Random) -> dict[str, list[str]]:
    """One keep-adding round: a few charges, sometimes a customer, refund or subscription."""
    with store.transaction(conn):
        livemode = bool(store.account_livemode(conn, account))
        adder = LiveAdder(conn, account, livemode)
        adder.add("charges", rng.randint(1, 3))
        for resource, chance in (("customers", 0.3), ("refunds", 0.15), ("subscriptions", 0.1)):
            if rng.random() < chance:
                adder.add(resource, 1)
        return adder.created


def keep_adding(
    db_path: str | Path,
    account: str,
    seconds_between: float,
    *,
    rounds: int | None = None,
    stop: threading.Event | None = None,
    report: Callable[[str], object] | None = None,
) -> int:
    """Add a round of new objects every ``seconds_between`` seconds; return rounds done."""
    store.init_db(db_path)
    stop = stop or threading.Event()
    rng = random.Random()
    conn = store.connect(db_path)
    done = 0
    try:
        while rounds is None or done < rounds:
            created = add_round(conn, account, rng)
            done += 1
            if report:
                summary = ", ".join(f"{len(ids)} {r}" for r, ids in sorted(created.items()))
                report(f"added to {account}: {summary}")
            if (rounds is None or done < rounds) and stop.wait(seconds_between):
                break
    finally:
        conn.close()
    return done
