"""What the Caf knows of a worker is a timeline of declarations read "as of" a date (issue 12,
points 2, 3, 8 and 10): changes take effect on their date, the certificat reads the rate of
30 November, a justificatif never changes, and a rectificative declaration supersedes the first."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from data.store import Store
from rules import engine
from services import declarations, justificatifs, partner, timeline
from services.config import Settings
from tests.stores import known
from tests.test_services import account

MODIF = "modification_activite"


def on(env: Settings, day: date) -> Settings:
    return dataclasses.replace(env, today=day)


def fresh_worker(store: Store) -> int:
    """A new full-time worker of the demo ESAT (Caf 441), with no double activity and no declaration."""
    me = account(store)
    worker = store.scalar("SELECT max(id) + 1 FROM worker")
    store.execute(
        "INSERT INTO worker (id, esat_id, caf_code, allocataire, person_role, last_name, first_name, "
        "birth_date, rate_esat, double_activity, status) "
        "VALUES (?, ?, '441', ?, 'RESPONSABLE', 'TIMELINE', 'Test', DATE '1990-01-01', 100, FALSE, 'ACTIVE')",
        [worker, me.esat_id, f"{9000000 + worker}"],
    )
    return worker


def file(store, env, worker, form_id, payload, key, replaces=None):
    form = declarations.forms()[form_id]
    return declarations.submit(
        store, env, account(store), worker, form, dict(payload), key, replaces=replaces
    )


def change(day: str, before: str, after: str) -> dict:
    sens = "augmentation" if Decimal(after) > Decimal(before) else "reduction"
    return {
        "sens": sens,
        "date_changement": day,
        "taux_avant": before,
        "nouveau_taux": after,
        "certification": True,
    }


def departure(day: str) -> dict:
    return {"date_depart": day, "motif_depart": "demission"}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# -- point 8: changes take effect on their date -------------------------------------------------


def test_a_departure_filed_in_march_for_may_leaves_the_worker_active_until_then(env, store):
    worker = fresh_worker(store)
    march = on(env, date(2027, 3, 1))
    file(store, march, worker, "depart_esat", departure("31/05/2027"), "dep")
    assert known(store, worker, date(2027, 5, 30), "status") == {"status": "ACTIVE"}
    assert known(store, worker, date(2027, 5, 31), "status") == {"status": "LEFT"}
    # The worker row itself (the Caf's file) is not overwritten.
    assert store.scalar("SELECT status FROM worker WHERE id = ?", [worker]) == "ACTIVE"
    # A change dated before the departure can still be filed; one after it is refused.
    file(store, march, worker, MODIF, change("20/05/2027", "100", "80"), "before")
    with pytest.raises(declarations.Invalid) as refused:
        file(store, march, worker, MODIF, change("01/06/2027", "80", "60"), "after")
    assert "n'est plus en activité" in " ".join(i.message for i in refused.value.report.errors)
    assert store.scalar("SELECT count(*) FROM declaration WHERE worker_id = ?", [worker]) == 2


def test_a_change_dated_before_an_earlier_filed_one_is_placed_on_the_timeline(env, store):
    worker = fresh_worker(store)
    march = on(env, date(2027, 3, 20))
    file(store, march, worker, MODIF, change("15/03/2027", "100", "80"), "second")
    file(store, march, worker, MODIF, change("01/03/2027", "100", "90"), "first")
    assert known(store, worker, date(2027, 3, 1), "rate_esat") == {"rate_esat": Decimal("90.00")}
    assert known(store, worker, date(2027, 3, 15), "rate_esat") == {"rate_esat": Decimal("80.00")}
    # What the Caf knew before each change is read as of its own date.
    stored = {
        r["effective_date"]: json.loads(r["known_before"])["rate_esat"]
        for r in store.all(
            "SELECT effective_date, known_before FROM declaration WHERE worker_id = ?", [worker]
        )
    }
    assert stored == {date(2027, 3, 15): "100.00", date(2027, 3, 1): "100.00"}


def test_a_back_dated_change_that_breaks_a_later_one_is_refused(env, store):
    worker = fresh_worker(store)
    day = on(env, date(2027, 3, 20))
    debut = {
        "date_debut": "01/02/2027",
        "taux_esat_avant": "100",
        "taux_esat_apres": "60",
        "taux_milieu_ordinaire": "40",
    }
    file(store, day, worker, "debut_double_activite", debut, "debut")
    modif = {
        "date_modification": "15/03/2027",
        "taux_esat_avant": "60",
        "taux_esat_apres": "50",
        "certification": True,
    }
    file(store, day, worker, "modification_double_activite", modif, "modif")
    fin = {
        "date_fin": "01/03/2027",
        "taux_esat_avant": "60",
        "taux_mo_avant": "40",
        "taux_esat_apres": "60",
        "taux_mo_apres": "0",
    }
    with pytest.raises(declarations.Invalid) as refused:
        file(store, day, worker, "fin_double_activite", fin, "fin")
    text = " ".join(i.message for i in refused.value.report.errors)
    assert "15/03/2027" in text and "rectificatif" in text
    assert store.scalar("SELECT count(*) FROM declaration WHERE worker_id = ?", [worker]) == 2


# -- point 2: the certificat reads the rate of 30 November ----------------------------------------


def test_the_certificat_uses_the_rate_in_force_on_30_november(env, store):
    worker = fresh_worker(store)
    autumn = on(env, date(2026, 10, 15))
    file(store, autumn, worker, MODIF, change("01/11/2026", "100", "50"), "nov")
    file(store, autumn, worker, MODIF, change("01/12/2026", "50", "80"), "dec")  # after November
    assert known(store, worker, date(2026, 12, 10), "rate_esat") == {"rate_esat": Decimal("80.00")}
    form = declarations.forms()["certificat_emploi"]
    payload = certificat_payload(form)
    decl = file(store, env, worker, "certificat_emploi", payload, "cert")
    typed = engine.validate(form, payload, env.today).values
    ref = date(2026, 11, 30)
    at_50 = engine.derived(form, typed, ref, {"rate_esat": Decimal(50)})
    at_80 = engine.derived(form, typed, ref, {"rate_esat": Decimal(80)})
    assert at_50 != at_80
    assert {d["id"]: d["value"] for d in decl.derived} == at_50


def certificat_payload(form) -> dict:
    """Amounts that are valid for the certificat (whatever its labels): the suite's VALID ones."""
    from tests.test_services import VALID

    return {k: v for k, v in VALID.items() if any(f.id == k for f in form.fields)}


