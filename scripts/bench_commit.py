"""P6: submission time with 50 concurrent sessions, on DuckDB and on PostgreSQL.

    .venv/bin/python -m scripts.bench_commit                          # DuckDB (a temporary file)
    .venv/bin/python scripts/pg_server.py -- .venv/bin/python -m scripts.bench_commit --store postgresql

Seeds the demo, then ``--sessions`` threads (one per browser session) each file ``--each``
certificats d'emploi for distinct workers, pausing ``--think`` seconds on average between two
(a person checking the next worker's recap; ``--think 0`` is a burst where all sessions press
Valider at once) through the real ``services.declarations.submit``
(validation, one transaction with values, accusé de réception and the hash-chained audit row,
then the e-mail written as .eml). Reports p50/p95/max of each submission, throughput, and the
acknowledged declarations found again afterwards (lost must be 0).

Before the sessions start, ``--sequential`` submissions run one after another on one thread: their
CPU time (``time.process_time``: this process, all its threads, so DuckDB's own work included) and
the store statements they run (through ``data.store.Tx``, an ``executemany`` counting one per row;
BEGIN and COMMIT not counted) give the cost of one submission without any concurrency.

The naive baseline beside it: the same declarations written as two plain INSERTs (declaration,
values) in one transaction, without idempotency, natural key, audit chain or accusé de réception.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from data.demo import DEMO_ESAT_LOGIN, seed_demo
from data.store import Store, Tx
from services import accounts, declarations
from services.config import load_settings

TODAY = date(2026, 12, 10)
VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}


def fresh_store(kind: str, tmp: Path) -> str:
    if kind == "duckdb":
        return str(tmp / "bench-commit.duckdb")
    import psycopg

    admin = os.environ["ESAT_TEST_PG"]  # set by scripts/pg_server.py
    name = f"bench_commit_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return f"{admin.rpartition('/')[0]}/{name}"


def p(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


@contextlib.contextmanager
def counting() -> Iterator[list[int]]:
    """Count the statements sent through ``Tx`` while inside (``executemany``: one per row)."""
    count = [0]
    run_, many = Tx._run, Tx.executemany

    def counted_run(self: Tx, sql: str, params: Sequence[Any]) -> None:
        count[0] += 1
        run_(self, sql, params)

    def counted_many(self: Tx, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        count[0] += len(rows)
        many(self, sql, rows)

    Tx._run, Tx.executemany = counted_run, counted_many  # type: ignore[method-assign]
    try:
        yield count
    finally:
        Tx._run, Tx.executemany = run_, many  # type: ignore[method-assign]


def run(
    url: str, tmp: Path, sessions: int, each: int, think: float, naive: bool, sequential: int
) -> dict[str, float]:
    os.environ.update(
        {
            "ESAT_DB": url,
            "ESAT_TODAY": TODAY.isoformat(),
            "ESAT_OUTBOX": str(tmp / "outbox"),
            "ESAT_DEMO": "1",
        }
    )
    settings = load_settings()
    store = Store(url)
    seed_demo(store, today=TODAY, password="Bench-Mot-de-passe-1", secret=settings.secret)  # noqa: S106
    me = accounts.get(store, store.scalar("SELECT id FROM account WHERE login = ?", [DEMO_ESAT_LOGIN]))
    form = declarations.forms()["certificat_emploi"]
    free = [
        r["id"]
        for r in store.all(
            "SELECT id FROM worker w WHERE esat_id = 1 AND status = 'ACTIVE' AND NOT EXISTS "
            "(SELECT 1 FROM declaration d WHERE d.worker_id = w.id AND d.campaign = 2026) ORDER BY id"
        )
    ]
    wanted = sessions * each + sequential
    assert len(free) >= wanted, f"{len(free)} workers free for {wanted} submissions"

    def file_one(worker_id: int, key: str) -> None:
        if naive:
            with store.transaction() as tx:
                decl_id = tx.scalar("SELECT nextval('declaration_seq')")
                tx.execute(
                    "INSERT INTO declaration (id, receipt_number, form_id, form_version, worker_id, "
                    "esat_id, caf_code, author_id, idempotency_key, received_at, verification_code) "
                    "VALUES (?, ?, 'certificat_emploi', 1, ?, 1, '441', ?, ?, current_timestamp, 'x')",
                    [decl_id, f"NAIVE-{decl_id}", worker_id, me.id, key],
                )
                tx.executemany(
                    "INSERT INTO declaration_value (declaration_id, field_id, text) VALUES (?, ?, ?)",
                    [(decl_id, k, v) for k, v in VALID.items()],
                )
        else:
            declarations.submit(store, settings, me, worker_id, form, dict(VALID), key)

    alone = free[len(free) - sequential :] if sequential else []
    with counting() as statements:
        cpu = time.process_time()
        for worker_id in alone:
            file_one(worker_id, uuid.uuid4().hex)
        cpu = time.process_time() - cpu
    timings: list[float] = []
    acked: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(sessions)

    def session(n: int) -> None:
        mine = free[n * each : (n + 1) * each]
        pause = random.Random(n)
        start_gate.wait()
        for worker_id in mine:
            time.sleep(pause.uniform(0, 2 * think))
            key = uuid.uuid4().hex
            started = time.perf_counter()
            try:
                file_one(worker_id, key)
            except Exception as exc:  # counted and reported: a benchmark never hides a failure
                with lock:
                    errors.append(type(exc).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings.append(elapsed)
                acked.append(key)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    found = 0
    for i in range(0, len(acked), 500):
        chunk = acked[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        found += store.scalar(f"SELECT count(*) FROM declaration WHERE idempotency_key IN ({marks})", chunk)  # noqa: S608
    store.close()
    return {
        "submissions": len(timings),
        "errors": len(errors),
        "p50_ms": p(timings, 50),
        "p95_ms": p(timings, 95),
        "max_ms": max(timings),
        "per_s": len(timings) / wall,
        "lost": len(acked) - found,
        "cpu_ms": cpu * 1000 / len(alone) if alone else float("nan"),
        "statements": statements[0] / len(alone) if alone else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["duckdb", "postgresql"], default="duckdb")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--each", type=int, default=8)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between two submissions (s)")
    parser.add_argument("--sequential", type=int, default=100, help="submissions one at a time, for CPU")
    args = parser.parse_args()
    print(
        "| store | variant | sessions | submissions | errors | p50 ms | p95 ms | max ms | per s | lost "
        "| CPU ms / submission (sequential) | statements / submission |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for naive in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_store(args.store, Path(tmp))
            r = run(url, Path(tmp), args.sessions, args.each, args.think, naive, args.sequential)
        variant = "naive (2 INSERTs)" if naive else "Espace ESAT submit"
        print(
            f"| {args.store} | {variant} | {args.sessions} | {r['submissions']} | {r['errors']} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} | {r['per_s']:.0f} | {r['lost']} | "
            f"{r['cpu_ms']:.1f} | {r['statements']:.1f} |"
        )
    print(
        f"\nload average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}, nproc {os.cpu_count()}"
    )


if __name__ == "__main__":
    main()
