"""One small store API over DuckDB (default) with numbered SQL migrations.

Every query uses ``?`` placeholders: no SQL is ever built from user data.
Cursors are per thread, so one ``Store`` can be shared by the threads of a
Streamlit server (DuckDB allows one process per file; cursors are the per-thread
handles): single statements reuse the thread's cursor, each transaction opens
its own. Transactions of one process run one at a time (DuckDB is one process
per file, so this lock is the whole story), and :meth:`Store.write` retries a
transaction that lost a race (:class:`Conflict`).
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


class Conflict(Exception):
    """A concurrent transaction won (same row updated, same unique key taken): run it again."""


def _is_conflict(exc: duckdb.Error) -> bool:
    if isinstance(exc, duckdb.TransactionException):
        return True
    return isinstance(exc, duckdb.ConstraintException) and "duplicate key" in str(exc).lower()


class Store:
    """A DuckDB database file (or ``:memory:``) with the project's schema applied."""

    def __init__(self, url: str) -> None:
        if url != ":memory:":
            Path(url).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self._con = duckdb.connect(url)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        migrate(self)

    def close(self) -> None:
        self._con.close()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Run statements atomically; roll back on any exception (a lost race is :class:`Conflict`)."""
        with self._write_lock:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                yield Tx(cur)
                cur.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended it
                    cur.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error) and _is_conflict(exc):
                    raise Conflict(str(exc)) from exc
                raise
            finally:
                cur.close()

    def write(self, work: Callable[[Tx], T], attempts: int = 8) -> T:
        """``work(tx)`` in a transaction, run again (after a short random pause) when it lost a race."""
        for attempt in range(attempts):
            try:
                with self.transaction() as tx:
                    return work(tx)
            except Conflict:
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise AssertionError("unreachable")

    def _reader(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor for single statements (each one commits on its own)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return Tx(self._reader()).all(sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return Tx(self._reader()).scalar(sql, params)

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return Tx(self._reader()).frame(sql, params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.transaction() as tx:
            tx.execute(sql, params)


class Tx:
    """Statements inside one transaction."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(sql, list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cur.executemany(sql, [list(r) for r in rows])

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self._cur.execute(sql, list(params))
        names = [d[0] for d in self._cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in self._cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A query's rows as a DataFrame, with its columns even when no row matches."""
        self._cur.execute(sql, list(params))
        names = [d[0] for d in self._cur.description or ()]
        return pd.DataFrame(self._cur.fetchall(), columns=names)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._cur.execute(sql, list(params))
        row = self._cur.fetchone()
        return row[0] if row else None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk insert (used by the demo generator). ``table``/``columns`` are code constants."""
        if not rows:
            return
        frame = pd.DataFrame(list(rows), columns=list(columns), dtype=object)
        self._cur.register("_bulk_rows", frame)
        try:
            cols = ", ".join(columns)
            self._cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _bulk_rows")  # noqa: S608
        finally:
            self._cur.unregister("_bulk_rows")


def migrate(store: Store) -> list[int]:
    """Apply the numbered ``migrations/NNN_*.sql`` files not applied yet; return their numbers."""
    with store.transaction() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration "
            "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
        )
        done = {r["version"] for r in tx.all("SELECT version FROM schema_migration")}
    applied = []
    for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:3])
        if version in done:
            continue
        with store.transaction() as tx:
            for statement in _statements(path.read_text(encoding="utf-8")):
                tx.execute(statement)
            tx.execute("INSERT INTO schema_migration VALUES (?, current_timestamp)", [version])
        applied.append(version)
    return applied


def _statements(script: str) -> list[str]:
    script = re.sub(r"--[^\n]*", "", script)
    return [s.strip() for s in script.split(";") if s.strip()]
