"""AUD-01: K audited actions → exactly K hash-chained rows; every tampering is found.
DATA-06: concurrent conflicting writes are retried, never raised."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading

import pytest

from data.demo import AGENT_LOGIN, DEMO_ESAT_LOGIN
from services import accounts, audit, backoffice, declarations, justificatifs
from tests.conftest import PASSWORD, ROOT
from ui.export import _audited

VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}


def rows(store) -> list[dict]:
    return store.all("SELECT * FROM audit_log ORDER BY id")


def perform_every_audited_action(store, env) -> list[str]:
    """One of each action the issue lists; returns the actions expected, in order."""
    esat = accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "192.0.2.1")
    accounts.authenticate(store, env, DEMO_ESAT_LOGIN, "faux", "192.0.2.1")
    accounts.accept_cgu(store, env, esat, accounts.pending_cgu(store, esat))
    decl = declarations.submit(
        store, env, esat, 1, declarations.forms()["certificat_emploi"], dict(VALID), "aud-01"
    )
    justificatifs.receipt_pdf(store, env, esat, decl.id)
    agent = accounts.authenticate(store, env, AGENT_LOGIN, PASSWORD, "192.0.2.2")
    _audited(store, agent, "corbeille.csv", lambda: b"x")()
    backoffice.mark_processed(store, env, agent, decl.id)
    accounts.logout(store, esat)
    return [
        "login",
        "login_failed",
        "cgu_accepted",
        "cgu_accepted",
        "declaration_submitted",
        "pdf_downloaded",
        "login",
        "export",
        "declaration_processed",
        "logout",
    ]


def test_each_action_writes_exactly_one_chained_row(env, store):
    assert rows(store) == []
    expected = perform_every_audited_action(store, env)
    trail = rows(store)
    assert [r["action"] for r in trail] == expected
    assert [r["id"] for r in trail] == list(range(1, len(expected) + 1))
    assert trail[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(trail))
    assert audit.verify(store).ok


TAMPERING = {
    "action": "UPDATE audit_log SET action = action || 'x' WHERE id = ?",
    "object_ref": "UPDATE audit_log SET object_ref = coalesce(object_ref, '') || 'x' WHERE id = ?",
    "account": "UPDATE audit_log SET account_id = coalesce(account_id, 0) + 1 WHERE id = ?",
    "time": "UPDATE audit_log SET occurred_at = occurred_at + INTERVAL '1 second' WHERE id = ?",
    "hash": "UPDATE audit_log SET hash = 'ab' || hash WHERE id = ?",
    "delete": "DELETE FROM audit_log WHERE id = ?",
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_every_injected_change_is_detected(env, store, kind):
    """Each kind of change, on every row in turn (the first, the middle ones, the last)."""
    perform_every_audited_action(store, env)
    ids = [r["id"] for r in rows(store)]
    snapshot = rows(store)
    detected = 0
    for row_id in ids:
        store.execute(TAMPERING[kind], [row_id])
        verdict = audit.verify(store)
        detected += not verdict.ok
        # Put the trail back as it was for the next row.
        store.execute("DELETE FROM audit_log")
        for r in snapshot:
            store.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)", list(r.values()))
        assert audit.verify(store).ok
    assert detected == len(ids)


def test_reordering_rows_is_detected(env, store):
    perform_every_audited_action(store, env)
    ids = [r["id"] for r in rows(store)]
    detected = 0
    for a, b in itertools.pairwise(ids):
        swap = "UPDATE audit_log SET id = CASE id WHEN ? THEN ? ELSE ? END WHERE id IN (?, ?)"
        store.execute("UPDATE audit_log SET id = -id WHERE id IN (?, ?)", [a, b])
        store.execute(swap, [-a, b, a, -a, -b])
        detected += not audit.verify(store).ok
        store.execute("UPDATE audit_log SET id = -id WHERE id IN (?, ?)", [a, b])
        store.execute(swap, [-a, b, a, -a, -b])
        assert audit.verify(store).ok
    assert detected == len(ids) - 1


def test_the_verifier_command_says_intact_or_broken(env, store):
    perform_every_audited_action(store, env)
    store.close()
    ok = subprocess.run(
        [sys.executable, "-m", "services.audit", "verify"], cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "10 lignes d'audit, chaîne intacte." in ok.stdout
    reopened = type(store)(env.db)
    reopened.execute("DELETE FROM audit_log WHERE id = 10")  # the last row: caught by audit_head
    reopened.close()
    broken = subprocess.run(
        [sys.executable, "-m", "services.audit", "verify"], cwd=ROOT, capture_output=True, text=True
    )
    assert broken.returncode == 1 and "ROMPUE" in broken.stdout and "Traceback" not in broken.stderr


def test_a_thousand_concurrent_conflicting_writes_are_all_kept(env, store):
    """DATA-06: 8 threads append 125 rows each to the one chain: no error, no gap, chain intact."""
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(125):
                audit.log(store, None, "test", f"{n}:{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.scalar("SELECT count(*) FROM audit_log") == 1000
    assert store.scalar("SELECT max(id) FROM audit_log") == 1000
    assert audit.verify(store).ok
