"""One small store API over DuckDB (default) or PostgreSQL, with numbered SQL migrations.

``ESAT_DB`` is a DuckDB file path (or ``:memory:``), or a ``postgresql://`` URL (psycopg 3).
Every query uses ``?`` placeholders: no SQL is ever built from user data. The same SQL serves
both stores; :func:`pg_sql` turns it into psycopg's ``%s`` style in one place.

DuckDB: one process owns the file (a second process is refused with :class:`StoreBusy`).
Cursors are per thread, so one ``Store`` can be shared by the threads of a Streamlit server:
single statements reuse the thread's cursor, each transaction opens its own, and the
transactions of the process run one at a time (this lock is the whole story on DuckDB).

PostgreSQL: several processes (replicas) share the database. Each call takes a connection
from a small pool of its own and gives it back: a single statement runs in autocommit, a
transaction is ``BEGIN … COMMIT`` at READ COMMITTED on one connection; row locks order
concurrent writers (services/audit.py reads ``audit_head FOR UPDATE``). Sessions run with
``TimeZone=UTC``: timestamps are naive UTC (``TIMESTAMP`` without time zone) on both stores.

On both, a transaction that lost a race (write-write conflict, serialization failure,
deadlock, unique key taken) raises :class:`Conflict`, and :meth:`Store.write` runs it again.
"""

from __future__ import annotations

import contextlib
import functools
import random
import re
import sys
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
POSTGRESQL, DUCKDB = "postgresql", "duckdb"
POOL_SIZE = 16  # connections of one process to PostgreSQL, at most
MIGRATION_LOCK = 72_0601  # pg_advisory_xact_lock key: replicas starting together migrate one at a time


class Conflict(Exception):
    """A concurrent transaction won (same row updated, same unique key taken): run it again."""


class StoreBusy(Exception):
    """The DuckDB file is held by another process (DuckDB serves one process per file)."""


