"""DATA-01 (double click, back then Valider, refresh, two tabs → one declaration, one e-mail, one
audit row; the repeat shows the receipt) and DATA-03 (a fault at any step of a submission leaves
nothing behind; the confirmation shows only after the commit)."""

from __future__ import annotations

import email
import email.policy
import os
import random
from datetime import date
from pathlib import Path

import pytest

from data.store import Tx
from services import declarations
from services.config import load_settings
from tests.apptest import button, no_legacy_pages, texts
from tests.smtp import smtp_server
from tests.stores import known
from tests.test_pages import VALID, fill, logged_in, select_and_choose, to_workers
from tests.test_services import account, run_threads

__all__ = ["no_legacy_pages", "smtp_server"]

SENT = "Votre déclaration a bien été transmise"
COUNTS = {
    "declaration": "SELECT count(*) FROM declaration WHERE worker_id = 1 AND campaign = 2026",
    "values": "SELECT count(*) FROM declaration_value v JOIN declaration d ON d.id = v.declaration_id "
    "WHERE d.worker_id = 1 AND d.campaign = 2026",
    "outbox": "SELECT count(*) FROM outbox o JOIN declaration d ON d.id = o.declaration_id "
    "WHERE d.worker_id = 1 AND d.campaign = 2026",
    "audit": "SELECT count(*) FROM audit_log WHERE action = 'declaration_submitted'",
    "audit_head": "SELECT last_id FROM audit_head",
}


def counts(store) -> dict[str, int]:
    return {name: store.scalar(sql) for name, sql in COUNTS.items()}


def emails(env) -> int:
    return len(list(Path(env.outbox).glob("*.eml"))) if Path(env.outbox).exists() else 0


def on_recap(at=None):
    at = select_and_choose(to_workers(at or logged_in()), (1,))
    button(at, "Déclarer : Certificat d'emploi").click().run()
    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    assert any(b.label == "Valider" for b in at.button), "on the recap"
    return at


def receipt_shown(at) -> str:
    return next(s.value for s in at.success if SENT in s.value)


def without_certificat(store) -> list[int]:
    """Active workers of the demo ESAT with no certificat yet in campaign 2026, by id."""
    return [
        r["id"]
        for r in store.all(
            "SELECT id FROM worker w WHERE esat_id = 1 AND status = 'ACTIVE' AND NOT EXISTS "
            "(SELECT 1 FROM declaration d WHERE d.worker_id = w.id AND d.campaign = 2026) ORDER BY id"
        )
    ]


def assert_exactly_one(store, env) -> None:
    found = counts(store)
    assert found["declaration"] == 1 and found["outbox"] == 1 and found["audit"] == 1, found
    assert emails(env) == 1


# -- DATA-01 ----------------------------------------------------------------------------------


def test_back_then_valider_again_shows_the_same_receipt(env, store):
    at = on_recap()
    button(at, "Valider").click().run()
    first = receipt_shown(at)
    draft = at.session_state["espace_esat"].draft()
    draft.step = "recap"  # the browser's back button brings the recap back
    at.run()
    button(at, "Valider").click().run()
    assert receipt_shown(at) == first
    assert_exactly_one(store, env)


def test_a_double_click_files_once(env, store):
    """Two clicks on Valider reach the server before the first rerun has drawn the end page."""
    at = on_recap()
    valider = button(at, "Valider")
    valider.click()
    at.run()
    first = receipt_shown(at)
    at.session_state["espace_esat"].draft().step = "recap"  # the second click, on the old screen
    at.run()
    button(at, "Valider").click().run()
    assert receipt_shown(at) == first
    assert_exactly_one(store, env)


def resumed():
    """A new session of the same account (a refresh, a second tab) takes the open batch up."""
    at = to_workers(logged_in())
    button(at, "Reprendre la saisie").click().run()
    return at


def test_a_refresh_or_second_tab_shows_the_receipt_already_filed(env, store):
    """A refresh starts a new session, which takes the batch up from the store; a draft with a key
    of its own (not the batch's) meets the natural key."""
    first_tab = on_recap()
    second_tab = resumed()  # another tab, same worker, same campaign, its own idempotency key:
    second_tab.session_state["espace_esat"].draft().idempotency_key = "second-tab"
    button(first_tab, "Valider").click().run()
    number = store.scalar("SELECT receipt_number FROM declaration WHERE worker_id = 1 AND campaign = 2026")
    assert number in receipt_shown(first_tab)
    button(second_tab, "Valider").click().run()
    assert not [s for s in second_tab.success if SENT in s.value]
    assert any(f"a déjà été transmise pour ce travailleur : n° {number}" in e.value for e in second_tab.error)
    assert_exactly_one(store, env)
    refreshed = resumed()  # after a refresh
    refreshed.switch_page("pages/fiche.py").run()
    assert "a déjà été transmis pour ce travailleur" in texts(refreshed)
    assert_exactly_one(store, env)


