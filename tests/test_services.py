"""The services layer without a browser: exactly-once filing, authorization, amounts,
history, delivery of the accusé de réception, login and access prerequisites."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from data.demo import (
    AGENT_LOGIN,
    DEMO_ESAT_ID,
    DEMO_ESAT_LOGIN,
    FORM_ID,
    NO_CONTRACT_ESAT_LOGIN,
)
from data.store import Store
from services import accounts, declarations, justificatifs, partner, passwords
from services.accounts import Account
from services.clock import to_paris
from services.config import Settings, load_settings
from tests.browser import free_port
from tests.conftest import PASSWORD, TODAY
from tests.smtp import smtp_server

VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}
TABLES = ("declaration", "declaration_value", "outbox", "audit_log")

__all__ = ["smtp_server"]


# -- helpers ---------------------------------------------------------------------------------


def account(store: Store, login: str = DEMO_ESAT_LOGIN) -> Account:
    row = store.one("SELECT id FROM account WHERE login = ?", [login])
    assert row is not None, login
    found = accounts.get(store, row["id"])
    assert found is not None
    return found


def form():
    return declarations.forms()[FORM_ID]


def counts(store: Store) -> dict[str, int]:
    return {t: store.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}


def submit(store: Store, env: Settings, key: str, worker_id: int = 1, payload=None, who=None):
    return declarations.submit(
        store, env, who or account(store), worker_id, form(), dict(payload or VALID), key
    )


def audit_rows(store: Store, action: str) -> list[dict[str, Any]]:
    return store.all("SELECT * FROM audit_log WHERE action = ? ORDER BY id", [action])


def eml_files(env: Settings) -> list[Path]:
    return sorted(Path(env.outbox).glob("*.eml")) if Path(env.outbox).exists() else []


def run_threads(target, n: int = 8) -> tuple[list[Any], list[BaseException]]:
    """Run ``target(i)`` in ``n`` threads released together; (results, exceptions)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return results, errors


def other_esat_worker(store: Store) -> int:
    return store.scalar("SELECT min(id) FROM worker WHERE esat_id <> ?", [DEMO_ESAT_ID])


def other_esat_declaration(store: Store) -> dict[str, Any]:
    row = store.one(
        "SELECT id, worker_id, idempotency_key, author_id FROM declaration WHERE esat_id <> ? ORDER BY id LIMIT 1",
        [DEMO_ESAT_ID],
    )
    assert row is not None
    return row


# -- exactly once ----------------------------------------------------------------------------


def test_the_same_key_three_times_files_once(env, store):
    before = counts(store)
    receipts = [submit(store, env, "cle-unique").receipt_number for _ in range(3)]
    assert len(set(receipts)) == 1
    after = counts(store)
    assert after["declaration"] == before["declaration"] + 1
    assert after["declaration_value"] == before["declaration_value"] + 3
    assert after["outbox"] == before["outbox"] + 1
    rows = store.all("SELECT * FROM declaration WHERE idempotency_key = 'cle-unique'")
    assert len(rows) == 1 and rows[0]["receipt_number"] == receipts[0]
    values = store.all("SELECT field_id FROM declaration_value WHERE declaration_id = ?", [rows[0]["id"]])
    assert sorted(v["field_id"] for v in values) == sorted(VALID)
    submitted = audit_rows(store, "declaration_submitted")
    assert [(a["account_id"], a["object_ref"]) for a in submitted] == [(1, receipts[0])]
    assert [p.name for p in eml_files(env)] == [f"{receipts[0]}.eml"]


def test_concurrent_submits_with_the_same_key_file_once(env, store):
    before = counts(store)
    demo = account(store)
    results, errors = run_threads(lambda i: submit(store, env, "cle-partagee", who=demo))
    assert errors == []
    assert len({d.receipt_number for d in results}) == 1
    assert len({d.id for d in results}) == 1
    after = counts(store)
    assert after["declaration"] == before["declaration"] + 1
    assert after["declaration_value"] == before["declaration_value"] + 3
    assert after["outbox"] == before["outbox"] + 1
    assert len(audit_rows(store, "declaration_submitted")) == 1
    assert len(eml_files(env)) == 1


def test_a_second_certificat_with_a_new_key_points_to_the_first(env, store):
    first = submit(store, env, "premiere")
    before = counts(store)
    with pytest.raises(declarations.AlreadyDeclared) as caught:
        submit(store, env, "seconde", payload={**VALID, "part_esat": "150,00"})
    assert caught.value.existing.receipt_number == first.receipt_number
    assert caught.value.existing.id == first.id
    assert counts(store) == before
    assert store.scalar("SELECT count(*) FROM declaration WHERE idempotency_key = 'seconde'") == 0
    assert len(eml_files(env)) == 1