def is_postgresql(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _is_conflict(exc: BaseException) -> bool:
    if isinstance(exc, duckdb.Error):
        if isinstance(exc, duckdb.TransactionException):
            return True
        return isinstance(exc, duckdb.ConstraintException) and "duplicate key" in str(exc).lower()
    import psycopg.errors as pg  # imported only where PostgreSQL is in use

    return isinstance(exc, pg.SerializationFailure | pg.DeadlockDetected | pg.UniqueViolation)


def _db_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (duckdb.Error, psycopg.Error)


@functools.lru_cache(maxsize=4096)
def pg_sql(sql: str) -> str:
    """``?`` placeholders → ``%s`` (outside string literals), ``%`` → ``%%`` (psycopg's escape)."""
    parts = re.split(r"('(?:[^']|'')*')", sql)  # odd items are quoted literals
    out = []
    for i, part in enumerate(parts):
        part = part.replace("%", "%%")
        out.append(part if i % 2 else part.replace("?", "%s"))
    return "".join(out)


class Store:
    """A DuckDB file (or ``:memory:``) or a PostgreSQL database, with the project's schema applied."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = POSTGRESQL if is_postgresql(url) else DUCKDB
        self._local = threading.local()
        self._write_lock = threading.RLock()
        if self.dialect == POSTGRESQL:
            self._pool: _Pool | None = _Pool(url, POOL_SIZE)
        else:
            self._pool = None
            if url != ":memory:":
                Path(url).parent.mkdir(parents=True, exist_ok=True)
            self._con = _connect_duckdb(url)
        migrate(self)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        else:
            self._con.close()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Run statements atomically; roll back on any exception (a lost race is :class:`Conflict`)."""
        if self._pool is not None:
            with self._pool.connection() as conn:
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        yield Tx(cur, POSTGRESQL)
                except _db_errors() as exc:
                    if _is_conflict(exc):
                        raise Conflict(str(exc)) from exc
                    raise
            return
        with self._write_lock:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                yield Tx(cur, DUCKDB)
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

    @contextmanager
    def _single(self) -> Iterator[Tx]:
        """A statement on its own: this thread's DuckDB cursor, or a pooled connection in autocommit."""
        if self._pool is not None:
            with self._pool.connection() as conn, conn.cursor() as cur:
                yield Tx(cur, POSTGRESQL)
            return
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        yield Tx(cur, DUCKDB)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._single() as tx:
            return tx.all(sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._single() as tx:
            return tx.scalar(sql, params)

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self._single() as tx:
            return tx.frame(sql, params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.transaction() as tx:
            tx.execute(sql, params)


class Tx:
    """Statements inside one transaction (or one statement on its own)."""

    def __init__(self, cur: Any, dialect: str = DUCKDB) -> None:
        self._cur = cur
        self.dialect = dialect

    def _run(self, sql: str, params: Sequence[Any]) -> None:
        if self.dialect == POSTGRESQL:
            # No parameters: the text goes as it is (psycopg reads no placeholder in it).
            self._cur.execute(pg_sql(sql) if params else sql, list(params) if params else None)
        else:
            self._cur.execute(sql, list(params))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cur.executemany(pg_sql(sql) if self.dialect == POSTGRESQL else sql, [list(r) for r in rows])

    def _names(self) -> list[str]:
        return [d[0] for d in self._cur.description or ()]

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self._run(sql, params)
        names = self._names()
        return [dict(zip(names, row, strict=True)) for row in self._cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A query's rows as a DataFrame, with its columns even when no row matches.

        Both stores hand over Python values (int, Decimal, datetime, date, str, bool), so the
        column dtypes are pandas' own inference from the same values on both.
        """
        self._run(sql, params)
        names = self._names()
        return pd.DataFrame(self._cur.fetchall(), columns=names)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._run(sql, params)
        rows = self._cur.fetchall()  # the whole result: DuckDB keeps a half-read one open
        return rows[0][0] if rows else None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk insert (used by the demo generator). ``table``/``columns`` are code constants.

        PostgreSQL: ``COPY … FROM STDIN``. DuckDB: an object-typed DataFrame, read by SQL.
        """
        if not rows:
            return
        cols = ", ".join(columns)
        if self.dialect == POSTGRESQL:
            with self._cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        frame = pd.DataFrame(list(rows), columns=list(columns), dtype=object)
        self._cur.register("_bulk_rows", frame)
        try:
            self._cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _bulk_rows")  # noqa: S608
        finally:
            self._cur.unregister("_bulk_rows")


def open_or_exit(url: str) -> Store:
    """Open the store for a command-line entry point; a French message and exit 1 when it cannot.

    A DuckDB file already held by another process (a second server on the same file: DATA-05)
    or an unreachable PostgreSQL server ends the process without a traceback.
    """
    try:
        return Store(url)
    except StoreBusy as exc:
        message = str(exc)
    except Exception as exc:
        if not is_postgresql(url) or not isinstance(exc, _db_errors()):
            raise
        message = f"La base PostgreSQL est injoignable ({type(exc).__name__}) : {str(exc).strip()}"
    print(f"Espace ESAT ne démarre pas. {message}", file=sys.stderr)
    raise SystemExit(1)


def _connect_duckdb(path: str) -> duckdb.DuckDBPyConnection:
    """Open the file, or refuse clearly when another process holds it (DATA-05)."""
    try:
        # One thread per query: our tables are far below DuckDB's 122,880-row groups, so a query
        # has nothing to split, and the second thread cost CPU (a submission: 16.3 → 14.5 ms).
        return duckdb.connect(path, config={"threads": 1})
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        holder = re.search(r"PID (\d+)", str(exc))
        by = f" (processus {holder.group(1)})" if holder else ""
        raise StoreBusy(
            f"La base DuckDB {path} est déjà utilisée par un autre processus{by}. "
            "Une base DuckDB ne sert qu'un seul processus : arrêtez l'autre serveur, ou, pour "
            "faire tourner plusieurs serveurs (réplicas), utilisez PostgreSQL "
            "(ESAT_DB=postgresql://…, voir docs/scale-out.md)."
        ) from None


class _Pool:
    """Connections to one PostgreSQL database, each lent to one call at a time.

    A connection comes back to the pool only when it is idle (no transaction left open);
    a broken or busy one is closed. At most ``size`` calls hold a connection at once.
    """

    def __init__(self, url: str, size: int) -> None:
        import psycopg

        self._psycopg = psycopg
        self._url = url
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._local = threading.local()
        self._closed = False

    def _connect(self) -> Any:
        return self._psycopg.connect(self._url, autocommit=True, options="-c TimeZone=UTC")

    @contextmanager
    def connection(self) -> Iterator[Any]:
        if self._closed:
            raise RuntimeError("store closed")
        # A thread that already holds one (a read inside its own transaction) takes no new slot,
        # so threads waiting for a second connection never wait for each other.
        held = getattr(self._local, "held", 0)
        if not held:
            self._slots.acquire()
        self._local.held = held + 1
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                conn = self._connect()
            try:
                yield conn
            finally:
                self._give_back(conn)
        finally:
            self._local.held = held
            if not held:
                self._slots.release()

    def _give_back(self, conn: Any) -> None:
        idle = self._psycopg.pq.TransactionStatus.IDLE
        if not self._closed and not conn.closed and conn.info.transaction_status == idle:
            with self._lock:
                self._idle.append(conn)
            return
        conn.close()

    def __del__(self) -> None:  # a Store dropped without close(): its connections go with it
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def migrate(store: Store) -> list[int]:
    """Apply the numbered ``migrations/NNN_*.sql`` files not applied yet; return their numbers.

    One transaction per file. On PostgreSQL each one first takes an advisory lock, so replicas
    starting at the same time apply each file once. See :func:`_statements` for the rare
    statement that has to differ between the two stores.
    """
    pg = store.dialect == POSTGRESQL

    def lock(tx: Tx) -> None:
        if pg:
            tx.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])

    with store.transaction() as tx:
        lock(tx)
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
            lock(tx)
            if tx.scalar("SELECT count(*) FROM schema_migration WHERE version = ?", [version]):
                continue  # another replica applied it while this one waited for the lock
            for statement in _statements(path.read_text(encoding="utf-8"), store.dialect):
                tx.execute(statement)
            tx.execute("INSERT INTO schema_migration VALUES (?, current_timestamp)", [version])
        applied.append(version)
    return applied


_ONLY = re.compile(r"^[ \t]*--[ \t]*only[ \t]+(duckdb|postgresql)[ \t]*$", re.IGNORECASE | re.MULTILINE)


def _statements(script: str, dialect: str = DUCKDB) -> list[str]:
    """The statements of a migration: comments removed, split on ``;`` (none inside a literal).

    Dialect switch, for the rare statement that cannot be written for both stores: a line
    ``-- only duckdb`` or ``-- only postgresql`` inside a statement keeps it for that store only.
    """
    script = _ONLY.sub(lambda m: f"\x00{m.group(1).lower()}\x00", script)
    script = re.sub(r"--[^\n]*", "", script)
    statements = []
    for raw in script.split(";"):
        marks = set(re.findall(r"\x00(\w+)\x00", raw))
        statement = re.sub(r"\x00\w+\x00", "", raw).strip()
        if statement and (not marks or dialect in marks):
            statements.append(statement)
    return statements
