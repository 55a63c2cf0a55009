"""The daily hand-over to the payment system (services/handover.py, docs/handover.md): each
declaration in exactly one batch, the same bytes on every export of a day, scoped to the agent's
Caf, refused to every other role, one batch when two exports of a day race."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from data.demo import (
    ADMIN_LOGIN,
    AGENT_LOGIN,
    DEMO_ESAT_ID,
    DEMO_ESAT_LOGIN,
    FORM_ID,
    NEIGHBOUR_CAF,
    PILOT_CAF,
    REVIEWER_LOGIN,
)
from data.store import Store
from services import accounts, backoffice, declarations, handover, partner
from services import audit as audit_trail
from services.accounts import Account
from services.config import Settings
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parent.parent
VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}
TYPED = {"remuneration_garantie": "1100.50", "aide_au_poste": "946.55", "part_esat": "153.95"}
# The keys of a line of schema v1, as docs/handover.md lists them.
KEYS = (
    "schema_version", "batch_id", "batch_day", "batch_created_at", "caf_code", "declaration_id",
    "receipt_number", "verification_code", "form_id", "form_version", "received_at",
    "received_at_paris", "effective_date", "campaign", "esat_id", "esat_siret", "worker", "values",
    "derived", "known_before", "processed_at",
)  # fmt: skip
WORKER_KEYS = ("allocataire", "person_role", "last_name", "first_name", "birth_date")
KNOWN_KEYS = ("rate_esat", "rate_mo", "double_activity", "double_activity_since", "status", "return_date")


# -- helpers ---------------------------------------------------------------------------------


def account(store: Store, login: str) -> Account:
    found = accounts.get(store, store.scalar("SELECT id FROM account WHERE login = ?", [login]))
    assert found is not None, login
    return found


def free_workers(store: Store, caf: str) -> list[int]:
    """Active workers of the demo ESAT on ``caf`` with no certificat in campaign 2026."""
    return [
        r["id"]
        for r in store.all(
            "SELECT id FROM worker w WHERE esat_id = ? AND caf_code = ? AND status = 'ACTIVE' AND NOT EXISTS "
            "(SELECT 1 FROM declaration d WHERE d.worker_id = w.id AND d.campaign = 2026) ORDER BY id",
            [DEMO_ESAT_ID, caf],
        )
    ]


def file_certificat(store: Store, env: Settings, worker_id: int, key: str) -> declarations.Declaration:
    form = declarations.forms()[FORM_ID]
    return declarations.submit(store, env, account(store, DEMO_ESAT_LOGIN), worker_id, form, dict(VALID), key)


def lines(batch: handover.Batch) -> list[dict[str, Any]]:
    text = batch.jsonl.decode("utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def csv_rows(batch: handover.Batch) -> list[dict[str, str]]:
    assert batch.csv.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(batch.csv.decode("utf-8-sig"), newline=""), delimiter=";"))


def receipts(batch: handover.Batch) -> list[str]:
    return [line["receipt_number"] for line in lines(batch)]


def on(env: Settings, day: date) -> Settings:
    return dataclasses.replace(env, today=day)


def written(store: Store) -> dict[str, Any]:
    return {
        "batches": store.scalar("SELECT count(*) FROM export_batch"),
        "in_batch": store.scalar("SELECT count(*) FROM declaration WHERE export_batch_id IS NOT NULL"),
        "audit": store.scalar("SELECT count(*) FROM audit_log"),
    }


# -- what a line holds -----------------------------------------------------------------------


def test_a_filed_declaration_is_in_the_days_export_with_its_values_and_known_state(env, store):
    worker_id = free_workers(store, PILOT_CAF)[0]
    known = store.one("SELECT * FROM worker WHERE id = ?", [worker_id])
    decl = file_certificat(store, env, worker_id, "remise-1")
    stored = store.scalar("SELECT known_before FROM declaration WHERE id = ?", [decl.id])
    expected_known = {
        "double_activity": bool(known["double_activity"]),
        "double_activity_since": known["double_activity_since"].isoformat()
        if known["double_activity_since"]
        else None,
        "rate_esat": f"{known['rate_esat']:.2f}" if known["rate_esat"] is not None else None,
        "rate_mo": f"{known['rate_mo']:.2f}" if known["rate_mo"] is not None else None,
        "return_date": None,
        "status": "ACTIVE",
    }
    assert stored == json.dumps(expected_known, sort_keys=True, separators=(",", ":"))

    batch = handover.export_day(store, env, account(store, AGENT_LOGIN), TODAY)
    assert (batch.caf_code, batch.day) == (PILOT_CAF, TODAY)
    found = [line for line in lines(batch) if line["receipt_number"] == decl.receipt_number]
    assert len(found) == 1
    line = found[0]
    assert sorted(line) == sorted(KEYS) and sorted(line["worker"]) == sorted(WORKER_KEYS)
    assert sorted(line["known_before"]) == sorted(KNOWN_KEYS)
    assert line["values"] == TYPED
    assert line["known_before"] == expected_known
    assert line["verification_code"] == decl.verification_code
    assert line["worker"]["allocataire"] == known["allocataire"]
    assert line["worker"]["birth_date"] == known["birth_date"].isoformat()
    assert line["esat_id"] == DEMO_ESAT_ID
    assert line["esat_siret"] == store.scalar("SELECT siret FROM esat WHERE id = ?", [DEMO_ESAT_ID])
    assert (line["form_id"], line["form_version"], line["campaign"]) == (FORM_ID, decl.form_version, 2026)
    assert (line["schema_version"], line["batch_id"], line["caf_code"]) == (1, batch.id, PILOT_CAF)
    assert line["received_at"].endswith("Z") and line["received_at_paris"].endswith("+01:00")
    assert set(line["derived"]) == {"part_esat_pourcentage_smic", "tranche_abattement"}
    assert line["processed_at"] is None
    # Keys sorted on every line, one JSON object a line; the demo's older certificats have no known
    # state (its changes of situation have theirs).
    raw = batch.jsonl.decode("utf-8").splitlines()
    assert all(
        text == json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        for text in raw
    )
    unknown = sum(1 for x in lines(batch) if x["known_before"] is None)
    assert unknown == sum(1 for x in lines(batch) if x["campaign"] is not None) - 1
    # The CSV: one row per declaration, the same content, the JSON columns parse back.
    rows = csv_rows(batch)
    assert [r["numero_recepisse"] for r in rows] == receipts(batch)
    row = next(r for r in rows if r["numero_recepisse"] == decl.receipt_number)
    assert json.loads(row["valeurs"]) == TYPED and json.loads(row["connu_avant"]) == expected_known
    assert row["code_verification"] == decl.verification_code and row["caf"] == PILOT_CAF
    # Every declaration of the Caf filed before now is in it, in id order, and counted.
    ids = [x["declaration_id"] for x in lines(batch)]
    assert ids == sorted(ids)
    assert (
        len(ids)
        == batch.declarations
        == store.scalar("SELECT count(*) FROM declaration WHERE caf_code = ?", [PILOT_CAF])
    )
    assert handover.file_names(batch) == (
        f"remise-{PILOT_CAF}-2026-12-10-v1.csv",
        f"remise-{PILOT_CAF}-2026-12-10-v1.jsonl",
    )
    audit = store.all("SELECT * FROM audit_log WHERE action = 'handover_exported'")
    assert [a["object_ref"] for a in audit] == [f"lot:{batch.id}"]


def test_exporting_a_day_again_gives_the_same_bytes(env, store):
    agent = account(store, AGENT_LOGIN)
    workers = free_workers(store, PILOT_CAF)
    first_decl = file_certificat(store, env, workers[0], "remise-a")
    assert backoffice.mark_processed(store, env, agent, first_decl.id)  # processed before the export
    first = handover.export_day(store, env, agent, TODAY)
    mine = next(x for x in lines(first) if x["receipt_number"] == first_decl.receipt_number)
    assert mine["processed_at"] is not None and mine["processed_at"].endswith("Z")
    # What happens later changes nothing in the day's files: a processing, a new declaration.
    later = next(x for x in lines(first) if x["processed_at"] is None)
    assert backoffice.mark_processed(store, env, agent, later["declaration_id"])
    file_certificat(store, env, workers[1], "remise-b")
    again = handover.export_day(store, env, agent, TODAY)
    cli = handover.export_day_for_caf(store, env, PILOT_CAF, TODAY, None)
    assert again.csv == first.csv == cli.csv
    assert again.jsonl == first.jsonl == cli.jsonl
    assert (again.id, again.created_at, again.cutoff, again.declarations) == (
        first.id,
        first.created_at,
        first.cutoff,
        first.declarations,
    )
    assert store.scalar("SELECT count(*) FROM export_batch") == 1
    audit = store.all(
        "SELECT account_id, object_ref FROM audit_log WHERE action = 'handover_exported' ORDER BY id"
    )
    assert audit == [{"account_id": agent.id, "object_ref": f"lot:{first.id}"}] * 2 + [
        {"account_id": None, "object_ref": f"lot:{first.id}"}
    ]
    assert audit_trail.verify(store).ok


def test_a_declaration_filed_after_the_export_goes_in_the_next_days_batch(env, store):
    agent = account(store, AGENT_LOGIN)
    workers = free_workers(store, PILOT_CAF)
    before = file_certificat(store, env, workers[0], "avant")
    today = handover.export_day(store, env, agent, TODAY)
    after = file_certificat(store, env, workers[1], "apres")
    assert after.receipt_number not in receipts(handover.export_day(store, env, agent, TODAY))
    assert before.receipt_number in receipts(today) and after.receipt_number not in receipts(today)
    tomorrow = TODAY + timedelta(days=1)
    nxt = handover.export_day(store, on(env, tomorrow), agent, tomorrow)
    assert receipts(nxt) == [after.receipt_number]
    assert nxt.cutoff > today.cutoff and nxt.id != today.id
    assert store.scalar("SELECT export_batch_id FROM declaration WHERE id = ?", [after.id]) == nxt.id


def test_each_declaration_goes_in_exactly_one_batch_across_days(env, store):
    agent = account(store, AGENT_LOGIN)
    workers = free_workers(store, PILOT_CAF)
    days = [TODAY - timedelta(days=400), TODAY - timedelta(days=2), TODAY, TODAY + timedelta(days=1)]
    batches = []
    for i, day in enumerate(days):
        settings = on(env, day) if day > TODAY else env
        if day >= TODAY:
            file_certificat(store, settings, workers[i], f"jour-{i}")
        batches.append(handover.export_day(store, settings, agent, day))
    # An earlier day exported after a later one: allowed, and empty (the later batch took all).
    late = handover.export_day(store, env, agent, TODAY - timedelta(days=1))
    assert late.declarations == 0 and lines(late) == [] and len(csv_rows(late)) == 0
    seen = [r for b in [*batches, late] for r in receipts(b)]
    assert len(seen) == len(set(seen))
    assert set(seen) == {
        r["receipt_number"]
        for r in store.all("SELECT receipt_number FROM declaration WHERE caf_code = ?", [PILOT_CAF])
    }
    assert all(b.declarations > 0 for b in batches[:3]) and batches[3].declarations == 1
    oldest = min(r["received_at"] for r in lines(batches[1]))
    assert all(r["received_at"] < oldest for r in lines(batches[0]))
    assert (
        store.scalar(
            "SELECT count(*) FROM declaration WHERE caf_code = ? AND export_batch_id IS NULL", [PILOT_CAF]
        )
        == 0
    )
    assert sum(b.declarations for b in [*batches, late]) == len(seen)
    # Each batch's lines are still its own when exported again.
    for b in batches:
        assert handover.export_day_for_caf(store, on(env, days[-1]), PILOT_CAF, b.day, None).jsonl == b.jsonl


def test_another_cafs_declarations_never_appear(env, store):
    agent = account(store, AGENT_LOGIN)
    theirs = file_certificat(store, env, free_workers(store, NEIGHBOUR_CAF)[0], "voisine")
    mine = file_certificat(store, env, free_workers(store, PILOT_CAF)[0], "pilote")
    batch = handover.export_day(store, env, agent, TODAY)
    assert mine.receipt_number in receipts(batch) and theirs.receipt_number not in receipts(batch)
    assert {x["caf_code"] for x in lines(batch)} == {PILOT_CAF}
    assert {r["caf"] for r in csv_rows(batch)} == {PILOT_CAF}
    neighbour = handover.export_day_for_caf(store, env, NEIGHBOUR_CAF, TODAY, None)
    assert theirs.receipt_number in receipts(neighbour) and mine.receipt_number not in receipts(neighbour)
    assert {x["caf_code"] for x in lines(neighbour)} == {NEIGHBOUR_CAF}
    assert neighbour.id != batch.id


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("login", [DEMO_ESAT_LOGIN, REVIEWER_LOGIN, ADMIN_LOGIN])
def test_other_roles_are_refused_and_nothing_is_written(env, store, login):
    before = written(store)
    with pytest.raises(partner.NotAllowed):
        handover.export_day(store, env, account(store, login), TODAY)
    assert written(store) == before


def test_a_future_day_or_an_unknown_caf_is_refused_in_french(env, store):
    agent = account(store, AGENT_LOGIN)
    before = written(store)
    with pytest.raises(handover.Refused, match=r"11/12/2026 est dans le futur"):
        handover.export_day(store, env, agent, TODAY + timedelta(days=1))
    with pytest.raises(ValueError, match="Caf inconnue : 999"):
        handover.export_day_for_caf(store, env, "999", TODAY, None)
    with pytest.raises(handover.Refused, match="trop ancien"):
        handover.export_day_for_caf(store, env, PILOT_CAF, date(1, 1, 1), None)
    with pytest.raises(handover.Refused, match="Jour invalide"):
        handover.export_day_for_caf(store, env, PILOT_CAF, "2026-12-10", None)  # type: ignore[arg-type]
    assert written(store) == before


# -- safety of the CSV, concurrency ----------------------------------------------------------


def test_csv_cells_never_start_a_formula_and_the_jsonl_keeps_the_text(env, store):
    worker_id = free_workers(store, PILOT_CAF)[0]
    store.execute(
        "UPDATE worker SET last_name = ?, first_name = ? WHERE id = ?",
        ['=HYPERLINK("http://x.example")', "@SOMME(A1)", worker_id],
    )
    decl = file_certificat(store, env, worker_id, "formule")
    batch = handover.export_day(store, env, account(store, AGENT_LOGIN), TODAY)
    row = next(r for r in csv_rows(batch) if r["numero_recepisse"] == decl.receipt_number)
    assert row["nom"] == '\'=HYPERLINK("http://x.example")' and row["prenom"] == "'@SOMME(A1)"
    cells = [
        cell for r in csv.reader(io.StringIO(batch.csv.decode("utf-8-sig")), delimiter=";") for cell in r
    ]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    line = next(x for x in lines(batch) if x["receipt_number"] == decl.receipt_number)
    assert line["worker"]["last_name"] == '=HYPERLINK("http://x.example")'


def test_two_concurrent_exports_of_a_day_make_one_batch(env, store):
    agent = account(store, AGENT_LOGIN)
    file_certificat(store, env, free_workers(store, PILOT_CAF)[0], "course")
    n = 6
    barrier = threading.Barrier(n)
    results: list[handover.Batch | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = handover.export_day(store, env, agent, TODAY)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(r is not None for r in results)
    assert len({(r.id, r.csv, r.jsonl) for r in results if r}) == 1
    assert store.scalar("SELECT count(*) FROM export_batch") == 1
    batch_id = results[0].id if results[0] else None
    assert store.scalar("SELECT count(*) FROM declaration WHERE export_batch_id = ?", [batch_id]) == len(
        lines(results[0])  # type: ignore[arg-type]
    )
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'handover_exported'") == n


def test_the_schema_document_names_every_key_and_column():
    doc = (ROOT / "docs" / "handover.md").read_text(encoding="utf-8")
    for name, _ in handover.CSV_COLUMNS:
        assert f"| `{name}` |" in doc, name
    for key in KEYS:
        assert f"| `{key}` |" in doc, key
    for key in WORKER_KEYS:
        assert f"| `worker.{key}` |" in doc, key
    for key in KNOWN_KEYS:
        assert f"| `{key}` |" in doc, key
    assert "schema, Version 1" in doc and "export-declarations --day" in doc