def test_concurrent_submits_with_different_keys_file_one_certificat(env, store):
    before = counts(store)
    demo = account(store)
    outcomes: list[Any] = [None] * 8

    def attempt(i: int) -> None:
        try:
            outcomes[i] = submit(store, env, f"cle-{i}", who=demo)
        except declarations.AlreadyDeclared as exc:
            outcomes[i] = exc

    _, errors = run_threads(attempt)
    assert errors == [], [f"{type(e).__module__}.{type(e).__name__}: {e}" for e in errors]
    filed = [o for o in outcomes if isinstance(o, declarations.Declaration)]
    refused = [o for o in outcomes if isinstance(o, declarations.AlreadyDeclared)]
    assert len(filed) == 1 and len(refused) == 7
    assert {r.existing.receipt_number for r in refused} == {filed[0].receipt_number}
    assert store.scalar("SELECT count(*) FROM declaration WHERE worker_id = 1 AND campaign = 2026") == 1
    after = counts(store)
    assert after["declaration"] == before["declaration"] + 1
    assert after["outbox"] == before["outbox"] + 1


def test_an_invalid_payload_is_refused_with_the_report_and_nothing_is_stored(env, store):
    before = counts(store)
    with pytest.raises(declarations.Invalid) as caught:
        submit(store, env, "invalide", payload={**VALID, "remuneration_garantie": "abc", "part_esat": "-3"})
    report = caught.value.report
    assert not report.valid
    assert {i.field for i in report.errors} >= {"remuneration_garantie", "part_esat"}
    assert any("Montant brut de la rémunération garantie" in i.message for i in report.errors)
    assert counts(store) == before
    assert eml_files(env) == []


# -- authorization ---------------------------------------------------------------------------


def test_an_esat_cannot_reach_another_esats_worker_or_declaration(env, store):
    demo = account(store)
    worker_id = other_esat_worker(store)
    decl = other_esat_declaration(store)
    before = counts(store)
    with pytest.raises(partner.NotAllowed):
        submit(store, env, "chez-le-voisin", worker_id=worker_id)
    with pytest.raises(partner.NotAllowed):
        partner.get_worker(store, demo, worker_id)
    with pytest.raises(partner.NotAllowed):
        partner.history(store, demo, worker_id, TODAY)
    with pytest.raises(partner.NotAllowed):
        declarations.get(store, demo, decl["id"])
    with pytest.raises(partner.NotAllowed):
        justificatifs.receipt_pdf(store, env, demo, decl["id"])
    with pytest.raises(partner.NotAllowed):
        declarations.get(store, demo, 10**9)  # unknown id: the same answer
    assert counts(store) == before
    # The check can fail: the demo account does reach its own worker.
    assert partner.get_worker(store, demo, 1).id == 1


def test_an_agent_account_has_no_esat_pages(env, store):
    agent = account(store, AGENT_LOGIN)
    assert agent.role == "agent"
    with pytest.raises(partner.NotAllowed):
        partner.home(store, agent)
    with pytest.raises(partner.NotAllowed):
        partner.list_workers(store, agent, "441")
    # An agent reads the workers of their own Caf (declaration details), never another Caf's.
    assert partner.get_worker(store, agent, 1).caf_code == agent.caf_code
    other = store.scalar("SELECT min(id) FROM worker WHERE caf_code <> ?", [agent.caf_code])
    with pytest.raises(partner.NotAllowed):
        partner.get_worker(store, agent, other)


def test_another_authors_idempotency_key_cannot_be_reused(env, store):
    theirs = other_esat_declaration(store)
    before = counts(store)
    with pytest.raises(partner.NotAllowed):
        submit(store, env, theirs["idempotency_key"], worker_id=1)
    assert counts(store) == before
    # Same author, same key, another worker: refused as well.
    mine = submit(store, env, "ma-cle", worker_id=1)
    before = counts(store)
    with pytest.raises(partner.NotAllowed):
        submit(store, env, "ma-cle", worker_id=2)
    assert counts(store) == before
    assert store.scalar("SELECT count(*) FROM declaration WHERE worker_id = 2 AND campaign = 2026") == 0
    assert submit(store, env, "ma-cle", worker_id=1).receipt_number == mine.receipt_number


# -- amounts ---------------------------------------------------------------------------------