# -- DATA-03 ----------------------------------------------------------------------------------


class Fault(RuntimeError):
    """Injected: the store fails at this statement."""


METHODS = ("execute", "executemany", "one", "all", "scalar")


def submit_with_fault(store, env, key: str, worker_id: int, failing: int | None) -> int:
    """File a certificat, the ``failing``-th store statement raising :class:`Fault` (None: no fault).
    Returns how many statements ran."""
    seen = 0
    originals = {name: getattr(Tx, name) for name in METHODS}

    def faulty(name):
        def wrapper(self, *args, **kwargs):
            nonlocal seen
            seen += 1
            if seen == failing:
                raise Fault(f"statement {failing}")
            return originals[name](self, *args, **kwargs)

        return wrapper

    with pytest.MonkeyPatch.context() as mp:
        for name in METHODS:
            mp.setattr(Tx, name, faulty(name))
        declarations.submit(
            store, env, account(store), worker_id, declarations.forms()["certificat_emploi"], dict(VALID), key
        )
    return seen


TOTALS = {
    "declaration": "SELECT count(*) FROM declaration",
    "values": "SELECT count(*) FROM declaration_value",
    "outbox": "SELECT count(*) FROM outbox",
    "audit": "SELECT count(*) FROM audit_log",
    "audit_head": "SELECT last_id FROM audit_head",
}


def totals(store) -> dict[str, int]:
    return {name: store.scalar(sql) for name, sql in TOTALS.items()}


def test_a_fault_at_any_statement_of_a_submission_leaves_nothing_partial(env, store):
    """Each statement in turn fails (one worker each): before the commit nothing is left; after it,
    the whole declaration is there and a retry with the same key returns it without a second one."""
    free = without_certificat(store)
    submit_with_fault(store, env, "warm-up", free.pop(), None)  # the first one also looks for accusés waiting
    total = submit_with_fault(store, env, "count-me", free.pop(), None)
    assert total >= 8  # declaration, values, worker, outbox, audit chain…
    whole = {"declaration": 1, "values": 3, "outbox": 1, "audit": 1, "audit_head": 1}
    nothing = dict.fromkeys(whole, 0)
    outcomes = []
    for failing in range(1, total + 1):
        worker_id, key = free[failing], f"k{failing}"
        before = totals(store)
        with pytest.raises(Fault):
            submit_with_fault(store, env, key, worker_id, failing)
        delta = {name: value - before[name] for name, value in totals(store).items()}
        assert delta in (nothing, whole), f"partial write when statement {failing} fails: {delta}"
        outcomes.append("committed" if delta == whole else "nothing")
        submit_with_fault(store, env, key, worker_id, None)  # the user's retry, same key
        after_retry = {name: value - before[name] for name, value in totals(store).items()}
        assert after_retry == whole, f"statement {failing}: the retry must file exactly once"
    # Every statement of a submission runs up to its commit (the accusé is claimed in it); the other
    # side of the commit is the next test.
    assert outcomes == ["nothing"] * total, outcomes
    assert store.scalar("SELECT count(*) FROM declaration WHERE idempotency_key LIKE 'k%'") == total


def test_a_fault_after_the_commit_leaves_the_whole_declaration_and_a_retry_returns_it(
    env, store, monkeypatch
):
    """The mail server refuses the accusé, then giving it back fails: the declaration is whole."""
    worker_id = without_certificat(store).pop()
    original = Tx.execute

    def failing_give_back(self, sql, params=()):
        if sql.startswith("UPDATE outbox SET sent_at = NULL"):
            raise Fault("give back")
        return original(self, sql, params)

    def refused(settings, msg):
        raise OSError("mail server down")

    before = totals(store)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Tx, "execute", failing_give_back)
        mp.setattr(declarations.mail, "deliver", refused)
        with pytest.raises(Fault):
            submit_with_fault(store, env, "after-commit", worker_id, None)
    whole = {"declaration": 1, "values": 3, "outbox": 1, "audit": 1, "audit_head": 1}
    assert {name: value - before[name] for name, value in totals(store).items()} == whole
    submit_with_fault(store, env, "after-commit", worker_id, None)  # the user's retry, same key
    assert {name: value - before[name] for name, value in totals(store).items()} == whole


