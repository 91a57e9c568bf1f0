"""Fill the stand-in's database with a deterministic, related set of Stripe objects.

    python -m emulators.stripe.seed --db PATH --charges 10000 [--account acct_demo]
        [--rng-seed 42] [--end UNIX_TS] [--days 365] [--keep-adding SECONDS_BETWEEN]

For N charges the seed also writes about N/4 customers (one in three with a subscription), a
price catalogue, a balance transaction per paid or pending charge, and refunds (with their own
balance transactions) on about 7% of the paid charges. Same arguments, same data.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from emulators.stripe import store
from emulators.stripe.accounts import DEMO_ACCOUNTS
from emulators.stripe.objects import CATALOG, DAY, PRICE_CURRENCIES, Factory, Obj
from emulators.stripe.resources import RESOURCE_BY_OBJECT

# A fixed end keeps "same arguments, same data" true from one day to the next.
DEFAULT_END = 1_793_491_200  # 2026-11-01T00:00:00Z
DEFAULT_DAYS = 365
DEFAULT_RNG_SEED = 42

CHARGE_STATUSES = (("succeeded", 90), ("failed", 7), ("pending", 3))
SUBSCRIPTION_STATUSES = (
    ("active", 60),
    ("trialing", 10),
    ("past_due", 8),
    ("canceled", 15),
    ("unpaid", 3),
    ("incomplete", 4),
)
REFUND_SHARE = 0.07
GUEST_SHARE = 0.06  # charges without a customer object
SAME_SECOND_SHARE = 0.05  # charges created in the same second as the previous one


@dataclass
class SeedResult:
    account: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def to_row(account: str, obj: Obj) -> store.Row:
    resource = RESOURCE_BY_OBJECT[obj["object"]].path
    status = obj.get("status")
    if resource == "prices":
        status = "active" if obj["active"] else "inactive"
    return store.Row(
        obj["id"],
        account,
        resource,
        obj["created"],
        status,
        json.dumps(obj, separators=(",", ":")),
    )


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _spread_times(rng: random.Random, n: int, start: int, end: int) -> list[int]:
    times = sorted(rng.randrange(start, end) for _ in range(n))
    # Equal timestamps happen in real accounts; they exercise the id tiebreak in list order.
    for i in range(1, n):
        if rng.random() < SAME_SECOND_SHARE:
            times[i] = times[i - 1]
    return times


def generate(
    account: str,
    livemode: bool,
    charges: int,
    *,
    rng_seed: int = DEFAULT_RNG_SEED,
    end: int = DEFAULT_END,
    days: int = DEFAULT_DAYS,
) -> Iterator[Obj]:
    """Yield the objects of one account, each only after every change to it is made."""
    rng = random.Random(f"{rng_seed}:{account}")
    factory = Factory(account, livemode, rng)
    start = end - days * DAY

    prices = _catalogue(factory, start)
    yield from prices

    customer_times = _spread_times(rng, max(1, charges // 4), start, end)
    customers = [factory.customer(t) for t in customer_times]
    # Subscriptions first: a past-due one marks its customer delinquent before it is written.
    subscriptions = list(_subscriptions(factory, customers, prices, end))
    yield from customers
    yield from subscriptions
    yield from _charges(factory, customers, customer_times, charges, start, end)


def _catalogue(factory: Factory, start: int) -> list[Obj]:
    rng = factory.rng
    products = {name: factory.product_id() for name, *_ in CATALOG}
    prices = []
    for name, lookup, amount, interval in CATALOG:
        for currency in PRICE_CURRENCIES:
            created = start - rng.randint(30, 400) * DAY
            price = factory.price(
                created, (products[name], name), lookup, amount, interval, currency
            )
            # A few legacy prices stay on old subscriptions but are no longer sold.
            price["active"] = rng.random() > 0.1
            prices.append(price)
    return prices


def _subscriptions(factory: Factory, customers: list[Obj], prices: list[Obj], end: int):
    rng = factory.rng
    recurring = [p for p in prices if p["recurring"]]
    by_currency = {c: [p for p in recurring if p["currency"] == c] for c in PRICE_CURRENCIES}
    subscribers = rng.sample(customers, len(customers) // 3)
    subscribers.sort(key=lambda c: (c["created"], c["id"]))
    for customer in subscribers:
        status = _weighted(rng, SUBSCRIPTION_STATUSES)
        earliest = customer["created"]
        if status == "trialing":
            earliest = max(earliest, end - 14 * DAY)
        created = rng.randint(earliest, end - 1)
        price = rng.choice(by_currency.get(customer["currency"]) or by_currency["usd"])
        if status in ("past_due", "unpaid"):
            customer["delinquent"] = True
        yield factory.subscription(created, customer, price, status, end)


def _charges(
    factory: Factory,
    customers: list[Obj],
    customer_times: list[int],
    count: int,
    start: int,
    end: int,
) -> Iterator[Obj]:
    rng = factory.rng
    for created in _spread_times(rng, count, start, end):
        known = bisect.bisect_right(customer_times, created)
        customer = None
        if known and rng.random() >= GUEST_SHARE:
            customer = customers[rng.randrange(known)]
        yield from charge_with_related(factory, created, customer, end)


def charge_with_related(
    factory: Factory,
    created: int,
    customer: Obj | None,
    now: int,
    status: str | None = None,
    refund_share: float = REFUND_SHARE,
) -> list[Obj]:
    """A charge, its balance transaction and perhaps a refund with its balance transaction."""
    rng = factory.rng
    status = status or _weighted(rng, CHARGE_STATUSES)
    charge = factory.charge(created, customer, status)
    related: list[Obj] = []
    if status == "failed":
        return [charge]
    related.append(factory.charge_transaction(charge, now))
    if status == "succeeded" and rng.random() < refund_share:
        refunded_at = min(created + rng.randint(3_600, 20 * DAY), now)
        if refunded_at > created:
            refund = factory.refund(charge, refunded_at, factory.refund_amount(charge))
            related.append(refund)
            if refund["status"] != "failed":
                related.append(factory.refund_transaction(refund, charge["description"], now))
    # The charge goes last: refunds above change its amount_refunded and refunds list.
    return [*related, charge]


def seed(
    db_path: str | Path,
    charges: int = 10_000,
    *,
    account: str = "acct_demo",
    livemode: bool | None = None,
    rng_seed: int = DEFAULT_RNG_SEED,
    end: int = DEFAULT_END,
    days: int = DEFAULT_DAYS,
    keep_adding: float | None = None,
    rounds: int | None = None,
    stop: threading.Event | None = None,
) -> SeedResult:
    """Replace ``account``'s objects with ``charges`` charges and their related objects.

    ``livemode`` defaults to the account's mode (test for a new account). With ``keep_adding``
    the call then keeps creating objects stamped with the current time every ``keep_adding``
    seconds, until ``rounds`` rounds are done or ``stop`` is set (forever if neither).
    """
    began = time.perf_counter()
    store.init_db(db_path)
    conn = store.connect(db_path)
    try:
        with store.transaction(conn):
            mode = store.account_livemode(conn, account)
            livemode = mode if livemode is None and mode is not None else bool(livemode)
            store.ensure_account(conn, account, livemode, int(time.time()))
            store.delete_account_objects(conn, account)
            counts: Counter[str] = Counter()
            objects = generate(account, livemode, charges, rng_seed=rng_seed, end=end, days=days)
            rows = (to_row(account, obj) for obj in objects)
            store.insert_rows(conn, _counted(rows, counts))
    finally:
        conn.close()
    result = SeedResult(account, dict(counts), time.perf_counter() - began)
    if keep_adding is not None:
        from emulators.stripe.live import keep_adding as run_keep_adding

        run_keep_adding(db_path, account, keep_adding, rounds=rounds, stop=stop)
    return result


def seed_demo_accounts(db_path: str | Path, charges: int) -> dict[str, dict[str, int]]:
    """Seed every built-in demo account; acct_demo gets ``charges``, the others a fifth."""
    counts = {}
    for account in DEMO_ACCOUNTS:
        n = max(1, round(charges * account.seed_share))
        result = seed(db_path, n, account=account.id, livemode=account.livemode)
        counts[account.id] = result.counts
    return counts


def _counted(rows: Iterator[store.Row], counts: Counter[str]) -> Iterator[store.Row]:
    for row in rows:
        counts[row.resource] += 1
        yield row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seed the Stripe stand-in's database.")
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    parser.add_argument("--charges", type=int, default=10_000)
    parser.add_argument("--account", default="acct_demo")
    parser.add_argument("--rng-seed", type=int, default=DEFAULT_RNG_SEED)
    parser.add_argument("--end", type=int, default=DEFAULT_END, help="newest created (Unix)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of history")
    parser.add_argument(
        "--keep-adding",
        type=float,
        metavar="SECONDS_BETWEEN",
        help="after seeding, keep adding new objects stamped now, every SECONDS_BETWEEN",
    )
    args = parser.parse_args(argv)
    result = seed(
        args.db,
        args.charges,
        account=args.account,
        rng_seed=args.rng_seed,
        end=args.end,
        days=args.days,
    )
    summary = ", ".join(f"{n} {r}" for r, n in sorted(result.counts.items()))
    print(f"seeded {args.account} in {result.seconds:.1f}s: {summary}", flush=True)
    if args.keep_adding is not None:
        from emulators.stripe.live import keep_adding

        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            keep_adding(args.db, args.account, args.keep_adding, report=_say)
    return 0


def _say(message: str) -> None:
    print(message, flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