def test_amounts_round_trip_exactly_as_decimals(env, store):
    payload = {"remuneration_garantie": "1000.10", "aide_au_poste": "846.2", "part_esat": "153.90"}
    decl = submit(store, env, "decimales", payload=payload)
    read = declarations.get(store, account(store), decl.id)
    assert read.values == {
        "remuneration_garantie": Decimal("1000.10"),
        "aide_au_poste": Decimal("846.20"),
        "part_esat": Decimal("153.90"),
    }
    assert all(type(v) is Decimal for v in read.values.values())
    assert [str(read.values[k]) for k in payload] == ["1000.10", "846.20", "153.90"]
    assert read.values["aide_au_poste"] + read.values["part_esat"] == read.values["remuneration_garantie"]
    raw = store.all(
        "SELECT field_id, CAST(number AS VARCHAR) AS text FROM declaration_value WHERE declaration_id = ?",
        [decl.id],
    )
    assert {r["field_id"]: r["text"] for r in raw} == {
        "remuneration_garantie": "1000.10",
        "aide_au_poste": "846.20",
        "part_esat": "153.90",
    }
    column = store.one(
        "SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns "
        "WHERE table_name = 'declaration_value' AND column_name = 'number'"
    )
    assert column["data_type"] in {"DECIMAL(12,2)", "numeric"}  # DuckDB, PostgreSQL
    assert (column["numeric_precision"], column["numeric_scale"]) == (12, 2)


# -- history ---------------------------------------------------------------------------------


def insert_declaration(store: Store, key: str, worker_id: int, received: datetime) -> None:
    store.execute(
        "INSERT INTO declaration (id, receipt_number, form_id, form_version, worker_id, esat_id, caf_code, "
        "author_id, idempotency_key, natural_key, campaign, received_at, verification_code) "
        "SELECT nextval('declaration_seq') AS n, 'TEST-' || ?, ?, 1, id, esat_id, caf_code, 1, ?, NULL, NULL, ?, "
        "'X' FROM worker WHERE id = ?",
        [key, FORM_ID, key, received, worker_id],
    )


def test_history_covers_two_rolling_years_newest_first(env, store):
    demo = account(store)
    since = date(2024, 12, 10)
    rows = store.all("SELECT id, received_at FROM declaration WHERE worker_id = 1")
    assert any(to_paris(r["received_at"]).date() < since for r in rows), "the demo data has older ones"
    expected = {r["id"] for r in rows if to_paris(r["received_at"]).date() >= since}
    assert expected, "the demo data has recent declarations"

    history = partner.history(store, demo, 1, TODAY)
    assert {h.declaration_id for h in history} == expected
    stamps = [h.received_at for h in history]
    assert stamps == sorted(stamps, reverse=True)
    assert all(h.received_at.date() >= since for h in history)

    fresh = submit(store, env, "fraiche")
    history = partner.history(store, demo, 1, TODAY)
    assert history[0].declaration_id == fresh.id
    assert history[0].receipt_number == fresh.receipt_number


def test_history_boundary_is_the_paris_day_two_years_ago(env, store):
    # Received on 10/12/2024 at 08:00 Paris (07:00 UTC): inside; on 09/12/2024 at 12:00: outside.
    insert_declaration(store, "bord-dedans", 1, datetime(2024, 12, 10, 7, 0))
    insert_declaration(store, "bord-dehors", 1, datetime(2024, 12, 9, 11, 0))
    # Received on 10/12/2024 at 00:30 Paris, which is still 9 December in UTC: inside.
    insert_declaration(store, "minuit-paris", 1, datetime(2024, 12, 9, 23, 30))
    # Received on 09/12/2024 at 23:30 Paris (22:30 UTC): outside.
    insert_declaration(store, "veille-paris", 1, datetime(2024, 12, 9, 22, 30))
    numbers = {h.receipt_number for h in partner.history(store, account(store), 1, TODAY)}
    assert "TEST-bord-dedans" in numbers
    assert "TEST-minuit-paris" in numbers
    assert "TEST-bord-dehors" not in numbers
    assert "TEST-veille-paris" not in numbers
    assert all(
        h.received_at.date() >= date(2024, 12, 10) for h in partner.history(store, account(store), 1, TODAY)
    )


# -- accusé de réception ---------------------------------------------------------------------


def test_a_down_smtp_server_keeps_the_declaration_and_a_later_delivery_sends_it(
    env, store, monkeypatch, smtp_server
):
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(free_port()))  # nobody listens there
    down = load_settings()
    decl = declarations.submit(store, down, account(store), 1, form(), dict(VALID), "smtp-en-panne")
    assert store.scalar("SELECT count(*) FROM declaration WHERE id = ?", [decl.id]) == 1
    assert store.scalar("SELECT sent_at FROM outbox WHERE declaration_id = ?", [decl.id]) is None
    assert declarations.deliver_pending(store, down) == 0
    assert store.scalar("SELECT sent_at FROM outbox WHERE declaration_id = ?", [decl.id]) is None
    assert eml_files(down) == []

    port, collector = smtp_server
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    up = load_settings()
    assert declarations.deliver_pending(store, up) == 1
    assert len(collector.envelopes) == 1
    assert collector.envelopes[0].rcpt_tos == [account(store).email]
    sent = email.message_from_bytes(collector.envelopes[0].content, policy=email.policy.default)
    assert decl.receipt_number in sent["Subject"]
    assert store.scalar("SELECT sent_at FROM outbox WHERE declaration_id = ?", [decl.id]) is not None
    assert declarations.deliver_pending(store, up) == 0  # nothing sent twice
    assert len(collector.envelopes) == 1


