"""Latency of the Stripe stand-in's list endpoint on a large account.

    .venv/bin/python bench/stripe_list_latency.py [--objects 100000] [--requests 200]

Seeds about ``--objects`` objects (charges plus their customers, refunds, balance
transactions, subscriptions and prices) into a temporary SQLite file, starts the stand-in on a
free loopback port and times ``limit=100`` list calls: the first page, deep pages reached with
``starting_after``/``ending_before``, and pages inside a ``created`` window. Prints a Markdown
table of p50/p95 latencies (client-side, including connection set-up: werkzeug closes the
connection after each response).
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from emulators.process import start_server
from emulators.stripe.accounts import DEMO_SECRET_KEY
from emulators.stripe.seed import seed

# Objects written per seeded charge (measured: 10,000 charges give about 23,850 objects).
OBJECTS_PER_CHARGE = 2.38
DAY = 86_400


@dataclass
class Scenario:
    name: str
    path: str
    params: Callable[[random.Random], dict[str, object]]


@dataclass
class Result:
    name: str
    p50: float
    p95: float
    mean: float
    items: float


def ordered_ids(db: Path, resource: str) -> list[tuple[int, str]]:
    """(created, id) of every object of ``resource``, newest first, straight from the file."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT created, id FROM objects WHERE account = 'acct_demo' AND resource = ? "
            "ORDER BY created DESC, id DESC",
            (resource,),
        ).fetchall()


def scenarios(db: Path) -> list[Scenario]:
    charges = ordered_ids(db, "charges")
    n = len(charges)
    newest = charges[0][0]
    # A 30-day window in the middle of the history, and positions inside it.
    window_hi = newest - 150 * DAY
    window_lo = window_hi - 30 * DAY
    window = [c for c in charges if window_lo <= c[0] < window_hi]
    created = {"created[gte]": window_lo, "created[lt]": window_hi}

    def deep(rng: random.Random) -> str:
        return charges[rng.randrange(n // 2, n - 1)][1]

    def in_window(rng: random.Random) -> str:
        return window[rng.randrange(len(window) // 2, len(window) - 1)][1]

    return [
        Scenario("charges, first page", "charges", lambda rng: {}),
        Scenario(
            "charges, deep page (starting_after in older half)",
            "charges",
            lambda rng: {"starting_after": deep(rng)},
        ),
        Scenario(
            "charges, deep page (ending_before in older half)",
            "charges",
            lambda rng: {"ending_before": deep(rng)},
        ),
        Scenario("charges, created window, first page", "charges", lambda rng: dict(created)),
        Scenario(
            "charges, created window + starting_after",
            "charges",
            lambda rng: {**created, "starting_after": in_window(rng)},
        ),
        Scenario(
            "charges, created[gt] incremental (last day)",
            "charges",
            lambda rng: {"created[gt]": newest - DAY},
        ),
        Scenario("balance_transactions, first page", "balance_transactions", lambda rng: {}),
        Scenario(
            "charges, first page, expand data.customer",
            "charges",
            lambda rng: {"expand[]": "data.customer"},
        ),
    ]


def measure(url: str, scenario: Scenario, requests_per: int, warmup: int = 10) -> Result:
    rng = random.Random(scenario.name)
    session = requests.Session()
    session.auth = (DEMO_SECRET_KEY, "")
    timings: list[float] = []
    items: list[int] = []
    for i in range(warmup + requests_per):
        params = {"limit": 100, **scenario.params(rng)}
        began = time.perf_counter()
        response = session.get(f"{url}/v1/{scenario.path}", params=params, timeout=30)
        elapsed = time.perf_counter() - began
        response.raise_for_status()
        if i >= warmup:
            timings.append(elapsed * 1000)
            items.append(len(response.json()["data"]))
    timings.sort()
    return Result(
        scenario.name,
        p50=percentile(timings, 50),
        p95=percentile(timings, 95),
        mean=statistics.fmean(timings),
        items=statistics.fmean(items),
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    rank = max(0, math.ceil(pct / 100 * len(sorted_values)) - 1)
    return sorted_values[rank]


def table(results: list[Result]) -> str:
    lines = [
        "| Request (limit=100) | p50 ms | p95 ms | mean ms | items/page |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(f"| {r.name} | {r.p50:.1f} | {r.p95:.1f} | {r.mean:.1f} | {r.items:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000, help="objects to seed (about)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="stripe-bench-") as tmp:
        db = Path(tmp) / "stripe.sqlite3"
        charges = math.ceil(args.objects / OBJECTS_PER_CHARGE)
        seeded = seed(db, charges)
        counts = ", ".join(f"{n} {r}" for r, n in sorted(seeded.counts.items()))
        print(f"seeded {seeded.total} objects in {seeded.seconds:.1f}s ({counts})")
        server = start_server("emulators.stripe", "--db", str(db), "--quiet",
                              health_path="/__stripe__/health")  # fmt: skip
        try:
            results = [measure(server.url, s, args.requests) for s in scenarios(db)]
        finally:
            server.stop()
    print(f"{args.requests} sequential requests per row on loopback, after 10 warm-up requests\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