# -- point 3: a justificatif never changes ---------------------------------------------------------


def test_a_later_change_of_rate_leaves_an_earlier_certificat_unchanged(env, store):
    worker = fresh_worker(store)
    me = account(store)
    form = declarations.forms()["certificat_emploi"]
    decl = file(store, env, worker, "certificat_emploi", certificat_payload(form), "cert")
    before_pdf = pdf_text(justificatifs.receipt_pdf(store, env, me, decl.id))
    stored = store.scalar("SELECT derived FROM declaration WHERE id = ?", [decl.id])
    # A reduction dated in November, filed afterwards: the timeline as of 30/11 now says 50 %.
    file(store, env, worker, MODIF, change("15/11/2026", "100", "50"), "late-change")
    assert known(store, worker, date(2026, 11, 30), "rate_esat") == {"rate_esat": Decimal("50.00")}
    after_pdf = pdf_text(justificatifs.receipt_pdf(store, env, me, decl.id))
    assert after_pdf == before_pdf
    assert store.scalar("SELECT derived FROM declaration WHERE id = ?", [decl.id]) == stored
    assert declarations.get(store, me, decl.id).derived == json.loads(stored)


def test_a_certificat_filed_before_derived_values_were_stored_reads_november_in_pdf_and_hand_over(env, store):
    """Filed before migration 009 (no stored derived values): its justificatif and its line in the
    hand-over compute them the same way, with the rate of 30 November from the timeline."""
    from data.demo import AGENT_LOGIN
    from services import handover
    from tests.test_handover import account as login_account

    worker = fresh_worker(store)
    me = account(store)
    form = declarations.forms()["certificat_emploi"]
    decl = file(store, env, worker, "certificat_emploi", certificat_payload(form), "cert")
    full_time = {d["id"]: d["value"] for d in declarations.get(store, me, decl.id).derived}
    store.execute("UPDATE declaration SET derived = NULL WHERE id = ?", [decl.id])
    # A reduction dated in November, filed afterwards: on 30/11 the worker was at 50 %.
    file(store, env, worker, MODIF, change("15/11/2026", "100", "50"), "november")
    legacy = declarations.get(store, me, decl.id)
    expected = declarations.stored_derived(store, legacy, form, partner.get_worker(store, me, worker))
    assert expected != full_time  # the ESAT part is now a share of a half-time SMIC
    batch = handover.export_day(store, env, login_account(store, AGENT_LOGIN), env.today)
    line = next(json.loads(x) for x in batch.jsonl.splitlines() if json.loads(x)["declaration_id"] == decl.id)
    assert line["derived"] == expected
    text = pdf_text(justificatifs.receipt_pdf(store, env, me, decl.id))
    assert all(value in text for value in expected.values())


# -- point 10: corrections ----------------------------------------------------------------------