def test_an_accuse_the_smtp_server_refused_goes_with_the_next_submission(
    env, store, monkeypatch, smtp_server
):
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(free_port()))  # nobody listens there
    refused = declarations.submit(store, load_settings(), account(store), 1, form(), dict(VALID), "refuse")
    port, collector = smtp_server
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    later = declarations.submit(store, load_settings(), account(store), 2, form(), dict(VALID), "ensuite")
    subjects = [
        email.message_from_bytes(e.content, policy=email.policy.default)["Subject"]
        for e in collector.envelopes
    ]
    assert [s.rsplit(" ", 1)[-1] for s in subjects] == [later.receipt_number, refused.receipt_number]
    assert store.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


def test_the_stored_email_carries_no_amount_or_rate(env, store):
    decl = submit(store, env, "courriel")
    raw = store.scalar("SELECT message FROM outbox WHERE declaration_id = ?", [decl.id])
    msg = email.message_from_string(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert decl.receipt_number in body
    for text in (body, raw, str(msg["Subject"])):
        assert "€" not in text
        assert "%" not in text
    for amount in ("1 100,50", "1100,50", "1100.50", "946,55", "153,95"):
        assert amount not in body


# -- login -----------------------------------------------------------------------------------


def audit_actions(store: Store) -> list[tuple[int | None, str]]:
    return [
        (r["account_id"], r["action"])
        for r in store.all("SELECT account_id, action FROM audit_log WHERE action LIKE 'login%' ORDER BY id")
    ]


def test_every_failed_login_returns_none_and_is_audited(env, store):
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, "pas-le-bon") is None
    assert accounts.authenticate(store, env, "inconnu@example.org", PASSWORD) is None
    store.execute("UPDATE account SET active = FALSE WHERE login = ?", [NO_CONTRACT_ESAT_LOGIN])
    assert accounts.authenticate(store, env, NO_CONTRACT_ESAT_LOGIN, PASSWORD) is None
    assert audit_actions(store) == [(1, "login_failed"), (None, "login_failed"), (3, "login_failed")]


def test_a_successful_login_is_audited(env, store):
    found = accounts.authenticate(store, env, "  ESAT.Demo@Example.org ", PASSWORD)
    assert found is not None and found.id == 1 and found.esat_id == DEMO_ESAT_ID
    assert audit_actions(store) == [(1, "login")]


def test_an_outdated_hash_is_rehashed_on_login(env, store):
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert passwords.needs_rehash(old)
    store.execute("UPDATE account SET password_hash = ? WHERE id = 1", [old])
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD) is not None
    new = store.scalar("SELECT password_hash FROM account WHERE id = 1")
    assert new != old
    assert not passwords.needs_rehash(new)
    assert "m=19456,t=2,p=1" in new
    assert passwords.verify_password(new, PASSWORD)
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD) is not None


def test_a_failed_login_does_not_rehash(env, store):
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    store.execute("UPDATE account SET password_hash = ? WHERE id = 1", [old])
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, "pas-le-bon") is None
    assert store.scalar("SELECT password_hash FROM account WHERE id = 1") == old


# -- access prerequisites --------------------------------------------------------------------


def test_missing_contracts(env, store):
    bulletin = accounts.CONTRACT_LABELS["bulletin_esat"]
    convention = accounts.CONTRACT_LABELS["convention"]
    assert accounts.missing_contracts(store, account(store, NO_CONTRACT_ESAT_LOGIN), TODAY) == [bulletin]
    demo = account(store)
    assert accounts.missing_contracts(store, demo, TODAY) == []
    store.execute(
        "UPDATE partner_contract SET valid_to = ? WHERE esat_id = ? AND kind = 'convention'",
        [TODAY - timedelta(days=1), DEMO_ESAT_ID],
    )
    assert accounts.missing_contracts(store, demo, TODAY) == [convention]
    assert accounts.missing_contracts(store, demo, TODAY - timedelta(days=1)) == []  # last valid day


# -- justificatif ----------------------------------------------------------------------------


def test_receipt_pdf_is_a_pdf_and_is_audited(env, store):
    demo = account(store)
    decl = store.one(
        "SELECT id, receipt_number FROM declaration WHERE esat_id = ? ORDER BY id LIMIT 1", [DEMO_ESAT_ID]
    )
    data = justificatifs.receipt_pdf(store, env, demo, decl["id"])
    assert data.startswith(b"%PDF")
    rows = audit_rows(store, "pdf_downloaded")
    assert [(r["account_id"], r["object_ref"]) for r in rows] == [(1, decl["receipt_number"])]
