"""The ZIP of 620 justificatifs (issue 13): target at most 10 s, on DuckDB and on PostgreSQL.

    .venv/bin/python scripts/bench_zip.py                                      # DuckDB (a temporary file)
    .venv/bin/python scripts/pg_server.py -- .venv/bin/python scripts/bench_zip.py  # PostgreSQL

Seeds the demo in a scratch store (data/demo.py, 2026-12-10) and takes the demo ESAT's latest
``--count`` certificats d'emploi (as many as its workers: one campaign's batch). Then times
``services.justificatifs.zip_of`` as the manager's download runs it (bulk read, one PDF each, the
combined PDF, the ZIP, the audit row), ``--runs`` times (wall and CPU time), and each part
once on its own. Beside it, the naive path: ``justificatifs.receipt_pdf`` one declaration at a
time (eight reads, one render and one audit row each), timed on ``--naive-sample`` declarations
and extrapolated.
Prints JSON; exit 1 when the target is missed. Synthetic data only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (scripts/pg_server.py -- … scripts/bench_zip.py)
    sys.path.insert(0, str(ROOT))

from data.demo import DEMO_ESAT_ID, DEMO_ESAT_LOGIN, DEMO_WORKERS, seed_demo  # noqa: E402
from data.store import Store  # noqa: E402
from services import accounts, justificatifs, pdf  # noqa: E402
from services.config import load_settings  # noqa: E402

TODAY = date(2026, 12, 10)
TARGET_SECONDS = 10.0
SECRET = "bench-secret"  # noqa: S105 (the HMAC key of a scratch store)
PASSWORD = "bench-password"  # noqa: S105 (the demo accounts of a scratch store)


def fresh_store(kind: str, tmp: Path) -> str:
    if kind == "duckdb":
        return str(tmp / "bench-zip.duckdb")
    import psycopg

    admin = os.environ["ESAT_TEST_PG"]  # set by scripts/pg_server.py
    name = f"bench_zip_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return f"{admin.rpartition('/')[0]}/{name}"


def timed(work):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def cpu_timed(work):  # type: ignore[no-untyped-def]
    """(result, wall seconds, CPU seconds of this process): on a busy machine the CPU time
    says what the work costs, the wall time what the user waits."""
    cpu = time.process_time()
    result, wall = timed(work)
    return result, wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("duckdb", "postgresql"), default=None)
    parser.add_argument("--count", type=int, default=DEMO_WORKERS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=100)
    args = parser.parse_args()
    kind = args.store or ("postgresql" if os.environ.get("ESAT_TEST_PG") else "duckdb")
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_store(kind, Path(tmp))
        os.environ.update(
            {"ESAT_DB": url, "ESAT_TODAY": TODAY.isoformat(), "ESAT_SECRET": SECRET, "ESAT_OUTBOX": tmp}
        )
        settings = load_settings()
        store = Store(url)
        _, seed_s = timed(lambda: seed_demo(store, today=TODAY, password=PASSWORD, secret=SECRET))
        account_id = store.scalar("SELECT id FROM account WHERE login = ?", [DEMO_ESAT_LOGIN])
        manager = accounts.get(store, account_id)
        assert manager is not None
        ids = [
            r["id"]
            for r in store.all(
                "SELECT id FROM declaration WHERE esat_id = ? AND form_id = 'certificat_emploi' "
                "ORDER BY received_at DESC, id DESC LIMIT ?",
                [DEMO_ESAT_ID, args.count],
            )
        ]
        assert len(ids) == args.count, len(ids)
        pdf.render_receipt(
            justificatifs.receipt_data(store, settings, manager, ids[:1])[0]
        )  # loads the fonts

        runs, cpu = [], []
        archive = b""
        for _ in range(args.runs):
            archive, seconds, cpu_seconds = cpu_timed(
                lambda: justificatifs.zip_of(store, settings, manager, ids)
            )
            runs.append(seconds)
            cpu.append(cpu_seconds)
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            members = opened.infolist()
            combined = opened.read(justificatifs.COMBINED_NAME)
        assert len(members) == args.count + 1, len(members)

        receipts, read_s = timed(lambda: justificatifs.receipt_data(store, settings, manager, ids))
        _, singles_s = timed(lambda: [pdf.render_receipt(data) for data in receipts])
        _, combined_s = timed(lambda: pdf.render_receipts(receipts))

        sample = ids[: min(args.naive_sample, len(ids))]
        _, naive_s = timed(lambda: [justificatifs.receipt_pdf(store, settings, manager, i) for i in sample])
        store.close()

    ok = max(runs) <= TARGET_SECONDS
    print(
        json.dumps(
            {
                "store": kind,
                "justificatifs": args.count,
                "seed_s": round(seed_s, 2),
                "zip_s_runs": [round(s, 2) for s in runs],
                "zip_s_median": round(statistics.median(runs), 2),
                "zip_cpu_s_runs": [round(s, 2) for s in cpu],
                "zip_bytes": len(archive),
                "combined_pdf_bytes": len(combined),
                "parts_s": {
                    "receipt_data (bulk read)": round(read_s, 3),
                    f"{args.count} single PDFs": round(singles_s, 2),
                    "combined PDF": round(combined_s, 2),
                },
                "naive_receipt_pdf_one_by_one_s_extrapolated": round(naive_s * args.count / len(sample), 2),
                "target_s": TARGET_SECONDS,
                "ok": ok,
                "machine": f"{platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
                f"Python {platform.python_version()}, load average "
                + " / ".join(f"{x:.2f}" for x in os.getloadavg())
                + f", {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
