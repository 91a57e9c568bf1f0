"""Deep paging through the Stripe stand-in's list endpoint with a ``created`` window, the way a
backfill run reads it.

    .venv/bin/python bench/stripe_deep_paging.py [--charges 100000] [--pages 1000] [--db PATH]

Seeds the demo account with ``--charges`` charges in a temporary SQLite file (or reuses the seeded
file ``--db``), starts the stand-in on a free loopback port and walks ``--pages`` pages of
``limit=100`` charges inside a ``created[gte]``/``created[lt]`` window that covers the whole
history: down from the newest with ``starting_after``, then up from the oldest with
``ending_before``. Each walk checks that it returned every charge of the window once, in order.
Prints a Markdown table of the time per page at the start and at the end of each walk and of
the whole walk: over HTTP (client-side, including connection set-up), and the same walks calling
``store.list_page`` in-process, which leaves out HTTP and JSON and shows the query alone.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from emulators.process import start_server
from emulators.stripe import store
from emulators.stripe.accounts import DEMO_SECRET_KEY
from emulators.stripe.seed import seed

PAGE_SIZE = 100
EDGE_PAGES = 20  # pages averaged for the "first" and "last" columns


@dataclass
class Walk:
    name: str
    page_ms: list[float]
    objects: int

    @property
    def total_s(self) -> float:
        return sum(self.page_ms) / 1000

    def first_ms(self) -> float:
        return statistics.fmean(self.page_ms[:EDGE_PAGES])

    def last_ms(self) -> float:
        return statistics.fmean(self.page_ms[-EDGE_PAGES:])


def ordered_charges(db: Path) -> list[str]:
    """Every charge id of the demo account in Stripe order (newest first)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id FROM objects WHERE account = 'acct_demo' AND resource = 'charges' "
            "ORDER BY created DESC, id DESC"
        ).fetchall()
    return [row[0] for row in rows]


def window(db: Path) -> dict[str, int]:
    """A ``created`` window holding every charge, as a backfill of all history would ask."""
    with sqlite3.connect(db) as conn:
        low, high = conn.execute(
            "SELECT MIN(created), MAX(created) FROM objects "
            "WHERE account = 'acct_demo' AND resource = 'charges'"
        ).fetchone()
    return {"created[gte]": low, "created[lt]": high + 1}


def walk(
    url: str, created: dict[str, int], pages: int, cursor_param: str, oldest: str
) -> tuple[Walk, list[str]]:
    """Follow ``cursor_param`` for up to ``pages`` pages; the ids in the order they were read.

    The ``ending_before`` walk starts at ``oldest``, the oldest charge of the window.
    """
    session = requests.Session()
    session.auth = (DEMO_SECRET_KEY, "")
    params: dict[str, object] = {"limit": PAGE_SIZE, **created}
    ids: list[str] = []
    timings: list[float] = []
    cursor: str | None = None
    if cursor_param == "ending_before":
        cursor = oldest
        ids.append(cursor)
    for _ in range(pages):
        page_params = {**params, cursor_param: cursor} if cursor else params
        began = time.perf_counter()
        response = session.get(f"{url}/v1/charges", params=page_params, timeout=60)
        timings.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        body = response.json()
        page_ids = [obj["id"] for obj in body["data"]]
        if cursor_param == "ending_before":
            ids.extend(reversed(page_ids))
            cursor = page_ids[0] if page_ids else None
        else:
            ids.extend(page_ids)
            cursor = page_ids[-1] if page_ids else None
        if not body["has_more"] or cursor is None:
            break
    session.close()
    return Walk(f"{cursor_param} walk", timings, len(ids)), ids


def walk_store(
    db: Path, created: dict[str, int], pages: int, cursor_param: str, oldest: str
) -> tuple[Walk, list[str]]:
    """The same walk as ``walk``, calling the store directly: the query's own cost per page."""
    conn = store.connect(db)
    window = store.CreatedRange(gte=created["created[gte]"], lt=created["created[lt]"])
    ids: list[str] = [oldest] if cursor_param == "ending_before" else []
    timings: list[float] = []
    cursor: str | None = oldest if cursor_param == "ending_before" else None
    for _ in range(pages):
        began = time.perf_counter()
        position = store.get_position(conn, "acct_demo", "charges", cursor) if cursor else None
        page = store.list_page(
            conn,
            "acct_demo",
            "charges",
            limit=PAGE_SIZE,
            created=window,
            after=position if cursor_param == "starting_after" else None,
            before=position if cursor_param == "ending_before" else None,
        )
        timings.append((time.perf_counter() - began) * 1000)
        page_ids = [json.loads(body)["id"] for body in page.bodies]
        if cursor_param == "ending_before":
            ids.extend(reversed(page_ids))
            cursor = page_ids[0] if page_ids else None
        else:
            ids.extend(page_ids)
            cursor = page_ids[-1] if page_ids else None
        if not page.has_more or cursor is None:
            break
    conn.close()
    return Walk(f"{cursor_param} walk, store only", timings, len(ids)), ids


def table(walks: list[Walk]) -> str:
    lines = [
        f"| Walk (limit={PAGE_SIZE}, created window) | pages | objects | total s "
        f"| ms/page, first {EDGE_PAGES} | ms/page, last {EDGE_PAGES} |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in walks:
        lines.append(
            f"| {w.name} | {len(w.page_ms):,} | {w.objects:,} | {w.total_s:.1f} "
            f"| {w.first_ms():.1f} | {w.last_ms():.1f} |"
        )
    return "\n".join(lines)


def measure(db: Path, pages: int) -> list[Walk]:
    expected = ordered_charges(db)
    created = window(db)
    server = start_server("emulators.stripe", "--db", str(db), "--quiet",
                          health_path="/__stripe__/health")  # fmt: skip
    try:
        down, down_ids = walk(server.url, created, pages, "starting_after", expected[-1])
        up, up_ids = walk(server.url, created, pages, "ending_before", expected[-1])
    finally:
        server.stop()
    store_down, store_down_ids = walk_store(db, created, pages, "starting_after", expected[-1])
    store_up, store_up_ids = walk_store(db, created, pages, "ending_before", expected[-1])
    for ids in (down_ids, store_down_ids):
        if ids != expected[: len(ids)]:
            raise SystemExit("a starting_after walk did not return the charges in Stripe order")
    for ids in (up_ids, store_up_ids):
        if ids != expected[::-1][: len(ids)]:
            raise SystemExit("an ending_before walk did not return the charges in reverse order")
    return [down, up, store_down, store_up]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=100_000, help="charges to seed")
    parser.add_argument("--pages", type=int, default=1_000, help="pages per walk")
    parser.add_argument("--db", type=Path, help="an already seeded stand-in file to reuse")
    args = parser.parse_args(argv)

    if args.db:
        walks = measure(args.db, args.pages)
    else:
        with tempfile.TemporaryDirectory(prefix="stripe-paging-bench-") as tmp:
            db = Path(tmp) / "stripe.sqlite3"
            seeded = seed(db, args.charges)
            print(f"seeded {seeded.total:,} objects in {seeded.seconds:.1f}s")
            walks = measure(db, args.pages)
    print(table(walks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
