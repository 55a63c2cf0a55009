"""The certificat campaign at the scale of an ESAT (issue 13): check a whole table of rows with the
single form's rules and messages, sum it up, file each row as its own declaration, and send one
accusé de réception per batch (real store, real SMTP server)."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from data.demo import DEMO_ESAT_ID, RG_MAX_BP, RG_MIN_BP, certificat_amounts, smic_monthly
from forms import fmt
from services import audit, campaign, declarations, justificatifs, mail, partner
from services.campaign import Row
from services.config import load_settings
from tests.browser import free_port
from tests.smtp import smtp_server
from tests.test_services import account, eml_files, run_threads

__all__ = ["smtp_server"]

VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}
EMPTY = {"remuneration_garantie": "", "aide_au_poste": " ", "part_esat": ""}


class Stop(Exception):
    """What Streamlit raises in the middle of a run (here: from the progress callback)."""


def free_workers(store, env, me, n: int) -> list[int]:
    """``n`` workers of the demo ESAT expected for the campaign, without a certificat yet."""
    found = [c.worker_id for c in campaign.candidates(store, env, me) if c.receipt_number is None]
    assert len(found) >= n
    return found[:n]


def filed_worker(store, env, me) -> campaign.Candidate:
    """A worker of the demo ESAT whose certificat of campaign 2026 is already filed."""
    return next(c for c in campaign.candidates(store, env, me) if c.receipt_number is not None)


def plausible(store, me, worker_id: int) -> dict[str, str]:
    """Amounts the demo would declare for this worker (its rate, a mid-range RG), typed in French."""
    worker = partner.get_worker(store, me, worker_id)
    bp = (RG_MIN_BP + RG_MAX_BP) // 2
    amounts = certificat_amounts(smic_monthly(date(2026, 11, 1)), worker.rate_esat or Decimal(100), bp)
    return {k: fmt.number(v).replace(".", ",") for k, v in amounts.items()}


def foreign_worker(store) -> int:
    return store.scalar("SELECT min(id) FROM worker WHERE esat_id <> ?", [DEMO_ESAT_ID])


def single_form(store, env, me, worker_id: int, raw: dict) -> tuple[dict, dict]:
    """Errors and warnings per field as the single form (declarations.check) gives them."""
    form = campaign.form()
    report = declarations.check(store, env, me, worker_id, form, campaign.payload(form, raw))
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    for issue in report.errors:
        errors.setdefault(issue.field or "", []).append(issue.message)
    for issue in report.warnings:
        warnings.setdefault(issue.field or "", []).append(issue.message)
    return errors, warnings


def batch_declarations(store, batch_key: str) -> list[dict]:
    return store.all(
        "SELECT id, worker_id, receipt_number FROM declaration WHERE starts_with(idempotency_key, ?) "
        "ORDER BY worker_id",
        [campaign.row_key(batch_key, 0)[:-1]],
    )


def body_of(raw: bytes | str) -> str:
    msg = (
        email.message_from_bytes(raw, policy=email.policy.default)
        if isinstance(raw, bytes)
        else email.message_from_string(raw, policy=email.policy.default)
    )
    return msg.get_body(preferencelist=("plain",)).get_content()


# -- check_rows and recap -------------------------------------------------------------------------


def test_invalid_rows_get_the_single_forms_messages_on_their_fields(env, store):
    me = account(store)
    a, b, c, d = free_workers(store, env, me, 4)
    rows = [
        Row(a, {**VALID, "remuneration_garantie": "abc"}, line=2),
        Row(b, {**VALID, "aide_au_poste": "-12"}, line=3),
        Row(c, {**VALID, "aide_au_poste": "1 200,00"}, line=4),  # aide au poste > RG
        Row(d, {**VALID, "part_esat": "12,345"}, line=5),
    ]
    checks = campaign.check_rows(store, env, me, rows)
    assert [c.status for c in checks] == [campaign.ERREUR] * 4
    for row, checked in zip(rows, checks, strict=True):
        errors, warnings = single_form(store, env, me, row.worker_id, row.raw)
        assert checked.errors == errors
        assert checked.warnings == warnings
        assert checked.row is row and checked.worker.worker_id == row.worker_id
        assert checked.derived == {}
    assert "doit être un montant en chiffres" in checks[0].errors["remuneration_garantie"][0]
    assert "ne peut pas être négatif" in checks[1].errors["aide_au_poste"][0]
    assert "ne peut pas dépasser" in checks[2].errors["aide_au_poste"][0]
    assert "deux chiffres après la virgule" in checks[3].errors["part_esat"][0]


def test_every_candidate_gets_exactly_what_the_single_form_says(env, store):
    """Varied amounts over 40 workers (rates, histories): the bulk check is the single check."""
    me = account(store)
    workers = free_workers(store, env, me, 40)
    amounts = [
        VALID,
        {"remuneration_garantie": "1234,56", "aide_au_poste": "900", "part_esat": "334.56"},
        {"remuneration_garantie": "2 500", "aide_au_poste": "1000", "part_esat": "1500"},
        {"remuneration_garantie": "300", "aide_au_poste": "250", "part_esat": "10"},
        {"remuneration_garantie": "1 100,50 €", "aide_au_poste": "", "part_esat": "153,95"},
    ]
    rows = [Row(w, dict(amounts[i % len(amounts)])) for i, w in enumerate(workers)]
    checks = campaign.check_rows(store, env, me, rows)
    assert {c.status for c in checks} >= {campaign.A_TRANSMETTRE, campaign.ERREUR}
    assert any(c.warnings for c in checks)
    for row, checked in zip(rows, checks, strict=True):
        errors, warnings = single_form(store, env, me, row.worker_id, row.raw)
        assert (checked.errors, checked.warnings) == (errors, warnings), row.worker_id
        if checked.status == campaign.A_TRANSMETTRE:
            report = declarations.check(
                store, env, me, row.worker_id, campaign.form(), campaign.payload(campaign.form(), row.raw)
            )
            assert checked.derived == report.derived and checked.values == report.values


def test_french_input_warnings_on_their_row_empty_rows_and_recap(env, store):
    me = account(store)
    a, b, c, d = free_workers(store, env, me, 4)
    done = filed_worker(store, env, me)
    warn = {"remuneration_garantie": "1 100,50", "aide_au_poste": "700", "part_esat": "153,95"}  # sum ≠ RG
    clean = plausible(store, me, a)
    rows = [
        Row(a, clean),
        Row(b, warn),
        Row(c, dict(EMPTY)),
        Row(d, {**VALID, "part_esat": "x"}),
        Row(done.worker_id, dict(VALID)),
    ]
    checks = campaign.check_rows(store, env, me, rows)
    by_worker = {c.worker_id: c for c in checks}
    assert by_worker[a].status == campaign.A_TRANSMETTRE and by_worker[a].warnings == {}
    assert by_worker[a].derived  # derived values of a valid row, as the single form's récap shows them
    assert by_worker[b].status == campaign.A_TRANSMETTRE
    assert by_worker[b].warnings == single_form(store, env, me, b, warn)[1] != {}
    assert by_worker[c].status == campaign.VIDE and by_worker[c].errors == {}
    assert by_worker[d].status == campaign.ERREUR
    assert by_worker[done.worker_id].status == campaign.DEJA_TRANSMIS

    summary = campaign.recap(checks)
    assert [r.worker.worker_id for r in summary.rows] == [b, a]  # warnings first
    assert summary.to_file == 2 and summary.with_warnings == 1
    assert (summary.already, summary.in_error, summary.empty) == (1, 1, 1)
    for field_id in ("remuneration_garantie", "aide_au_poste", "part_esat"):
        typed = Decimal(clean[field_id].replace(",", ".")) + Decimal(
            warn[field_id].replace(" ", "").replace(",", ".")
        )
        assert summary.totals[field_id] == typed


def test_a_worker_already_filed_is_reported_with_its_receipt_and_not_filed_again(env, store):
    me = account(store)
    done = filed_worker(store, env, me)
    existing = declarations.existing(store, me, campaign.form(), done.worker_id, env.today)
    assert existing is not None
    (checked,) = campaign.check_rows(store, env, me, [Row(done.worker_id, dict(VALID))])
    assert checked.status == campaign.DEJA_TRANSMIS and not checked.to_file
    assert checked.already is not None
    assert checked.already.receipt_number == existing.receipt_number == checked.worker.receipt_number
    assert checked.already.received_at == existing.received_at

    before = store.scalar("SELECT count(*) FROM declaration")
    (filed,) = campaign.file_rows(store, env, me, [Row(done.worker_id, dict(VALID))], "deja-1")
    assert filed.status == campaign.DEJA_TRANSMISE
    assert filed.receipt_number == existing.receipt_number and filed.declaration_id == existing.id
    assert existing.receipt_number in filed.message and "Déjà transmis le" in filed.message
    assert store.scalar("SELECT count(*) FROM declaration") == before
    assert store.scalar("SELECT count(*) FROM batch_ack") == 0  # nothing filed: no e-mail
    assert eml_files(env) == []


def test_a_worker_on_two_rows_is_an_error_on_the_later_row_and_filed_once(env, store):
    me = account(store)
    (a,) = free_workers(store, env, me, 1)
    rows = [Row(a, dict(VALID), line=2), Row(a, {**VALID, "part_esat": "150"}, line=7)]
    first, second = campaign.check_rows(store, env, me, rows)
    assert first.status == campaign.A_TRANSMETTRE
    assert second.status == campaign.ERREUR and "ligne 2" in second.errors[""][0]
    one, two = campaign.file_rows(store, env, me, rows, "deux-lignes")
    assert one.status == campaign.TRANSMISE and two.status == campaign.REFUSEE
    assert len(batch_declarations(store, "deux-lignes")) == 1


def test_a_worker_of_another_esat_is_refused_and_nothing_is_filed(env, store):
    me = account(store)
    (a,) = free_workers(store, env, me, 1)
    rows = [Row(a, dict(VALID)), Row(foreign_worker(store), dict(VALID))]
    before = store.scalar("SELECT count(*) FROM declaration")
    with pytest.raises(partner.NotAllowed):
        campaign.check_rows(store, env, me, rows)
    with pytest.raises(partner.NotAllowed):
        campaign.file_rows(store, env, me, rows, "etranger")
    assert store.scalar("SELECT count(*) FROM declaration") == before
    with pytest.raises(partner.NotAllowed):  # a Caf agent has no ESAT to file for
        campaign.check_rows(store, env, account(store, "agent.caf@example.org"), rows[:1])


# -- file_rows --------------------------------------------------------------------------------------


def test_each_row_is_its_own_declaration_with_its_audit_row_and_no_accuse_of_its_own(env, store):
    me = account(store)
    workers = free_workers(store, env, me, 3)
    bad = free_workers(store, env, me, 4)[3]
    rows = [Row(w, dict(VALID)) for w in workers] + [Row(bad, {**VALID, "aide_au_poste": "abc"})]
    audits = store.scalar("SELECT count(*) FROM audit_log WHERE action = 'declaration_submitted'")
    seen: list[tuple[int, int]] = []
    filed = campaign.file_rows(store, env, me, rows, "lot-a", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [f.status for f in filed] == [campaign.TRANSMISE] * 3 + [campaign.REFUSEE]
    assert filed[3].message == " ".join(single_form(store, env, me, bad, rows[3].raw)[0]["aide_au_poste"])
    assert filed[3].receipt_number is None and filed[3].declaration_id is None
    for f in filed[:3]:
        decl = declarations.get(store, me, f.declaration_id)
        assert decl.receipt_number == f.receipt_number and decl.worker_id == f.worker_id
        assert decl.values == {
            "remuneration_garantie": Decimal("1100.50"),
            "aide_au_poste": Decimal("946.55"),
            "part_esat": Decimal("153.95"),
        }
        key = store.scalar("SELECT idempotency_key FROM declaration WHERE id = ?", [f.declaration_id])
        assert key == campaign.row_key("lot-a", f.worker_id)
        assert (
            store.scalar(
                "SELECT count(*) FROM audit_log WHERE action = 'declaration_submitted' AND object_ref = ?",
                [f.receipt_number],
            )
            == 1
        )
        assert justificatifs.receipt_pdf(store, env, me, f.declaration_id).startswith(b"%PDF")
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'declaration_submitted'") == audits + 3
    assert audit.verify(store).ok
    ids = [f.declaration_id for f in filed[:3]]
    assert (
        store.scalar(f"SELECT count(*) FROM outbox WHERE declaration_id IN ({', '.join('?' * 3)})", ids) == 0
    )
    assert store.scalar("SELECT count(*) FROM batch_ack WHERE batch_key = 'lot-a'") == 1
    files = eml_files(env)
    assert [p.name for p in files] == [f"{campaign.reference('lot-a')}.eml"]
    text = body_of(files[0].read_bytes())
    assert all(f.receipt_number in text for f in filed[:3])


def test_two_calls_with_the_same_batch_key_file_each_worker_once_with_the_same_receipts(env, store):
    me = account(store)
    rows = [Row(w, dict(VALID)) for w in free_workers(store, env, me, 5)]
    before = store.scalar("SELECT count(*) FROM declaration")
    first = campaign.file_rows(store, env, me, rows, "double-clic")
    second = campaign.file_rows(store, env, me, rows, "double-clic")
    assert first == second
    assert {f.status for f in first} == {campaign.TRANSMISE}
    assert store.scalar("SELECT count(*) FROM declaration") == before + 5
    assert len(batch_declarations(store, "double-clic")) == 5
    assert store.scalar("SELECT count(*) FROM batch_ack") == 1
    assert len(eml_files(env)) == 1
    # Another batch key for the same workers (a second tab): the natural key says "déjà transmise".
    other = campaign.file_rows(store, env, me, rows, "autre-onglet")
    assert [f.status for f in other] == [campaign.DEJA_TRANSMISE] * 5
    assert [f.receipt_number for f in other] == [f.receipt_number for f in first]
    assert store.scalar("SELECT count(*) FROM declaration") == before + 5
    assert store.scalar("SELECT count(*) FROM batch_ack") == 1  # rows all "déjà transmise": no e-mail


def test_an_interrupted_filing_keeps_what_it_filed_and_a_second_call_files_the_rest(env, store):
    me = account(store)
    rows = [Row(w, dict(VALID)) for w in free_workers(store, env, me, 6)]

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        campaign.file_rows(store, env, me, rows, "interrompu", progress=stop_after_two)
    partial = batch_declarations(store, "interrompu")
    assert [d["worker_id"] for d in partial] == sorted(r.worker_id for r in rows[:2])
    assert store.scalar("SELECT count(*) FROM batch_ack") == 0  # no e-mail for half a batch
    for d in partial:
        assert store.scalar("SELECT count(*) FROM declaration_value WHERE declaration_id = ?", [d["id"]]) == 3

    done = campaign.file_rows(store, env, me, rows, "interrompu")
    assert [f.status for f in done] == [campaign.TRANSMISE] * 6
    assert {f.receipt_number for f in done[:2]} == {d["receipt_number"] for d in partial}
    assert len(batch_declarations(store, "interrompu")) == 6
    raw = store.scalar("SELECT message FROM batch_ack WHERE batch_key = 'interrompu'")
    text = body_of(raw)
    assert all(f.receipt_number in text for f in done)  # the interrupted call's rows too
    assert len(eml_files(env)) == 1


def test_one_email_per_batch_through_a_real_smtp_server(env, store, monkeypatch, smtp_server):
    port, collector = smtp_server
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    settings = load_settings()
    me = account(store)
    workers = free_workers(store, env, me, 4)
    rows = [Row(w, dict(VALID)) for w in workers]
    filed = campaign.file_rows(store, settings, me, rows, "smtp-lot")
    campaign.file_rows(store, settings, me, rows, "smtp-lot")  # a rerun: no second e-mail
    assert declarations.deliver_pending(store, settings) == 0
    assert len(collector.envelopes) == 1
    envelope = collector.envelopes[0]
    assert envelope.rcpt_tos == [me.email]
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "4 déclarations" in msg["Subject"] and campaign.reference("smtp-lot") in msg["Subject"]
    assert msg[mail.BATCH_HEADER] == campaign.reference("smtp-lot")
    text = body_of(envelope.content)
    for f in filed:
        worker = partner.get_worker(store, me, f.worker_id)
        line = next(li for li in text.splitlines() if f.receipt_number in li)
        assert worker.full_name in line and worker.allocataire in line
    assert "1 100,50" not in text and "946,55" not in text  # no declared amount in an e-mail
    assert store.scalar("SELECT sent_at FROM batch_ack WHERE batch_key = 'smtp-lot'") is not None


def test_a_batch_email_refused_by_the_server_is_sent_later_by_deliver_pending(
    env, store, monkeypatch, smtp_server
):
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(free_port()))  # nobody listens there
    down = load_settings()
    me = account(store)
    rows = [Row(w, dict(VALID)) for w in free_workers(store, env, me, 2)]
    filed = campaign.file_rows(store, down, me, rows, "smtp-en-panne")
    assert {f.status for f in filed} == {campaign.TRANSMISE}
    assert store.scalar("SELECT sent_at FROM batch_ack WHERE batch_key = 'smtp-en-panne'") is None
    assert declarations.deliver_pending(store, down) == 0

    port, collector = smtp_server
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    up = load_settings()
    assert declarations.deliver_pending(store, up) == 1
    assert declarations.deliver_pending(store, up) == 0  # nothing sent twice
    assert len(collector.envelopes) == 1
    assert all(f.receipt_number in body_of(collector.envelopes[0].content) for f in filed)


def test_rows_filed_after_the_batch_email_get_their_own_accuse(env, store):
    me = account(store)
    a, b, c = free_workers(store, env, me, 3)
    first = campaign.file_rows(store, env, me, [Row(a, dict(VALID)), Row(b, dict(VALID))], "en-deux-fois")
    later = campaign.file_rows(
        store, env, me, [Row(a, dict(VALID)), Row(b, dict(VALID)), Row(c, dict(VALID))], "en-deux-fois"
    )
    assert later[:2] == first and later[2].status == campaign.TRANSMISE
    assert store.scalar("SELECT count(*) FROM batch_ack") == 1  # never a second batch e-mail
    text = body_of(store.scalar("SELECT message FROM batch_ack"))
    assert later[2].receipt_number not in text
    own = store.all(
        "SELECT declaration_id, sent_at FROM outbox WHERE declaration_id = ?", [later[2].declaration_id]
    )
    assert len(own) == 1 and own[0]["sent_at"] is not None
    assert {p.name for p in eml_files(env)} == {
        f"{campaign.reference('en-deux-fois')}.eml",
        f"{later[2].receipt_number}.eml",
    }
    campaign.file_rows(store, env, me, [Row(c, dict(VALID))], "en-deux-fois")  # once only
    assert (
        store.scalar("SELECT count(*) FROM outbox WHERE declaration_id = ?", [later[2].declaration_id]) == 1
    )
    assert len(eml_files(env)) == 2


def test_two_tabs_filing_the_same_batch_at_once_file_each_worker_once_and_acknowledge_each_once(env, store):
    me = account(store)
    rows = [Row(w, dict(VALID)) for w in free_workers(store, env, me, 12)]
    # The second tab starts with the rows in another order: the two calls meet in the middle.
    orders = [rows, rows[::-1], rows[6:] + rows[:6]]
    results, errors = run_threads(lambda i: campaign.file_rows(store, env, me, orders[i], "trois-onglets"), 3)
    assert errors == []
    receipts = [{f.worker_id: f.receipt_number for f in result} for result in results]
    assert receipts[0] == receipts[1] == receipts[2]
    assert all(f.status == campaign.TRANSMISE for result in results for f in result)
    filed = batch_declarations(store, "trois-onglets")
    assert len(filed) == 12
    assert store.scalar("SELECT count(*) FROM batch_ack") == 1
    listed = set(json.loads(store.scalar("SELECT declarations FROM batch_ack")))
    own = {r["declaration_id"] for r in store.all("SELECT declaration_id FROM outbox")}
    for d in filed:  # in the batch e-mail or an accusé of its own: one of the two, never both
        assert (d["id"] in listed) != (d["id"] in own), d


# -- the batch e-mail -------------------------------------------------------------------------------


def test_the_batch_email_cannot_be_given_a_header_by_a_value(env):
    hostile = "DUPONT\r\nBcc: x@evil.example =?utf-8?q?=0D=0ABcc:_y@evil.example?="
    msg = mail.build_batch_ack(
        settings=env,
        recipient="gestion@esat.example.org",
        reference="LOT-1\r\nBcc: z@evil.example",
        form_title="Certificat d'emploi\nBcc: t@evil.example",
        esat_name="ESAT\r\nX: y",
        items=[mail.BatchItem(hostile, "9912345\n", "ESAT-2026-00000001", datetime(2026, 12, 10, 9, 30))],
    )
    written = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert "Bcc" not in written and "X" not in written
    assert sorted(written.keys()) == sorted(
        ["From", "To", "Subject", "Date", "Message-ID", mail.BATCH_HEADER, "Auto-Submitted", "MIME-Version",
         "Content-Type", "Content-Transfer-Encoding"]
    )  # fmt: skip
    assert "1 déclaration" in written["Subject"]
    with pytest.raises(ValueError):
        mail.build_batch_ack(
            settings=env,
            recipient="a@example.org, c@example.org",
            reference="LOT-1",
            form_title="Certificat d'emploi",
            esat_name="ESAT",
            items=[mail.BatchItem("A B", "9912345", "ESAT-2026-00000001", datetime(2026, 12, 10, 9, 30))],
        )