def test_the_confirmation_shows_only_after_the_commit(env, store, monkeypatch):
    at = on_recap()
    original = Tx.execute

    def failing_outbox(self, sql, params=()):
        if sql.startswith("INSERT INTO outbox"):
            raise Fault("disk full")
        return original(self, sql, params)

    monkeypatch.setattr(Tx, "execute", failing_outbox)
    before = counts(store)
    button(at, "Valider").click().run()
    assert not at.exception
    assert not [s for s in at.success if SENT in s.value]
    assert any("Une erreur technique" in e.value for e in at.error)
    assert counts(store) == before and emails(env) == 0
    monkeypatch.setattr(Tx, "execute", original)
    at.run()
    button(at, "Valider").click().run()  # the user tries again: same key, filed once
    assert SENT in receipt_shown(at)
    assert_exactly_one(store, env)


# -- DATA-02 ----------------------------------------------------------------------------------

OPERATIONS = int(os.environ.get("ESAT_DATA02_OPERATIONS", "2000"))  # 10,000 in docs/reliability.md


def test_random_sequences_never_file_a_natural_key_twice(env, store):
    """New keys, replayed keys, the same worker again: an oracle knows what each answer must be."""
    r = random.Random(2)
    me = account(store)
    form = declarations.forms()["certificat_emploi"]
    pool = without_certificat(store)[:60]
    first_for_worker: dict[int, str] = {}  # worker → receipt of the certificat filed
    by_key: dict[str, tuple[int, str]] = {}  # key → (worker, receipt answered)
    for n in range(OPERATIONS):
        if by_key and r.random() < 0.3:
            key = r.choice(sorted(by_key))
            worker = by_key[key][0]
        else:
            key, worker = f"op-{n}", r.choice(pool)
        try:
            answer = declarations.submit(store, env, me, worker, form, dict(VALID), key).receipt_number
        except declarations.AlreadyDeclared as exc:
            answer = exc.existing.receipt_number
            assert key not in by_key or by_key[key][1] == answer
        expected = first_for_worker.setdefault(worker, answer)
        assert answer == expected, f"operation {n}: worker {worker} answered {answer}, filed {expected}"
        by_key.setdefault(key, (worker, answer))
    duplicates = store.scalar(
        "SELECT count(*) FROM (SELECT natural_key FROM declaration WHERE natural_key IS NOT NULL "
        "GROUP BY natural_key HAVING count(*) > 1) AS d"
    )
    assert duplicates == 0
    filed = store.scalar(
        "SELECT count(*) FROM declaration WHERE campaign = 2026 AND esat_id = 1 AND idempotency_key LIKE 'op-%'"
    )
    assert filed == len(first_for_worker) and len(first_for_worker) > 10


# -- found by scripts/kill_submissions.py ------------------------------------------------------


def test_a_retry_after_the_worker_changed_returns_the_declaration_filed(env, store):
    """The retry of a départ finds the worker gone: it must still get its receipt, not an error."""
    me = account(store)
    form = declarations.forms()["depart_esat"]
    payload = {"date_depart": "15/12/2026", "motif_depart": "demission"}
    first = declarations.submit(store, env, me, 1, form, dict(payload), "depart-1")
    assert known(store, 1, date(2026, 12, 15), "status") == {"status": "LEFT"}
    again = declarations.submit(store, env, me, 1, form, dict(payload), "depart-1")
    assert again.id == first.id
    assert store.scalar("SELECT count(*) FROM declaration WHERE idempotency_key = 'depart-1'") == 1
    with pytest.raises(declarations.Invalid):  # a new key for the same départ is checked again
        declarations.submit(store, env, me, 1, form, dict(payload), "depart-2")


def test_concurrent_submissions_send_each_acknowledgement_once(env, store, monkeypatch, smtp_server):
    port, collector = smtp_server
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    settings = load_settings()
    me = account(store)
    workers = without_certificat(store)[:16]
    form = declarations.forms()["certificat_emploi"]
    results, errors = run_threads(
        lambda i: declarations.submit(store, settings, me, workers[i], form, dict(VALID), f"smtp-{i}"), 16
    )
    assert errors == []
    subjects = sorted(
        email.message_from_bytes(e.content, policy=email.policy.default)["Subject"]
        for e in collector.envelopes
    )
    assert len(subjects) == 16 and len(set(subjects)) == 16
    assert {r.receipt_number for r in results} == {s.rsplit(" ", 1)[-1] for s in subjects}
    assert store.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
