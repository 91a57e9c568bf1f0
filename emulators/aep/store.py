"""SQLite storage of the emulator: entity JSON documents plus the scheduler's bookkeeping.

Every platform entity (connection, flow, run, mapping set, schema, dataset ...) is one row of
``entities``: its JSON document plus the columns the emulator looks rows up by (kind, scope,
parent, alternative id). Filtering on arbitrary document paths happens in Python on the rows of
one scope, which is plenty for an emulator.

One connection per thread; writers are serialised by a process-wide lock (there is only one
emulator process per database), and ``transaction()`` makes read-modify-write sequences atomic.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    org TEXT NOT NULL,
    sandbox TEXT NOT NULL,
    parent_id TEXT,
    alt_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entities_kind_id ON entities(kind, id);
CREATE INDEX IF NOT EXISTS entities_scope ON entities(kind, org, sandbox, created_at);
CREATE INDEX IF NOT EXISTS entities_parent ON entities(kind, parent_id);
CREATE INDEX IF NOT EXISTS entities_alt ON entities(kind, alt_id);

CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    org TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS schedules (
    flow_id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    sandbox TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    period REAL NOT NULL,
    next_start REAL,
    next_end REAL,
    windows_run INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS pending_runs (
    run_id TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL,
    org TEXT NOT NULL,
    sandbox TEXT NOT NULL,
    window_start REAL NOT NULL,
    window_end REAL NOT NULL,
    queued_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS dataset_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id TEXT NOT NULL,
    org TEXT NOT NULL,
    sandbox TEXT NOT NULL,
    run_id TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    ingested_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dataset_records_dataset ON dataset_records(dataset_id, seq);
CREATE INDEX IF NOT EXISTS dataset_records_run ON dataset_records(run_id);

-- Good records of a run that has not ended yet; promoted to dataset_records when it succeeds.
CREATE TABLE IF NOT EXISTS staged_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS staged_records_run ON staged_records(run_id, seq);

-- The batch each finished run wrote, and whether error diagnostics were on for it.
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    org TEXT NOT NULL,
    sandbox TEXT NOT NULL,
    diagnostics INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Failed records of a batch (diagnostics on): the source object and its errors, capped per run.
CREATE TABLE IF NOT EXISTS failed_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failed_records_batch ON failed_records(batch_id, seq);
"""


@dataclass(frozen=True)
class Scope:
    org: str
    sandbox: str


@dataclass
class ScheduleRow:
    flow_id: str
    org: str
    sandbox: str
    enabled: bool
    period: float
    next_start: float | None
    next_end: float | None
    windows_run: int

    @property
    def finished(self) -> bool:
        return self.next_end is None


