"""The worker file import (services/worker_import.py): time and peak memory on synthetic files.

    .venv/bin/python scripts/bench_import.py                                  # DuckDB (a temporary file)
    .venv/bin/python scripts/pg_server.py -- .venv/bin/python scripts/bench_import.py   # PostgreSQL

With ``ESAT_TEST_PG`` set (scripts/pg_server.py sets it) the store is a new PostgreSQL database of
that server, otherwise a DuckDB file; ``--store`` forces one. For each size (``--sizes``, default
3,000 and 100,000 rows) and format (CSV ``;`` in UTF-8, and XLSX), a fresh store gets the Caf 441
and 50 ESATs, then one child process runs, through the real ``dry_run_for_caf`` and
``apply_for_caf``:

1. ``first``: the dry run and the apply of the whole file into an empty Caf (all new);
2. ``again``: the same file again (all unchanged: nothing is written but the audit row);
3. ``next``: the next extraction: 10 % of the workers changed (rate, ESAT or name), 2 % gone
   (flagged absent) and 2 % new.

Each step prints its seconds; each child prints its peak memory (``ru_maxrss``, the whole child
process: the file bytes, parsing, the comparison and the writes). Targets (issue 11): 100,000
rows ≤ 60 s for the dry run and for the apply, ≤ 1 GB; 3,000 rows ≤ 3 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stdnum import luhn  # noqa: E402 - after the path of a script run as a file

from data.store import Store  # noqa: E402
from services import worker_import  # noqa: E402

CAF = "441"
ESATS = 50
HEADER = (
    "numero_allocataire;personne;nom;prenom;date_naissance;siret_esat;taux_activite_esat;"
    "double_activite;date_debut_double_activite;taux_milieu_ordinaire;statut"
)
LAST = ["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT"]
FIRST = ["Camille", "Dominique", "Alix", "Claude", "Sacha", "Morgane", "Yann", "Maëlle", "Loïc", "Gaëlle"]


def siret(n: int) -> str:
    """A valid SIRET (its SIREN and the whole number pass Luhn, as stdnum checks) in a range of fakes."""
    siren = f"99900{n:03d}"
    siren += luhn.calc_check_digit(siren)
    establishment = siren + "0001"
    return establishment + luhn.calc_check_digit(establishment)


SIRETS = [siret(i) for i in range(ESATS)]


def workers(n: int, seed: int = 7) -> list[list[str]]:
    """``n`` synthetic workers: numéros 99xxxxx (the fake range), a few couples, 2 % double activity."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        number = f"99{i // 2 if i % 50 == 1 else i:05d}"  # every 50th line is the conjoint of a file
        role = "CONJOINT" if i % 50 == 1 else "RESPONSABLE"
        born = date(1962, 1, 1) + timedelta(days=rng.randint(0, 15_000))
        double = rng.random() < 0.02
        rate = rng.choice(["100", "80", "62,5", "50"]) if not double else "50"
        rows.append(
            [
                number,
                role,
                rng.choice(LAST),
                rng.choice(FIRST),
                born.strftime("%d/%m/%Y"),
                SIRETS[rng.randrange(ESATS)],
                rate,
                "oui" if double else "non",
                "01/09/2025" if double else "",
                "30" if double else "",
                "ACTIF",
            ]
        )
    return rows


def next_extraction(rows: list[list[str]], seed: int = 11) -> list[list[str]]:
    """10 % changed, 2 % gone, 2 % new."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        pick = rng.random()
        if pick < 0.02:
            continue
        row = list(row)
        if pick < 0.12:
            change = rng.randrange(3)
            if change == 0 and row[7] == "non":
                row[6] = "90" if row[6] != "90" else "70"
            elif change == 1:
                row[5] = SIRETS[(SIRETS.index(row[5]) + 1) % ESATS]
            else:
                row[2] = row[2] + "-LEGRAND"
        out.append(row)
    extra = workers(len(rows) // 50, seed=13)
    numbers = (k for k in range(len(rows)) if k % 25)  # conjoints so far: the numbers 25 × j
    for row, k in zip(extra, numbers, strict=False):
        row[0], row[1] = f"99{k:05d}", "CONJOINT"  # the conjoint of a file joins the ESAT
    return out + extra


def to_csv(rows: list[list[str]]) -> bytes:
    return ("\n".join([HEADER, *(";".join(r) for r in rows)]) + "\n").encode("utf-8")


def to_xlsx(rows: list[list[str]]) -> bytes:
    """Typed cells, as a spreadsheet holds them: numbers, dates, text."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Travailleurs")
    sheet.append(HEADER.split(";"))
    for r in rows:
        day, month, year = (int(x) for x in r[4].split("/"))
        since = date(2025, 9, 1) if r[8] else None
        sheet.append(
            [
                r[0],
                r[1],
                r[2],
                r[3],
                date(year, month, day),
                r[5],
                float(r[6].replace(",", ".")),
                r[7],
                since,
                float(r[9]) if r[9] else None,
                r[10],
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def new_store(kind: str, tmp: Path, tag: str) -> str:
    if kind == "duckdb":
        return str(tmp / f"bench-import-{tag}.duckdb")
    import psycopg

    admin = os.environ["ESAT_TEST_PG"]
    name = f"bench_import_{os.getpid()}_{tag}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return f"{admin.rpartition('/')[0]}/{name}"


def drop_store(kind: str, url: str) -> None:
    if kind == "duckdb":
        Path(url).unlink(missing_ok=True)
        Path(url + ".wal").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(os.environ["ESAT_TEST_PG"], autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {url.rpartition('/')[2]} WITH (FORCE)")


def prepare(url: str) -> None:
    store = Store(url)
    try:
        store.execute("INSERT INTO caf (code, name) VALUES (?, ?)", [CAF, "Caf de Loire-Atlantique"])
        with store.transaction() as tx:
            tx.executemany(
                "INSERT INTO esat (id, legal_name, siret, caf_code) VALUES (?, ?, ?, ?)",
                [(i + 1, f"ESAT de banc d'essai {i + 1}", s, CAF) for i, s in enumerate(SIRETS)],
            )
    finally:
        store.close()


def child(url: str, first_path: str, next_path: str, name: str) -> None:
    """Run in its own process: the steps on one store; prints one JSON line per step."""
    store = Store(url)
    try:
        for step, path in (("first", first_path), ("again", first_path), ("next", next_path)):
            data = Path(path).read_bytes()
            t0 = time.perf_counter()
            checked = worker_import.dry_run_for_caf(store, CAF, data, name)
            t1 = time.perf_counter()
            applied = worker_import.apply_for_caf(store, CAF, data, name, None)
            t2 = time.perf_counter()
            assert checked.ok and applied.applied, checked.problems[:5]
            counts = {k: getattr(applied, k) for k in ("rows", "new", "changed", "unchanged", "absent")}
            print(json.dumps({"step": step, "dry_run_s": t1 - t0, "apply_s": t2 - t1, **counts}), flush=True)
        total = store.all("SELECT count(*) AS n FROM worker")[0]["n"]
        flagged = store.all("SELECT count(*) AS n FROM worker WHERE absent_since IS NOT NULL")[0]["n"]
    finally:
        store.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    print(
        json.dumps({"step": "end", "workers": total, "absent_flagged": flagged, "peak_mb": peak_mb}),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["duckdb", "postgresql"], default=None)
    parser.add_argument("--sizes", default="3000,100000", help="rows of each file, comma-separated")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--child", nargs=4, metavar=("URL", "FIRST", "NEXT", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    kind = args.store or ("postgresql" if os.environ.get("ESAT_TEST_PG") else "duckdb")
    if kind == "postgresql" and not os.environ.get("ESAT_TEST_PG"):
        sys.exit("PostgreSQL : lancez ce script par scripts/pg_server.py (ESAT_TEST_PG).")
    print(f"store: {kind}; python {sys.version.split()[0]}; {os.cpu_count()} CPU")
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        tmp = Path(folder)
        for size in (int(s) for s in args.sizes.split(",")):
            rows = workers(size)
            later = next_extraction(rows)
            for fmt in args.formats.split(","):
                encode = to_csv if fmt == "csv" else to_xlsx
                t0 = time.perf_counter()
                first, second = tmp / f"first.{fmt}", tmp / f"next.{fmt}"
                first.write_bytes(encode(rows))
                second.write_bytes(encode(later))
                made = time.perf_counter() - t0
                url = new_store(kind, tmp, f"{fmt}{size}")
                try:
                    prepare(url)
                    run = subprocess.run(  # noqa: S603 - this script, our arguments
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            url,
                            str(first),
                            str(second),
                            f"travailleurs.{fmt}",
                        ],
                        capture_output=True,
                        text=True,
                        check=False,
                        cwd=ROOT,
                    )
                finally:
                    drop_store(kind, url)
                if run.returncode != 0:
                    print(run.stdout, run.stderr, file=sys.stderr)
                    failed = True
                    continue
                mb = first.stat().st_size / 1e6
                print(f"\n{size:,} rows, {fmt} ({mb:.1f} MB; files written in {made:.1f} s)")
                limit = 60.0 if size >= 100_000 else 3.0 if size <= 3_000 else None
                for line in run.stdout.splitlines():
                    item = json.loads(line)
                    if item["step"] == "end":
                        print(
                            f"  peak memory {item['peak_mb']:.0f} MB; {item['workers']:,} workers stored, "
                            f"{item['absent_flagged']:,} flagged absent"
                        )
                        failed |= item["peak_mb"] > 1024
                        continue
                    print(
                        f"  {item['step']:<6} dry run {item['dry_run_s']:6.2f} s   apply {item['apply_s']:6.2f} s"
                        f"   new {item['new']:,} changed {item['changed']:,} unchanged {item['unchanged']:,}"
                        f" absent {item['absent']:,}"
                    )
                    if limit is not None:
                        failed |= max(item["dry_run_s"], item["apply_s"]) > limit
    print("\nall within targets" if not failed else "\nSOME TARGET MISSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
