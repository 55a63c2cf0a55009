"""The daily hand-over of 10,000 declarations: target at most 5 s, on DuckDB and on PostgreSQL.

    .venv/bin/python scripts/bench_handover.py                                    # DuckDB (a temporary file)
    .venv/bin/python scripts/pg_server.py -- .venv/bin/python scripts/bench_handover.py  # PostgreSQL

Builds a scratch store (the migrations, one Caf with ``--declarations`` certificats d'emploi filed
on the day by distinct workers, plus a neighbour Caf's and the previous day's declarations already
handed over, which the export must leave alone), written in bulk with ``Tx.insert_rows``. Then
times ``services.handover.export_day_for_caf``: the day's first export (the batch is created in one
transaction, then both files are built) and a re-export (the files rebuilt from the batch), and
checks the line count and that both exports gave the same bytes.

The naive baseline beside it: the same lines read one declaration at a time through
``services.declarations.get`` (two queries each) and the worker and ESAT read per declaration,
timed on ``--naive-sample`` declarations and extrapolated to all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (scripts/pg_server.py -- … scripts/bench_handover.py)
    sys.path.insert(0, str(ROOT))

from data.demo import DECLARATION_COLUMNS  # noqa: E402
from data.store import Store, Tx  # noqa: E402
from forms import load_all  # noqa: E402
from rules import engine  # noqa: E402
from services import accounts, declarations, handover  # noqa: E402
from services.config import load_settings  # noqa: E402
from services.declarations import derived_json  # noqa: E402
from services.receipts import receipt_number, verification_code  # noqa: E402

DAY = date(2026, 12, 10)
CAF, NEIGHBOUR = "441", "491"
TARGET_SECONDS = 5.0
SECRET = "bench-secret"  # noqa: S105 (the HMAC key of a scratch store)


def fresh_store(kind: str, tmp: Path) -> str:
    if kind == "duckdb":
        return str(tmp / "bench-handover.duckdb")
    import psycopg

    admin = os.environ["ESAT_TEST_PG"]  # set by scripts/pg_server.py
    name = f"bench_handover_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return f"{admin.rpartition('/')[0]}/{name}"


def fill(store: Store, count: int, others: int) -> None:
    """``count`` certificats of Caf 441 received on DAY; ``others`` of 491, and ``others`` of 441
    received the day before and already in a batch (they must not be taken again)."""
    known = json.dumps(
        {
            "double_activity": False,
            "double_activity_since": None,
            "rate_esat": "100.00",
            "rate_mo": None,
            "return_date": None,
            "status": "ACTIVE",
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    values = {"remuneration_garantie": Decimal("1100.50"), "aide_au_poste": Decimal("946.55")}
    values["part_esat"] = Decimal("153.95")
    form = load_all()["certificat_emploi"]
    derived = derived_json(
        form, engine.derived(form, values, date(2026, 11, 30), {"rate_esat": Decimal(100)})
    )
    morning = datetime(2026, 12, 10, 7, 0)  # naive UTC: 08:00 in Paris
    workers, decls, rows = [], [], []
    plan = (
        [(CAF, morning, None)] * count
        + [(NEIGHBOUR, morning, None)] * others
        + [(CAF, morning - timedelta(days=1), 1)] * others
    )
    for i, (caf, start, batch) in enumerate(plan, start=1):
        received = start + timedelta(seconds=i)
        number = receipt_number(i, received)
        workers.append(
            (
                i,
                caf,
                f"99{i:05d}",
                "RESPONSABLE",
                f"NOM{i}",
                f"Prénom{i}",
                date(1980, 1, 1),
                1,
                Decimal("100.00"),
            )
        )
        decls.append(
            (
                *(i, number, "certificat_emploi", 1, i, 1, caf, 1, f"cle-{i}", f"certificat_emploi:{i}:2026"),
                *(2026, received, verification_code(SECRET, number, i, values), None),
                *(known, derived, batch),
            )
        )
        rows.extend((i, field, amount, None, None) for field, amount in values.items())

    def work(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO caf (code, name) VALUES (?, ?), (?, ?)", [CAF, "Caf 441", NEIGHBOUR, "Caf 491"]
        )
        tx.execute(
            "INSERT INTO esat (id, legal_name, siret, caf_code) VALUES (1, 'ESAT du banc', '33233211300304', ?)",
            [CAF],
        )
        tx.execute(
            "INSERT INTO account (id, login, email, password_hash, role, esat_id, caf_code, display_name, "
            "active, created_at) VALUES (1, 'esat@banc.example.org', 'esat@banc.example.org', 'x', 'esat', 1, NULL, "
            "'ESAT', TRUE, ?), (2, 'agent@banc.example.org', 'agent@banc.example.org', 'x', 'agent', NULL, ?, 'Agent', "
            "TRUE, ?)",
            [morning, CAF, morning],
        )
        tx.insert_rows(
            "worker",
            (
                "id",
                "caf_code",
                "allocataire",
                "person_role",
                "last_name",
                "first_name",
                "birth_date",
                "esat_id",
                "rate_esat",
            ),
            workers,
        )
        tx.insert_rows(
            "declaration",
            # The demo's columns up to the date of effect, then what filing stores, and the batch.
            (
                *DECLARATION_COLUMNS[: DECLARATION_COLUMNS.index("processed_at")],
                "known_before",
                "derived",
                "export_batch_id",
            ),
            decls,
        )
        tx.insert_rows("declaration_value", ("declaration_id", "field_id", "number", "day", "text"), rows)
        prior = tx.scalar("SELECT nextval('export_batch_seq')")  # the previous day's batch
        assert prior == 1, prior  # a fresh store: the rows above name batch 1
        tx.execute(
            "INSERT INTO export_batch (id, caf_code, day, cutoff, created_at, created_by, schema_version, "
            "declarations) VALUES (?, ?, ?, ?, ?, NULL, 1, ?)",
            [prior, CAF, DAY - timedelta(days=1), morning - timedelta(hours=8), morning, others],
        )

    store.write(work)


def naive(store: Store, count: int) -> float:
    """Seconds for ``count`` declarations read one at a time (as a page would)."""
    agent = accounts.get(store, 2)
    assert agent is not None
    ids = [
        r["id"]
        for r in store.all("SELECT id FROM declaration WHERE caf_code = ? ORDER BY id LIMIT ?", [CAF, count])
    ]
    start = time.perf_counter()
    for declaration_id in ids:
        decl = declarations.get(store, agent, declaration_id)
        store.one("SELECT * FROM worker WHERE id = ?", [decl.worker_id])
        store.one("SELECT siret FROM esat WHERE id = ?", [decl.esat_id])
        json.dumps({k: str(v) for k, v in decl.values.items()}, sort_keys=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("duckdb", "postgresql"), default=None)
    parser.add_argument("--declarations", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=2_000, help="declarations the export must leave alone")
    parser.add_argument("--naive-sample", type=int, default=500)
    args = parser.parse_args()
    kind = args.store or ("postgresql" if os.environ.get("ESAT_TEST_PG") else "duckdb")
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_store(kind, Path(tmp))
        # The day after DAY: DAY's batch then ends at its midnight, whatever the time of the run.
        tomorrow = (DAY + timedelta(days=1)).isoformat()
        os.environ.update({"ESAT_DB": url, "ESAT_TODAY": tomorrow, "ESAT_SECRET": SECRET})
        settings = load_settings()
        store = Store(url)
        start = time.perf_counter()
        fill(store, args.declarations, args.others)
        filled = time.perf_counter() - start

        start = time.perf_counter()
        first = handover.export_day_for_caf(store, settings, CAF, DAY, None)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = handover.export_day_for_caf(store, settings, CAF, DAY, None)
        again_s = time.perf_counter() - start
        lines = first.jsonl.count(b"\n")
        assert lines == first.declarations == args.declarations, (lines, first.declarations)
        assert first.csv == again.csv and first.jsonl == again.jsonl, "re-export differs"
        sample = min(args.naive_sample, args.declarations)
        naive_s = naive(store, sample) * args.declarations / sample if sample else 0.0
        store.close()
    ok = first_s <= TARGET_SECONDS and again_s <= TARGET_SECONDS
    print(
        json.dumps(
            {
                "store": kind,
                "declarations": args.declarations,
                "left_alone": 2 * args.others,
                "fill_s": round(filled, 2),
                "first_export_s": round(first_s, 3),
                "re_export_s": round(again_s, 3),
                "csv_bytes": len(first.csv),
                "jsonl_bytes": len(first.jsonl),
                "naive_reads_s_extrapolated": round(naive_s, 2),
                "target_s": TARGET_SECONDS,
                "ok": ok,
            },
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