@dataclass(frozen=True)
class PendingRun:
    run_id: str
    flow_id: str
    org: str
    sandbox: str
    window_start: float
    window_end: float


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.RLock()
        with self._lock:
            self._conn().executescript(SCHEMA)

    # -- connections and transactions -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            self._local.depth = 0
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Serialise a read-modify-write sequence; nested calls join the outer transaction."""
        with self._lock:
            conn = self._conn()
            outermost = self._local.depth == 0
            if outermost:
                conn.execute("BEGIN IMMEDIATE")
            self._local.depth += 1
            try:
                yield conn
            except BaseException:
                self._local.depth -= 1
                if outermost:
                    conn.execute("ROLLBACK")
                raise
            self._local.depth -= 1
            if outermost:
                conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    # -- entities ---------------------------------------------------------------------------

    def insert(
        self,
        kind: str,
        doc: dict[str, Any],
        scope: Scope,
        *,
        entity_id: str | None = None,
        parent_id: str | None = None,
        alt_id: str | None = None,
        created_at: int = 0,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO entities(kind, id, org, sandbox, parent_id, alt_id, created_at,"
                " updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    entity_id or doc["id"],
                    scope.org,
                    scope.sandbox,
                    parent_id,
                    alt_id,
                    created_at,
                    created_at,
                    json.dumps(doc),
                ),
            )

    def replace(self, kind: str, entity_id: str, doc: dict[str, Any], updated_at: int = 0) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE entities SET doc = ?, updated_at = ? WHERE kind = ? AND id = ?",
                (json.dumps(doc), updated_at, kind, entity_id),
            )

    def get(self, kind: str, entity_id: str, scope: Scope | None = None) -> dict[str, Any] | None:
        found = self.get_with_scope(kind, entity_id)
        if found is None:
            return None
        doc, found_scope = found
        if scope is not None and found_scope != scope:
            return None
        return doc

    def get_with_scope(self, kind: str, entity_id: str) -> tuple[dict[str, Any], Scope] | None:
        rows = self._read(
            "SELECT doc, org, sandbox FROM entities WHERE kind = ? AND id = ?", (kind, entity_id)
        )
        if not rows:
            return None
        return json.loads(rows[0]["doc"]), Scope(rows[0]["org"], rows[0]["sandbox"])

    def get_by_alt(self, kind: str, alt_id: str, scope: Scope) -> dict[str, Any] | None:
        rows = self._read(
            "SELECT doc FROM entities WHERE kind = ? AND alt_id = ? AND org = ? AND sandbox = ?",
            (kind, alt_id, scope.org, scope.sandbox),
        )
        return json.loads(rows[0]["doc"]) if rows else None

    def delete(self, kind: str, entity_id: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM entities WHERE kind = ? AND id = ?", (kind, entity_id))
            return cursor.rowcount > 0

    def delete_children(self, kind: str, parent_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM entities WHERE kind = ? AND parent_id = ?", (kind, parent_id))

    def list(
        self,
        kind: str,
        scope: Scope,
        *,
        parent_id: str | None = None,
        parent_ids: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Documents of one kind in one scope, oldest first (of one parent, or of several)."""
        sql = "SELECT doc, seq FROM entities WHERE kind = ? AND org = ? AND sandbox = ?"
        params: tuple[Any, ...] = (kind, scope.org, scope.sandbox)
        if parent_id is not None:
            parent_ids = [parent_id]
        if parent_ids is not None:
            sql += f" AND parent_id IN ({', '.join('?' * len(parent_ids)) or 'NULL'})"
            params += tuple(parent_ids)
        rows = self._read(sql + " ORDER BY seq", params)
        return [json.loads(row["doc"]) for row in rows]

    def list_all(self, kind: str) -> list[tuple[dict[str, Any], Scope]]:
        rows = self._read(
            "SELECT doc, org, sandbox FROM entities WHERE kind = ? ORDER BY seq", (kind,)
        )
        return [(json.loads(r["doc"]), Scope(r["org"], r["sandbox"])) for r in rows]

    def counts(self) -> list[tuple[str, str, str, int]]:
        rows = self._read(
            "SELECT org, sandbox, kind, COUNT(*) AS n FROM entities GROUP BY org, sandbox, kind"
        )
        return [(r["org"], r["sandbox"], r["kind"], r["n"]) for r in rows]

    # -- tokens -----------------------------------------------------------------------------

    def save_token(
        self, token: str, client_id: str, org: str, issued_at: float, expires_at: float
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO tokens(token, client_id, org, issued_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token, client_id, org, issued_at, expires_at),
            )

    def find_token(self, token: str) -> sqlite3.Row | None:
        rows = self._read("SELECT * FROM tokens WHERE token = ?", (token,))
        return rows[0] if rows else None

    # -- schedules --------------------------------------------------------------------------

    def save_schedule(self, row: ScheduleRow) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO schedules(flow_id, org, sandbox, enabled, period,"
                " next_start, next_end, windows_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.flow_id,
                    row.org,
                    row.sandbox,
                    int(row.enabled),
                    row.period,
                    row.next_start,
                    row.next_end,
                    row.windows_run,
                ),
            )

    def schedule(self, flow_id: str) -> ScheduleRow | None:
        rows = self._read("SELECT * FROM schedules WHERE flow_id = ?", (flow_id,))
        return _schedule_row(rows[0]) if rows else None

    def due_schedules(self, now: float) -> list[ScheduleRow]:
        rows = self._read(
            "SELECT * FROM schedules WHERE enabled = 1 AND next_end IS NOT NULL AND next_end <= ?",
            (now,),
        )
        return [_schedule_row(r) for r in rows]

    def delete_schedule(self, flow_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM schedules WHERE flow_id = ?", (flow_id,))

    # -- queued runs (ad-hoc and re-triggered) -----------------------------------------------

    def queue_run(self, pending: PendingRun, queued_at: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO pending_runs(run_id, flow_id, org, sandbox, window_start, window_end,"
                " queued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    pending.run_id,
                    pending.flow_id,
                    pending.org,
                    pending.sandbox,
                    pending.window_start,
                    pending.window_end,
                    queued_at,
                ),
            )

    def pending_runs(self) -> list[PendingRun]:
        rows = self._read("SELECT * FROM pending_runs ORDER BY queued_at")
        return [
            PendingRun(
                r["run_id"],
                r["flow_id"],
                r["org"],
                r["sandbox"],
                r["window_start"],
                r["window_end"],
            )
            for r in rows
        ]

    def claim_pending_run(self, run_id: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM pending_runs WHERE run_id = ?", (run_id,)).rowcount > 0

    def drop_pending_runs(self, flow_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM pending_runs WHERE flow_id = ?", (flow_id,))

    # -- dataset records --------------------------------------------------------------------

    def stage_records(self, run_id: str, records: list[dict[str, Any]]) -> None:
        """Keep a page of a running run's records out of sight until the run is judged."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO staged_records(run_id, doc) VALUES (?, ?)",
                [(run_id, json.dumps(r)) for r in records],
            )

    def promote_staged(
        self, run_id: str, dataset: str, scope: Scope, batch: str, ingested_at: int
    ) -> int:
        """Move a run's staged records into the dataset, in the order they were staged."""
        with self.transaction() as db:
            moved = db.execute(
                "INSERT INTO dataset_records(dataset_id, org, sandbox, run_id, batch_id,"
                " ingested_at, doc) SELECT ?, ?, ?, run_id, ?, ?, doc FROM staged_records"
                " WHERE run_id = ? ORDER BY seq",
                (dataset, scope.org, scope.sandbox, batch, ingested_at, run_id),
            ).rowcount
            db.execute("DELETE FROM staged_records WHERE run_id = ?", (run_id,))
        return moved

    def discard_staged(self, run_id: str | None = None) -> None:
        """Drop the staged records of one run, or of every run when ``run_id`` is None."""
        with self.transaction() as db:
            if run_id is None:
                db.execute("DELETE FROM staged_records")
            else:
                db.execute("DELETE FROM staged_records WHERE run_id = ?", (run_id,))

    def staged_count(self) -> int:
        return self._read("SELECT COUNT(*) AS n FROM staged_records")[0]["n"]

    def dataset_records(
        self, dataset: str, *, start: int, limit: int, run_id: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        where = "dataset_id = ?" + (" AND run_id = ?" if run_id else "")
        params: tuple[Any, ...] = (dataset, run_id) if run_id else (dataset,)
        total = self._read(f"SELECT COUNT(*) AS n FROM dataset_records WHERE {where}", params)  # noqa: S608
        rows = self._read(
            f"SELECT * FROM dataset_records WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",  # noqa: S608
            (*params, limit, start),
        )
        records = [
            {
                "runId": r["run_id"],
                "batchId": r["batch_id"],
                "ingestedAt": r["ingested_at"],
                "record": json.loads(r["doc"]),
            }
            for r in rows
        ]
        return records, total[0]["n"]

    def record_count(self) -> int:
        return self._read("SELECT COUNT(*) AS n FROM dataset_records")[0]["n"]

    # -- batches and their error diagnostics -------------------------------------------------

    def save_batch(
        self, batch_id: str, run_id: str, scope: Scope, *, diagnostics: bool, created_at: int
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO batches(batch_id, run_id, org, sandbox, diagnostics,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (batch_id, run_id, scope.org, scope.sandbox, int(diagnostics), created_at),
            )

    def batch(self, batch_id: str, scope: Scope) -> sqlite3.Row | None:
        rows = self._read(
            "SELECT * FROM batches WHERE batch_id = ? AND org = ? AND sandbox = ?",
            (batch_id, scope.org, scope.sandbox),
        )
        return rows[0] if rows else None

    def save_failed_records(self, batch_id: str, rows: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO failed_records(batch_id, doc) VALUES (?, ?)",
                [(batch_id, json.dumps(row)) for row in rows],
            )

    def failed_records(self, batch_id: str, *, start: int, limit: int) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT doc FROM failed_records WHERE batch_id = ? ORDER BY seq LIMIT ? OFFSET ?",
            (batch_id, limit, start),
        )
        return [json.loads(r["doc"]) for r in rows]

    def failed_record_count(self, batch_id: str) -> int:
        rows = self._read(
            "SELECT COUNT(*) AS n FROM failed_records WHERE batch_id = ?", (batch_id,)
        )
        return rows[0]["n"]

    def discard_failed_records(self, batch_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM failed_records WHERE batch_id = ?", (batch_id,))

    # -- housekeeping -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every entity, run and record; issued tokens stay valid."""
        with self.transaction() as db:
            tables = (
                "entities",
                "schedules",
                "pending_runs",
                "dataset_records",
                "staged_records",
                "batches",
                "failed_records",
            )
            for table in tables:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _schedule_row(row: sqlite3.Row) -> ScheduleRow:
    return ScheduleRow(
        flow_id=row["flow_id"],
        org=row["org"],
        sandbox=row["sandbox"],
        enabled=bool(row["enabled"]),
        period=row["period"],
        next_start=row["next_start"],
        next_end=row["next_end"],
        windows_run=row["windows_run"],
    )
