"""The store API on the store under test (DuckDB, or PostgreSQL with ESAT_TEST_PG): types,
transactions, conflicts, bulk insert, migrations; and the SQL translation for psycopg."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from data import store as store_module
from data.store import Conflict, Store, _statements, migrate, pg_sql
from tests import stores

# -- one SQL text for both stores ----------------------------------------------------------


def test_placeholders_become_psycopg_style_outside_literals():
    assert pg_sql("SELECT a FROM t WHERE b = ? AND c = ?") == "SELECT a FROM t WHERE b = %s AND c = %s"
    assert pg_sql("SELECT '?' AS q, x FROM t WHERE y = ?") == "SELECT '?' AS q, x FROM t WHERE y = %s"
    assert pg_sql("SELECT 'it''s ?' WHERE z LIKE ?") == "SELECT 'it''s ?' WHERE z LIKE %s"
    assert pg_sql("SELECT 100 % 7, '50 %' WHERE a = ?") == "SELECT 100 %% 7, '50 %%' WHERE a = %s"


def test_migration_statements_and_the_dialect_switch():
    script = """
    -- a comment; with a semicolon and a 'quote'
    CREATE TABLE a (x INTEGER);  -- trailing comment
    -- only postgresql
    CREATE INDEX a_x ON a USING brin (x);
    CREATE VIEW v AS SELECT x FROM a
    -- only duckdb
    ;
    INSERT INTO a VALUES (1)
    """
    assert _statements(script, "postgresql") == [
        "CREATE TABLE a (x INTEGER)",
        "CREATE INDEX a_x ON a USING brin (x)",
        "INSERT INTO a VALUES (1)",
    ]
    assert _statements(script, "duckdb") == [
        "CREATE TABLE a (x INTEGER)",
        "CREATE VIEW v AS SELECT x FROM a",
        "INSERT INTO a VALUES (1)",
    ]


def test_every_migration_is_split_the_same_way_for_both_stores():
    for path in sorted(store_module.MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
        text = path.read_text(encoding="utf-8")
        assert _statements(text, "duckdb") == _statements(text, "postgresql") or "-- only" in text, path.name


# -- the store under test ----------------------------------------------------------------------


@pytest.fixture
def empty(empty_db):
    s = Store(empty_db)
    s.execute(
        "CREATE TABLE probe (id INTEGER PRIMARY KEY, amount DECIMAL(12, 2), stamp TIMESTAMP, day DATE, "
        "label VARCHAR, flag BOOLEAN, n INTEGER)"
    )
    yield s
    s.close()


def test_the_url_chooses_the_store(empty):
    assert empty.dialect == stores.KIND


def test_values_round_trip_with_their_python_types(empty):
    at = datetime(2026, 1, 15, 23, 0, 0, 123456)  # naive UTC
    empty.execute(
        "INSERT INTO probe VALUES (?, ?, ?, ?, ?, ?, ?)",
        [1, Decimal("1000.10"), at, date(2026, 2, 28), "Œuvre d'été ?%", True, 7],
    )
    row = empty.one("SELECT * FROM probe WHERE id = ?", [1])
    assert row == {
        "id": 1,
        "amount": Decimal("1000.10"),
        "stamp": at,
        "day": date(2026, 2, 28),
        "label": "Œuvre d'été ?%",
        "flag": True,
        "n": 7,
    }
    assert type(row["amount"]) is Decimal and str(row["amount"]) == "1000.10"
    assert row["stamp"].tzinfo is None
    assert empty.scalar("SELECT id FROM probe WHERE label LIKE ? AND n = ?", ["%été ?%", 7]) == 1
    assert empty.scalar("SELECT count(*) FROM probe WHERE label LIKE '%été%'") == 1  # literal %, no params


def test_server_clock_is_utc(empty):
    empty.execute("INSERT INTO probe (id, stamp) VALUES (1, current_timestamp)")
    stored = empty.scalar("SELECT stamp FROM probe")
    assert stored.tzinfo is None
    assert abs((stored - datetime.now(UTC).replace(tzinfo=None)).total_seconds()) < 60


def test_frame_dtypes(empty):
    empty.execute(
        "INSERT INTO probe VALUES (1, 10.50, TIMESTAMP '2026-12-01 08:00:00', DATE '2026-12-01', 'a', TRUE, 3)"
    )
    frame = empty.frame(
        "SELECT id, amount, stamp, day, label, flag, n, count(*) AS c, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY n) / 60.0 AS h, "
        "avg(CAST(n AS DOUBLE PRECISION)) AS mean, date_trunc('month', stamp) AS month "
        "FROM probe GROUP BY id, amount, stamp, day, label, flag, n"
    )
    assert frame["id"].dtype == "int64" and frame["c"].dtype == "int64" and frame["n"].dtype == "int64"
    assert frame["h"].dtype == "float64" and frame["mean"].dtype == "float64"
    assert pd.api.types.is_datetime64_any_dtype(frame["stamp"]) and pd.api.types.is_datetime64_any_dtype(
        frame["month"]
    )
    assert frame["flag"].dtype == bool
    assert frame["amount"][0] == Decimal("10.50")
    assert frame["month"][0] == pd.Timestamp("2026-12-01")
    empty_frame = empty.frame("SELECT id, amount FROM probe WHERE id < 0")
    assert list(empty_frame.columns) == ["id", "amount"] and len(empty_frame) == 0


def test_a_failed_transaction_leaves_nothing(empty):
    with pytest.raises(RuntimeError), empty.transaction() as tx:
        tx.execute("INSERT INTO probe (id) VALUES (1)")
        raise RuntimeError("boom")
    assert empty.scalar("SELECT count(*) FROM probe") == 0


def test_a_unique_key_taken_is_a_conflict(empty):
    empty.execute("INSERT INTO probe (id) VALUES (1)")
    with pytest.raises(Conflict):
        empty.execute("INSERT INTO probe (id) VALUES (1)")
    assert empty.scalar("SELECT count(*) FROM probe") == 1  # the store still works


def test_concurrent_increments_of_one_row_lose_nothing(empty):
    empty.execute("INSERT INTO probe (id, n) VALUES (1, 0)")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(10):
                empty.write(lambda tx: tx.execute("UPDATE probe SET n = n + 1 WHERE id = 1"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert empty.scalar("SELECT n FROM probe WHERE id = 1") == 80


def test_bulk_insert_and_executemany(empty):
    rows = [(i, str(Decimal(i) / 4), datetime(2026, 1, 1, i % 24), date(2026, 1, 1), f"l{i}", i % 2 == 0, None)
            for i in range(1, 1001)]  # fmt: skip
    with empty.transaction() as tx:
        tx.insert_rows("probe", ("id", "amount", "stamp", "day", "label", "flag", "n"), rows)
        tx.executemany("UPDATE probe SET n = ? WHERE id = ?", [(5, 1), (6, 2)])
    assert empty.scalar("SELECT count(*) FROM probe") == 1000
    assert empty.scalar("SELECT sum(amount) FROM probe") == sum(Decimal(i) / 4 for i in range(1, 1001))
    assert empty.one("SELECT amount, n FROM probe WHERE id = 2") == {"amount": Decimal("0.50"), "n": 6}


def test_migrations_apply_once_even_when_two_processes_start_together(empty_db):
    stores_opened: list[Store] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            stores_opened.append(Store(empty_db))
        except BaseException as exc:
            errors.append(exc)

    if stores.PG:  # two "replicas" at once; DuckDB has one process per file anyway
        threads = [threading.Thread(target=open_store) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        open_store()
    assert errors == []
    s = stores_opened[0]
    versions = [r["version"] for r in s.all("SELECT version FROM schema_migration ORDER BY version")]
    files = sorted(int(p.name[:3]) for p in store_module.MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql"))
    assert versions == files
    assert migrate(s) == []
    for opened in stores_opened:
        opened.close()