def test_a_certificat_is_corrected_by_a_rectificatif_that_supersedes_it(env, store):
    worker = fresh_worker(store)
    me = account(store)
    form = declarations.forms()["certificat_emploi"]
    payload = certificat_payload(form)
    first = file(store, env, worker, "certificat_emploi", payload, "cert")
    corrected = dict(payload, remuneration_garantie="1 101,50")
    second = file(store, env, worker, "certificat_emploi", corrected, "rectif", replaces=first.id)
    rows = store.all(
        "SELECT id, replaces_id, superseded_by, superseded_at IS NOT NULL AS superseded FROM declaration "
        "WHERE worker_id = ? ORDER BY id",
        [worker],
    )
    assert rows == [
        {"id": first.id, "replaces_id": None, "superseded_by": second.id, "superseded": True},
        {"id": second.id, "replaces_id": first.id, "superseded_by": None, "superseded": False},
    ]
    text = pdf_text(justificatifs.receipt_pdf(store, env, me, second.id))
    assert "Rectificatif" in text and first.receipt_number in text
    assert "Rectificatif" not in pdf_text(justificatifs.receipt_pdf(store, env, me, first.id))
    # The certificat in force is the correction: a new plain filing points to it.
    with pytest.raises(declarations.AlreadyDeclared) as again:
        file(store, env, worker, "certificat_emploi", payload, "third")
    assert again.value.existing.id == second.id
    # The first one cannot be corrected twice.
    with pytest.raises(declarations.Invalid) as twice:
        file(store, env, worker, "certificat_emploi", corrected, "rectif-2", replaces=first.id)
    assert "déjà été rectifiée" in twice.value.report.errors[0].message
    items = partner.history(store, me, worker, env.today)
    assert {i.receipt_number: (i.replaces_id, i.superseded_at is not None) for i in items} == {
        first.receipt_number: (None, True),
        second.receipt_number: (first.id, False),
    }


def test_concurrent_corrections_of_one_declaration_file_one_rectificatif(env, store):
    from tests.test_services import run_threads

    worker = fresh_worker(store)
    form = declarations.forms()["certificat_emploi"]
    payload = certificat_payload(form)
    first = file(store, env, worker, "certificat_emploi", payload, "cert")
    corrected = dict(payload, remuneration_garantie="1 101,50")
    results, errors = run_threads(
        lambda i: file(store, env, worker, "certificat_emploi", corrected, f"rectif-{i}", replaces=first.id),
        6,
    )
    assert [type(e) for e in errors] == [declarations.Invalid] * 5
    assert len([r for r in results if r is not None]) == 1
    assert store.scalar("SELECT count(*) FROM declaration WHERE replaces_id = ?", [first.id]) == 1


def test_a_certificat_cannot_be_corrected_once_its_campaign_is_closed(env, store):
    worker = fresh_worker(store)
    form = declarations.forms()["certificat_emploi"]
    first = file(store, env, worker, "certificat_emploi", certificat_payload(form), "cert")
    march = on(env, date(2027, 3, 1))
    assert declarations.correction_refusals(store, march, account(store), first.id)
    with pytest.raises(declarations.Invalid):
        file(store, march, worker, "certificat_emploi", certificat_payload(form), "late", replaces=first.id)
    assert store.scalar("SELECT count(*) FROM declaration WHERE worker_id = ?", [worker]) == 1


def test_a_corrected_departure_moves_on_the_timeline(env, store):
    worker = fresh_worker(store)
    first = file(store, env, worker, "depart_esat", departure("15/12/2026"), "dep")
    file(store, env, worker, "depart_esat", departure("31/12/2026"), "dep-fix", replaces=first.id)
    assert known(store, worker, date(2026, 12, 20), "status") == {"status": "ACTIVE"}
    assert known(store, worker, date(2026, 12, 31), "status") == {"status": "LEFT"}
    # Too old to correct: more than the change window before today.
    later = on(env, date(2029, 6, 1))
    second = store.scalar("SELECT id FROM declaration WHERE replaces_id = ?", [first.id])
    assert declarations.correction_refusals(store, later, account(store), second)


def test_a_correction_of_another_workers_declaration_is_refused(env, store):
    worker = fresh_worker(store)
    other = store.scalar(
        "SELECT min(id) FROM worker WHERE esat_id = ? AND id > ? AND status = 'ACTIVE'",
        [account(store).esat_id, worker],
    )
    first = file(store, env, worker, "depart_esat", departure("15/12/2026"), "dep")
    with pytest.raises(partner.NotAllowed):
        file(store, env, other, "depart_esat", departure("20/12/2026"), "x", replaces=first.id)
    assert store.scalar("SELECT superseded_at FROM declaration WHERE id = ?", [first.id]) is None


