"""SQLite storage: each object is JSON text plus indexed (account, resource, created, id) columns.

Readers and a separate seeding process may use the file at the same time, so the database runs
in WAL mode and every connection waits on locks instead of failing.
"""

from __future__ import annotations

import json
import operator
import queue
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emulators.stripe.accounts import DEMO_ACCOUNTS, ApiKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    livemode INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts(id),
    permissions TEXT,
    revoked_at INTEGER,
    expires_at INTEGER,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    resource TEXT NOT NULL,
    created INTEGER NOT NULL,
    status TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_page ON objects (account, resource, created, id);
"""


@dataclass(frozen=True)
class Row:
    """One stored object, ready for a bulk insert."""

    id: str
    account: str
    resource: str
    created: int
    status: str | None
    body: str


@dataclass(frozen=True)
class CreatedRange:
    """A parsed ``created`` filter; every bound is optional."""

    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None

    def clauses(self) -> tuple[list[str], list[int]]:
        sql: list[str] = []
        args: list[int] = []
        for op, value in (
            ("> ?", self.gt),
            (">= ?", self.gte),
            ("< ?", self.lt),
            ("<= ?", self.lte),
        ):
            if value is not None:
                sql.append(f"created {op}")
                args.append(value)
        return sql, args


@dataclass(frozen=True)
class Page:
    bodies: list[str]
    has_more: bool


def connect(db_path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def init_db(db_path: str | Path) -> None:
    """Create the schema and the built-in demo accounts and keys (idempotent)."""
    conn = connect(db_path)
    try:
        conn.executescript(SCHEMA)
        with transaction(conn):
            ensure_demo_accounts(conn)
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # IMMEDIATE takes the write lock up front so two writers queue instead of deadlocking.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_demo_accounts(conn: sqlite3.Connection) -> None:
    now = int(time.time())
    for account in DEMO_ACCOUNTS:
        ensure_account(conn, account.id, account.livemode, now)
        for key in account.keys:
            conn.execute(
                "INSERT OR IGNORE INTO api_keys (key, account, permissions, created) "
                "VALUES (?, ?, ?, ?)",
                (key.key, key.account, _permissions_text(key.permissions), now),
            )


def ensure_account(conn: sqlite3.Connection, account: str, livemode: bool, now: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO accounts (id, livemode, created) VALUES (?, ?, ?)",
        (account, int(livemode), now),
    )


def account_livemode(conn: sqlite3.Connection, account: str) -> bool | None:
    row = conn.execute("SELECT livemode FROM accounts WHERE id = ?", (account,)).fetchone()
    return None if row is None else bool(row[0])


def list_accounts(conn: sqlite3.Connection) -> list[tuple[str, bool]]:
    return [(r[0], bool(r[1])) for r in conn.execute("SELECT id, livemode FROM accounts")]


def _permissions_text(permissions: frozenset[str] | None) -> str | None:
    return None if permissions is None else json.dumps(sorted(permissions))


def find_key(conn: sqlite3.Connection, key: str) -> ApiKey | None:
    row = conn.execute(
        "SELECT key, account, permissions, revoked_at, expires_at FROM api_keys WHERE key = ?",
        (key,),
    ).fetchone()
    if row is None:
        return None
    permissions = None if row[2] is None else frozenset(json.loads(row[2]))
    return ApiKey(row[0], row[1], permissions, row[3], row[4])


def list_keys(conn: sqlite3.Connection) -> list[ApiKey]:
    keys = conn.execute("SELECT key FROM api_keys ORDER BY account, key").fetchall()
    return [k for (key,) in keys if (k := find_key(conn, key)) is not None]


def put_key(conn: sqlite3.Connection, key: ApiKey, now: int) -> None:
    conn.execute(
        "INSERT INTO api_keys (key, account, permissions, revoked_at, expires_at, created) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET account = excluded.account, "
        "permissions = excluded.permissions, revoked_at = excluded.revoked_at, "
        "expires_at = excluded.expires_at",
        (
            key.key,
            key.account,
            _permissions_text(key.permissions),
            key.revoked_at,
            key.expires_at,
            now,
        ),
    )


def insert_rows(conn: sqlite3.Connection, rows: Iterable[Row]) -> int:
    cursor = conn.executemany(
        "INSERT INTO objects (id, account, resource, created, status, body) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ((r.id, r.account, r.resource, r.created, r.status, r.body) for r in rows),
    )
    return cursor.rowcount


def replace_body(conn: sqlite3.Connection, object_id: str, body: str, status: str | None) -> None:
    conn.execute("UPDATE objects SET body = ?, status = ? WHERE id = ?", (body, status, object_id))


def delete_account_objects(conn: sqlite3.Connection, account: str) -> None:
    conn.execute("DELETE FROM objects WHERE account = ?", (account,))


def wipe(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM objects")
    conn.execute("DELETE FROM api_keys")
    conn.execute("DELETE FROM accounts")


def get_body(conn: sqlite3.Connection, account: str, resource: str, object_id: str) -> str | None:
    row = conn.execute(
        "SELECT body FROM objects WHERE id = ? AND account = ? AND resource = ?",
        (object_id, account, resource),
    ).fetchone()
    return None if row is None else row[0]


def get_position(
    conn: sqlite3.Connection, account: str, resource: str, object_id: str
) -> tuple[int, str] | None:
    row = conn.execute(
        "SELECT created, id FROM objects WHERE id = ? AND account = ? AND resource = ?",
        (object_id, account, resource),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def list_page(
    conn: sqlite3.Connection,
    account: str,
    resource: str,
    *,
    limit: int,
    created: CreatedRange,
    after: tuple[int, str] | None = None,
    before: tuple[int, str] | None = None,
    extra_sql: Sequence[str] = (),
    extra_args: Sequence[object] = (),
) -> Page:
    """One page in Stripe order (created desc, id desc).

    ``after`` is the position of a ``starting_after`` cursor (older objects follow it);
    ``before`` that of an ``ending_before`` cursor, which reads newer objects upwards and then
    flips them, so ``has_more`` says whether still newer objects exist.
    """
    range_sql, range_args = keyset_clauses(created, after, before)
    where = ["account = ?", "resource = ?", *extra_sql, *range_sql]
    args: list[object] = [account, resource, *extra_args, *range_args]
    order = "created ASC, id ASC" if before is not None else "created DESC, id DESC"
    sql = f"SELECT body FROM objects WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"  # noqa: S608
    bodies = [r[0] for r in conn.execute(sql, [*args, limit + 1])]
    has_more = len(bodies) > limit
    bodies = bodies[:limit]
    if before is not None:
        bodies.reverse()
    return Page(bodies, has_more)


def keyset_clauses(
    created: CreatedRange,
    after: tuple[int, str] | None,
    before: tuple[int, str] | None,
) -> tuple[list[str], list[int | str]]:
    """The ``created`` bounds and cursors of a page as SQL, with no bound that another implies.

    On each side (newer, older) either the cursor or the ``created`` bounds are the tighter
    limit, and the other is then redundant. Leaving only the tighter one matters: given both
    ``created < ?`` and ``(created, id) < (?, ?)``, SQLite seeks the index to ``created < ?``
    and filters the cursor row by row, so every page would skip all the newer rows again.
    Keeping the cursor alone makes it the index range, and a page deep in the list costs the
    same as the first.
    """
    upper = [("<", created.lt), ("<=", created.lte)]
    lower = [(">", created.gt), (">=", created.gte)]
    sql: list[str] = []
    args: list[int | str] = []
    for side, cursor, op in ((upper, after, "<"), (lower, before, ">")):
        bounds = [(bound_op, value) for bound_op, value in side if value is not None]
        if cursor is not None and _cursor_is_tighter(cursor[0], bounds):
            sql.append(f"(created, id) {op} (?, ?)")
            args += list(cursor)
            continue
        # No cursor, or a created bound that already excludes everything the cursor would.
        for bound_op, value in bounds:
            sql.append(f"created {bound_op} ?")
            args.append(value)
    return sql, args


def _cursor_is_tighter(cursor_created: int, bounds: list[tuple[str, int]]) -> bool:
    """Whether the rows past a cursor at ``cursor_created`` all satisfy ``bounds``, which are on
    the cursor's side: ``created < 9`` holds for everything older than a cursor at 8."""
    return all(_COMPARE[op](cursor_created, value) for op, value in bounds)


_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def count(
    conn: sqlite3.Connection,
    account: str,
    resource: str | None,
    created: CreatedRange,
    status: str | None = None,
) -> dict[str, int]:
    where = ["account = ?"]
    args: list[object] = [account]
    if resource:
        where.append("resource = ?")
        args.append(resource)
    if status:
        where.append("status = ?")
        args.append(status)
    created_sql, created_args = created.clauses()
    where += created_sql
    args += created_args
    sql = f"SELECT resource, COUNT(*) FROM objects WHERE {' AND '.join(where)} GROUP BY resource"  # noqa: S608
    return dict(conn.execute(sql, args).fetchall())


def has_objects(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is not None


class ConnectionPool:
    """A few long-lived connections shared by the threaded server's request threads."""

    def __init__(self, db_path: str | Path, size: int = 8) -> None:
        self.db_path = str(db_path)
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._size = size

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.db_path)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if self._idle.qsize() < self._size:
                self._idle.put(conn)
            else:
                conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
