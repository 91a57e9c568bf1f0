"""Keyset paging of the Stripe stand-in's store: every page equals a naive reference (sort, filter,
slice) over a store full of ties on ``created``, cursors seek the index instead of scanning, and
walks across pages in both directions visit every object once."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.stripe import store
from emulators.stripe.store import CreatedRange

ACCOUNT = "acct_keyset"
RESOURCE = "charges"
BASE = 1_700_000_000

Key = tuple[int, str]


def _rows(rng: random.Random) -> list[store.Row]:
    """400 charges on 60 distinct seconds (so most share theirs), plus noise the list must skip:
    another resource and another account on the same seconds."""
    rows = []
    for n in range(400):
        created = BASE + rng.randrange(60) * 10
        rows.append(store.Row(f"ch_{rng.getrandbits(40):010x}{n:03d}", ACCOUNT, RESOURCE, created,
                              None, f'{{"n":{n}}}'))  # fmt: skip
    for n in range(50):
        created = BASE + rng.randrange(60) * 10
        rows.append(store.Row(f"re_{n:04d}", ACCOUNT, "refunds", created, None, "{}"))
        rows.append(store.Row(f"ch_other_{n:04d}", "acct_other", RESOURCE, created, None, "{}"))
    return rows


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sqlite3.Connection, list]]:
    """A store file and the (created, id, body) of its charges, newest first."""
    path = Path(tmp_path_factory.mktemp("keyset")) / "stripe.sqlite3"
    store.init_db(path)
    conn = store.connect(path)
    rows = _rows(random.Random(7))
    with store.transaction(conn):
        store.insert_rows(conn, rows)
    charges = sorted(
        (
            (r.created, r.id, r.body)
            for r in rows
            if r.account == ACCOUNT and r.resource == RESOURCE
        ),
        reverse=True,
    )
    yield conn, charges
    conn.close()


def reference_page(
    charges: list[tuple[int, str, str]],
    *,
    limit: int,
    created: CreatedRange,
    after: Key | None = None,
    before: Key | None = None,
) -> store.Page:
    """Stripe's semantics the slow, obvious way: filter the newest-first list, then slice it."""
    matching = [c for c in charges if _inside(c[0], created)]
    if after is not None:
        older = [c for c in matching if (c[0], c[1]) < after]
        return store.Page([c[2] for c in older[:limit]], len(older) > limit)
    if before is not None:
        newer = [c for c in matching if (c[0], c[1]) > before]
        return store.Page([c[2] for c in newer[-limit:]], len(newer) > limit)
    return store.Page([c[2] for c in matching[:limit]], len(matching) > limit)


def _inside(value: int, created: CreatedRange) -> bool:
    return (
        (created.gt is None or value > created.gt)
        and (created.gte is None or value >= created.gte)
        and (created.lt is None or value < created.lt)
        and (created.lte is None or value <= created.lte)
    )


def _random_range(rng: random.Random) -> CreatedRange:
    # Bounds land on occupied seconds and between them, so ties sit right on the edges.
    def bound() -> int | None:
        return (
            BASE + rng.randrange(-2, 62) * 10 + rng.choice((0, 0, 5))
            if rng.random() < 0.5
            else None
        )

    return CreatedRange(gt=bound(), gte=bound(), lt=bound(), lte=bound())


def _page(conn: sqlite3.Connection, **kwargs) -> store.Page:
    return store.list_page(conn, ACCOUNT, RESOURCE, **kwargs)


def test_every_page_matches_the_naive_reference(seeded):
    conn, charges = seeded
    keys = [(c[0], c[1]) for c in charges]
    rng = random.Random(11)
    for _ in range(3000):
        created = _random_range(rng)
        limit = rng.choice((1, 2, 3, 10, 37, 100))
        cursor = rng.choice(keys)
        direction = rng.choice(("after", "before", None))
        cursors = {direction: cursor} if direction else {}
        expected = reference_page(charges, limit=limit, created=created, **cursors)
        assert _page(conn, limit=limit, created=created, **cursors) == expected, (
            created,
            limit,
            cursors,
        )


@pytest.mark.parametrize(
    "created",
    [
        CreatedRange(),
        CreatedRange(gte=BASE + 100, lt=BASE + 500),
        CreatedRange(gt=BASE + 100, lte=BASE + 500),
        CreatedRange(gte=BASE + 105, lt=BASE + 495),
    ],
)
@pytest.mark.parametrize("limit", [1, 7, 100])
def test_walking_down_and_up_visits_the_window_once_in_order(seeded, created, limit):
    conn, charges = seeded
    expected = reference_page(charges, limit=len(charges), created=created).bodies

    down: list[str] = []
    after: Key | None = None
    while True:
        page = _page(conn, limit=limit, created=created, after=after)
        down += page.bodies
        if not page.has_more:
            break
        after = _key_of(charges, page.bodies[-1])
    assert down == expected

    # Upwards from the oldest object of the window, as a client paging back with ending_before.
    up = [expected[-1]]
    before = _key_of(charges, expected[-1])
    while True:
        page = _page(conn, limit=limit, created=created, before=before)
        up = page.bodies + up
        if not page.has_more:
            break
        before = _key_of(charges, page.bodies[0])
    assert up == expected


def _key_of(charges: list[tuple[int, str, str]], body: str) -> Key:
    return next((c[0], c[1]) for c in charges if c[2] == body)


@pytest.mark.parametrize(
    ("created", "after", "before"),
    [
        (CreatedRange(lt=BASE + 10_000), (BASE + 100, "ch_m"), None),
        (CreatedRange(gte=BASE, lt=BASE + 10_000), (BASE + 100, "ch_m"), None),
        (CreatedRange(lte=BASE + 10_000, gt=BASE), (BASE + 100, "ch_m"), None),
        (CreatedRange(gte=BASE, lt=BASE + 10_000), None, (BASE + 100, "ch_m")),
        (CreatedRange(gt=BASE - 10, lte=BASE + 10_000), None, (BASE + 100, "ch_m")),
    ],
)
def test_a_cursor_inside_a_created_window_seeks_the_index(seeded, created, after, before):
    conn, _ = seeded
    sql, args = store.keyset_clauses(created, after, before)
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT body FROM objects "  # noqa: S608 - clauses built by the store
        f"WHERE account = ? AND resource = ? AND {' AND '.join(sql)} ORDER BY created DESC LIMIT 1",
        [ACCOUNT, RESOURCE, *args],
    ).fetchall()
    detail = " ".join(row[-1] for row in plan)
    assert "USING INDEX objects_page" in detail
    assert "(created,id)" in detail, detail


def test_only_the_tighter_of_cursor_and_created_bound_is_kept():
    window = CreatedRange(gte=100, lt=200)
    assert store.keyset_clauses(window, (150, "ch_b"), None) == (
        ["(created, id) < (?, ?)", "created >= ?"],
        [150, "ch_b", 100],
    )
    # A cursor newer than the window: the window's own bound already excludes everything newer.
    assert store.keyset_clauses(window, (250, "ch_b"), None) == (
        ["created < ?", "created >= ?"],
        [200, 100],
    )
    # A cursor on the lower edge itself: rows after it still satisfy created >= 100.
    assert store.keyset_clauses(window, None, (100, "ch_a")) == (
        ["created < ?", "(created, id) > (?, ?)"],
        [200, 100, "ch_a"],
    )
    assert store.keyset_clauses(CreatedRange(gt=100), None, (100, "ch_a")) == (
        ["created > ?"],
        [100],
    )