def test_the_fold_reads_a_parental_leave_until_its_return_date():
    base = dict.fromkeys(timeline.STATE) | {"status": "ACTIVE", "double_activity": False}
    leave = timeline.Event(
        1, "depart_esat", date(2027, 1, 1), {"status": "ON_LEAVE", "return_date": date(2027, 6, 1)}
    )
    assert timeline.fold(base, [leave], date(2026, 12, 31))["status"] == "ACTIVE"
    assert timeline.fold(base, [leave], date(2027, 5, 31))["status"] == "ON_LEAVE"
    assert timeline.fold(base, [leave], date(2027, 6, 1))["status"] == "ACTIVE"


def test_a_worker_who_left_can_still_get_a_change_dated_before_the_departure(env, store):
    worker = fresh_worker(store)
    me = account(store)
    form = declarations.forms()[MODIF]
    file(store, on(env, date(2026, 11, 20)), worker, "depart_esat", departure("01/12/2026"), "dep")
    assert known(store, worker, env.today, "status") == {"status": "LEFT"}
    assert declarations.refusals(store, env, me, worker, form) == []  # the type can be chosen
    file(store, env, worker, MODIF, change("15/11/2026", "100", "80"), "nov")
    with pytest.raises(declarations.Invalid):
        file(store, env, worker, MODIF, change("05/12/2026", "80", "60"), "dec")
    # A worker the Caf's file says has left, with no date, gets no change at all.
    gone = fresh_worker(store)
    store.execute("UPDATE worker SET status = 'LEFT' WHERE id = ?", [gone])
    assert declarations.refusals(store, env, me, gone, form)


# -- upgrade: declarations filed before the timeline keep what they changed --------------------


def test_migration_009_keeps_what_declarations_filed_before_it_changed(tmp_path, monkeypatch):
    """Under migration 008 a filing overwrote the worker row and stored only ``known_before``.
    After 009 the worker row is the baseline again and each old change is on the timeline."""
    import shutil

    import data.store
    from tests import stores

    before = tmp_path / "migrations-008"
    before.mkdir()
    for path in sorted(data.store.MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
        if int(path.name[:3]) <= 8:
            shutil.copy(path, before / path.name)
    url = stores.empty(tmp_path)
    monkeypatch.setattr(data.store, "MIGRATIONS", before)
    old = Store(url)
    old.execute(
        "INSERT INTO worker (id, esat_id, caf_code, allocataire, person_role, last_name, first_name, "
        "birth_date, rate_esat, double_activity, status) "
        "VALUES (1, 1, '441', '9900001', 'RESPONSABLE', 'AVANT', 'Migration', DATE '1990-01-01', 60, FALSE, 'LEFT')"
    )
    filed = [  # id, form, date of effect, what the Caf knew before it (as 008 stored it)
        (1, MODIF, date(2026, 3, 1), "100.00", "ACTIVE"),
        (2, "certificat_emploi", None, "80.00", "ACTIVE"),
        (3, MODIF, date(2026, 6, 1), "80.00", "ACTIVE"),
        (4, "depart_esat", date(2026, 9, 30), "60.00", "ACTIVE"),
    ]
    for ident, form_id, effective, rate, status in filed:
        before_it = json.dumps(
            {
                "double_activity": False,
                "double_activity_since": None,
                "rate_esat": rate,
                "rate_mo": None,
                "return_date": None,
                "status": status,
            }
        )
        old.execute(
            "INSERT INTO declaration (id, receipt_number, form_id, form_version, worker_id, esat_id, caf_code, "
            "author_id, idempotency_key, received_at, verification_code, effective_date, known_before) "
            "VALUES (?, ?, ?, 1, 1, 1, '441', 1, ?, TIMESTAMP '2026-10-01 10:00:00', 'x', ?, ?)",
            [ident, f"R{ident}", form_id, f"k{ident}", effective, before_it],
        )
    old.close()
    monkeypatch.undo()

    new = Store(url)
    try:
        assert new.one("SELECT rate_esat, status FROM worker WHERE id = 1") == {
            "rate_esat": Decimal("100.00"),
            "status": "ACTIVE",
        }
        state = {day: timeline.known_state(new, 1, day) for day in (date(2026, 2, 1), date(2026, 4, 1))}
        assert state[date(2026, 2, 1)]["rate_esat"] == Decimal("100.00")
        assert state[date(2026, 4, 1)]["rate_esat"] == Decimal("80.00")
        assert known(new, 1, date(2026, 7, 1), "rate_esat", "status") == {
            "rate_esat": Decimal("60.00"),
            "status": "ACTIVE",
        }
        assert known(new, 1, date(2026, 9, 30), "status") == {"status": "LEFT"}
    finally:
        new.close()
        stores.drop(url)
