"""Reliability DATA-04, short version: SIGKILL the app process during concurrent submissions.

The full run (50 kills x 100 concurrent submissions) is ``python -m scripts.kill_submissions``;
its result is in docs/reliability.md. Here: 3 kills x 20 submissions through the real script,
and the checker itself shown to catch a lost, a duplicated and a partial declaration.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

from data.store import Store
from scripts.kill_submissions import (
    KEY_PREFIX,
    ROOT,
    TODAY,
    check_store,
    child_env,
    demo_account,
    failed,
    parse_answers,
    plan_run,
    totals,
)
from services import declarations
from services.config import load_settings


def test_three_kills_during_twenty_concurrent_submissions_lose_and_duplicate_nothing(tmp_path: Path):
    args = ["--runs", "3", "--concurrency", "20", "--seed", "20261212", "--db", str(tmp_path / "esat.duckdb")]
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.kill_submissions", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total_line = next(line for line in proc.stdout.splitlines() if line.startswith("TOTAL: "))
    total = {k: int(v) for k, v in re.findall(r"([a-z][a-z -]*?) (\d+)[,;]", total_line[len("TOTAL: ") :])}
    assert total["runs"] == 3 and total["attempted"] == 60
    for what in ("lost", "duplicates", "partial", "reopen failures", "chain broken", "errors"):
        assert total[what] == 0, (what, proc.stdout)
    # Seed 20261212 kills run 1 after 9 answers, run 2 at 0.59 s, run 3 after 18 answers.
    assert "killed after 9 answers" in proc.stdout and "s after GO" in proc.stdout, proc.stdout
    assert total["killed mid-flight"] >= 1, proc.stdout  # the kill did land while submissions ran
    assert total["acknowledged"] > 0 and total["retried"] > 0
    assert len(re.findall(r"^run +\d+ \([^)]*checkpoint[^)]*\): ", proc.stdout, flags=re.MULTILINE)) == 3
    # The store the runs left behind reopens and holds every declaration the runs filed, once.
    store = Store(str(tmp_path / "esat.duckdb"))
    try:
        filed = store.scalar(
            "SELECT count(*) FROM declaration WHERE starts_with(idempotency_key, ?)", [KEY_PREFIX]
        )
        assert filed >= total["retried"]
    finally:
        store.close()


def test_the_checker_finds_a_lost_a_duplicated_and_a_partial_declaration(tmp_path: Path, seeded_file: Path):
    db = tmp_path / "esat.duckdb"
    shutil.copy(seeded_file, db)
    settings = load_settings(child_env(db, tmp_path / "outbox", TODAY))
    store = Store(str(db))
    try:
        account = demo_account(store)
        items = [
            i for i in plan_run(store, settings, account, "test", 20, random.Random(3)) if i.role == "primary"
        ]
        items = [i for i in items if i.form_id == "certificat_emploi"][:4]
        forms = declarations.forms()
        acked = {
            i.key: declarations.submit(
                store, settings, account, i.worker_id, forms[i.form_id], dict(i.payload), i.key
            ).receipt_number
            for i in items
        }
        expected = {i.key: i.values for i in items}
        clean = check_store(store, acked, {}, expected)
        assert clean.ok, clean

        # An acknowledged declaration disappears: 1 lost.
        lost_key, dup_key, partial_key, _ = acked
        store.execute("DELETE FROM declaration WHERE idempotency_key = ?", [lost_key])
        found = check_store(store, acked, {}, expected)
        assert len(found.lost) == 1 and lost_key in next(iter(found.lost))
        assert not found.duplicates
        # A refusal that points to a receipt which is not stored is a loss as well.
        found = check_store(store, {}, {"kill-refusee": acked[lost_key]}, expected)
        assert len(found.lost) == 1

        # A second certificat for the same worker and campaign (under another key): 1 duplicate.
        store.execute(
            "INSERT INTO declaration SELECT * REPLACE (id + 100000 AS id, receipt_number || '-bis' AS "
            "receipt_number, idempotency_key || '-bis' AS idempotency_key, NULL AS natural_key) "
            "FROM declaration WHERE idempotency_key = ?",
            [dup_key],
        )
        found = check_store(store, acked, {}, expected)
        assert len(found.lost) == 1
        assert len(found.duplicates) == 1 and "certificat" in next(iter(found.duplicates))

        # A declaration without its accusé de réception: partial.
        before = len(found.partial)
        store.execute(
            "DELETE FROM outbox WHERE declaration_id = (SELECT id FROM declaration WHERE idempotency_key = ?)",
            [partial_key],
        )
        found = check_store(store, acked, {}, expected)
        assert len(found.partial) == before + 1
        assert any(acked[partial_key] in p and "0 outbox" in p for p in found.partial)

        # An audit row edited after the fact: the chain is broken.
        assert not found.chain
        store.execute("UPDATE audit_log SET account_id = 999 WHERE id = (SELECT min(id) FROM audit_log)")
        assert check_store(store, acked, {}, expected).chain
    finally:
        store.close()


def test_a_key_acknowledged_with_two_receipts_is_a_duplicate_and_any_finding_fails_the_run():
    lines = [
        "GO",
        "ACK kill-a ESAT-2026-1",
        "ACK kill-a ESAT-2026-2",
        "REFUSED kill-b ESAT-2026-1",
        "ERROR kill-c X",
    ]
    acks, acked, refused, errors, conflicts = parse_answers(lines)
    assert (acks, acked, refused, errors) == (
        2,
        {"kill-a": "ESAT-2026-2"},
        {"kill-b": "ESAT-2026-1"},
        ["kill-c X"],
    )
    assert len(conflicts) == 1
    assert not failed(totals([]) | {"runs": 0}, 0)
    for what in ("lost", "duplicates", "partial", "reopen failures", "chain broken", "errors"):
        assert failed({**totals([]), "runs": 1, what: 1}, 1)
    assert failed(totals([]), 1)  # a campaign that stopped early fails too
