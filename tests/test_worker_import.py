"""The worker file imported from the Caf's system (services/worker_import.py, docs/worker-file.md).

Real stores only (an empty store with the Caf and its ESATs, or a copy of the demo): a dry run
writes nothing, an apply writes everything in one transaction or nothing, re-importing the same
file changes nothing, and every hostile file is refused with a French message.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula
from stdnum import luhn
from stdnum.fr import siret as stdnum_siret

from data.store import Store
from services import partner, worker_import
from services.accounts import Account
from services.config import ROOT

SAMPLE = ROOT / "data" / "samples" / "travailleurs_exemple.csv"
SIRET = "99900001100018"  # the ESAT of the sample (registered by the pilot walkthrough)
HEADER = list(worker_import.COLUMNS)
ADMIN = Account(9001, "admin@example.org", "admin@example.org", "admin", None, "441", "Administrateur")
CANARY_NAME = "Canariwxq"  # must never appear in a message
TODAY = date(2026, 12, 10)


def make_siret(n: int) -> str:
    siren = f"99800{n:03d}"
    siren += luhn.calc_check_digit(siren)
    body = siren + "0001"
    return body + luhn.calc_check_digit(body)


NEIGHBOUR_SIRET = make_siret(1)  # an ESAT attached to the Caf 491
OTHER_SIRET = make_siret(2)  # a second ESAT of the Caf 441


def add_admin(store: Store) -> None:
    """The administrator of the tests, as create-admin writes it (the services check its row)."""
    store.execute(
        "INSERT INTO account (id, login, email, password_hash, role, caf_code, display_name, created_at) "
        "VALUES (?, ?, ?, 'x', 'admin', '441', 'Administrateur', current_timestamp)",
        [ADMIN.id, ADMIN.login, ADMIN.email],
    )


@pytest.fixture
def pilot(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An empty store with the Caf 441 (and 491) and three ESATs, as the pilot walkthrough makes it."""
    monkeypatch.setenv("ESAT_TODAY", TODAY.isoformat())
    monkeypatch.setenv("ESAT_SECRET", "test-secret")
    store = Store(empty_db)
    store.execute("INSERT INTO caf VALUES ('441', 'Caf de Loire-Atlantique')")
    store.execute("INSERT INTO caf VALUES ('491', 'Caf de Maine-et-Loire')")
    for esat_id, siret, caf in ((1, SIRET, "441"), (2, NEIGHBOUR_SIRET, "491"), (3, OTHER_SIRET, "441")):
        store.execute(
            "INSERT INTO esat (id, legal_name, siret, caf_code) VALUES (?, ?, ?, ?)",
            [esat_id, f"ESAT {esat_id}", siret, caf],
        )
    add_admin(store)
    yield store
    store.close()


def row(**values: Any) -> dict[str, Any]:
    base = {
        "numero_allocataire": "9900001",
        "personne": "RESPONSABLE",
        "nom": "Martin",
        "prenom": "Camille",
        "date_naissance": "14/03/1985",
        "siret_esat": SIRET,
        "taux_activite_esat": "80",
        "double_activite": "non",
        "date_debut_double_activite": "",
        "taux_milieu_ordinaire": "",
        "statut": "ACTIF",
    }
    return base | values


def csv_bytes(
    rows: list[dict[str, Any]], sep: str = ";", encoding: str = "utf-8", header: list[str] | None = None
) -> bytes:
    header = header or HEADER
    lines = [sep.join(header)] + [sep.join(str(r.get(c, "")) for c in HEADER) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(
    rows: list[list[Any]], header: list[Any] | None = None, formats: dict[str, str] | None = None
) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header or HEADER)
    for values in rows:
        sheet.append(values)
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_row(**values: Any) -> list[Any]:
    return [row(**values)[c] for c in HEADER]


def workers(store: Store) -> list[dict[str, Any]]:
    return store.all("SELECT * FROM worker ORDER BY id")


def audit_rows(store: Store) -> list[dict[str, Any]]:
    return store.all("SELECT account_id, action, object_ref FROM audit_log ORDER BY id")


def check(store: Store, data: bytes, name: str = "travailleurs.csv") -> worker_import.ImportReport:
    return worker_import.dry_run(store, ADMIN, data, name)


def messages(report: worker_import.ImportReport) -> list[tuple[int | None, str | None, str]]:
    return [(p.line, p.column, p.message) for p in report.problems]


def only_problem(report: worker_import.ImportReport) -> worker_import.Problem:
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


# -- the sample file ---------------------------------------------------------------------------


def test_the_sample_file_is_checked_then_imported_and_stored_as_typed(pilot: Store) -> None:
    data = SAMPLE.read_bytes()
    checked = worker_import.dry_run(pilot, ADMIN, data, SAMPLE.name)
    assert (checked.rows, checked.new, checked.changed, checked.unchanged, checked.absent) == (3, 3, 0, 0, 0)
    assert checked.ok and not checked.applied
    assert workers(pilot) == [] and audit_rows(pilot) == []  # a dry run writes nothing

    applied = worker_import.apply(pilot, ADMIN, data, SAMPLE.name)
    assert applied.applied and applied.ok and applied.new == 3
    stored = {(w["allocataire"], w["person_role"]): w for w in workers(pilot)}
    assert set(stored) == {("9900101", "RESPONSABLE"), ("9900101", "CONJOINT"), ("9900102", "RESPONSABLE")}
    assert all(
        w["caf_code"] == "441" and w["esat_id"] == 1 and w["status"] == "ACTIVE" for w in stored.values()
    )
    assert all(w["allocataire"].startswith("99") and w["absent_since"] is None for w in stored.values())
    assert all(w["imported_at"] is not None for w in stored.values())
    couple = stored[("9900101", "RESPONSABLE")]
    assert (couple["last_name"], couple["first_name"], couple["birth_date"]) == (
        "EXEMPLE",
        "Camille",
        date(1985, 3, 14),
    )
    assert (
        couple["rate_esat"] == Decimal("80.00")
        and couple["rate_mo"] is None
        and not couple["double_activity"]
    )
    double = stored[("9900102", "RESPONSABLE")]
    assert double["double_activity"] and double["double_activity_since"] == date(2025, 9, 1)
    assert (double["rate_esat"], double["rate_mo"]) == (Decimal("62.50"), Decimal("30.00"))
    assert audit_rows(pilot) == [
        {"account_id": ADMIN.id, "action": "workers_imported", "object_ref": "caf:441:lignes:3"}
    ]


def test_importing_the_same_file_again_changes_nothing(pilot: Store) -> None:
    data = SAMPLE.read_bytes()
    worker_import.apply(pilot, ADMIN, data, SAMPLE.name)
    before = workers(pilot)
    again = worker_import.apply(pilot, ADMIN, data, SAMPLE.name)
    assert (again.new, again.changed, again.unchanged, again.absent) == (0, 0, 3, 0)
    assert workers(pilot) == before  # not even imported_at moved


# -- who may import ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["esat", "agent", "relecteur"])
def test_only_a_caf_administrator_may_import(pilot: Store, role: str) -> None:
    other = Account(9002, "x@example.org", "x@example.org", role, 1 if role == "esat" else None, "441", "X")
    data = SAMPLE.read_bytes()
    with pytest.raises(partner.NotAllowed):
        worker_import.dry_run(pilot, other, data, SAMPLE.name)
    with pytest.raises(partner.NotAllowed):
        worker_import.apply(pilot, other, data, SAMPLE.name)
    assert workers(pilot) == []


def test_every_row_goes_to_the_administrators_caf_and_an_unknown_caf_is_refused(pilot: Store) -> None:
    data = csv_bytes([row()])
    worker_import.apply_for_caf(pilot, "491", data, "t.csv", None)
    assert [w["caf_code"] for w in workers(pilot)] == ["491"]
    assert audit_rows(pilot)[-1] == {
        "account_id": None,
        "action": "workers_imported",
        "object_ref": "caf:491:lignes:1",
    }
    refused = worker_import.apply_for_caf(pilot, "999", data, "t.csv", None)
    assert not refused.applied and "La Caf « 999 » n'est pas enregistrée." in only_problem(refused).message
    assert len(workers(pilot)) == 1


# -- apply: new, changed, unchanged, absent ------------------------------------------------------


def test_changed_workers_are_updated_unchanged_untouched_absent_flagged_never_deleted(pilot: Store) -> None:
    first = [
        row(numero_allocataire="9900001"),
        row(numero_allocataire="9900002", nom="Durand"),
        row(numero_allocataire="9900003", nom="Petit"),
    ]
    worker_import.apply(pilot, ADMIN, csv_bytes(first), "t.csv")
    before = {w["allocataire"]: w for w in workers(pilot)}
    second = [
        row(numero_allocataire="9900001"),  # unchanged
        row(
            numero_allocataire="9900002",
            nom="Durand-Legrand",
            siret_esat=NEIGHBOUR_SIRET,  # an ESAT of the neighbouring Caf may employ this Caf's allocataire
            taux_activite_esat="50",
            double_activite="oui",
            date_debut_double_activite="2026-01-05",
            taux_milieu_ordinaire="40,5",
            statut="conge",
        ),
        row(numero_allocataire="9900004", personne="Conjoint"),  # new
    ]
    report = worker_import.dry_run(pilot, ADMIN, csv_bytes(second), "t.csv")
    assert (report.rows, report.new, report.changed, report.unchanged, report.absent) == (3, 1, 1, 1, 1)
    assert {w["allocataire"]: w for w in workers(pilot)} == before  # the dry run wrote nothing

    applied = worker_import.apply(pilot, ADMIN, csv_bytes(second), "t.csv")
    assert applied.applied and (applied.new, applied.changed, applied.unchanged, applied.absent) == (
        1,
        1,
        1,
        1,
    )
    after = {(w["allocataire"], w["person_role"]): w for w in workers(pilot)}
    assert len(after) == 4  # nothing deleted
    assert after[("9900001", "RESPONSABLE")] == before["9900001"]  # not touched at all
    moved = after[("9900002", "RESPONSABLE")]
    assert moved["id"] == before["9900002"]["id"]
    assert (moved["last_name"], moved["esat_id"], moved["status"]) == ("DURAND-LEGRAND", 2, "ON_LEAVE")
    assert (moved["rate_esat"], moved["rate_mo"]) == (Decimal("50.00"), Decimal("40.50"))
    assert moved["double_activity"] and moved["double_activity_since"] == date(2026, 1, 5)
    assert moved["imported_at"] > before["9900002"]["imported_at"]
    gone = after[("9900003", "RESPONSABLE")]
    assert gone["absent_since"] is not None and gone["last_name"] == "PETIT"
    assert after[("9900004", "CONJOINT")]["id"] == max(w["id"] for w in before.values()) + 1

    # Absent again: the first date stays. Back in the file: absent_since is cleared.
    flagged_at = gone["absent_since"]
    worker_import.apply(pilot, ADMIN, csv_bytes(second), "t.csv")
    assert (
        pilot.one("SELECT absent_since FROM worker WHERE id = ?", [gone["id"]])["absent_since"] == flagged_at
    )
    back = worker_import.apply(pilot, ADMIN, csv_bytes([*second, first[2]]), "t.csv")
    assert (back.changed, back.absent) == (1, 0)
    assert pilot.one("SELECT absent_since FROM worker WHERE id = ?", [gone["id"]])["absent_since"] is None


def test_a_worker_moved_to_another_esat_keeps_its_declarations(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESAT_TODAY", TODAY.isoformat())
    store = Store(demo_db)
    add_admin(store)
    try:
        rows = store.all(
            "SELECT w.*, e.siret FROM worker w JOIN esat e ON e.id = w.esat_id WHERE w.caf_code = '441' ORDER BY w.id"
        )
        mover = store.one(
            "SELECT worker_id, count(*) AS n FROM declaration WHERE caf_code = '441' "
            "GROUP BY worker_id ORDER BY count(*) DESC, worker_id LIMIT 1"
        )
        assert rows and mover is not None and mover["n"] > 0
        target = store.one(
            "SELECT id, siret FROM esat WHERE id <> (SELECT esat_id FROM worker WHERE id = ?) ORDER BY id LIMIT 1",
            [mover["worker_id"]],
        )
        declarations = store.all(
            "SELECT * FROM declaration WHERE worker_id = ? ORDER BY id", [mover["worker_id"]]
        )

        def line(w: dict[str, Any]) -> dict[str, Any]:
            return row(
                numero_allocataire=w["allocataire"],
                personne=w["person_role"],
                nom=w["last_name"],
                prenom=w["first_name"],
                date_naissance=w["birth_date"].strftime("%d/%m/%Y"),
                siret_esat=target["siret"] if w["id"] == mover["worker_id"] else w["siret"],
                taux_activite_esat=str(w["rate_esat"] or 100).replace(".", ","),
                double_activite="oui" if w["double_activity"] else "non",
                date_debut_double_activite=w["double_activity_since"].isoformat()
                if w["double_activity"]
                else "",
                taux_milieu_ordinaire=str(w["rate_mo"]) if w["double_activity"] else "",
                statut={"ACTIVE": "ACTIF", "LEFT": "PARTI", "ON_LEAVE": "CONGE"}[w["status"]],
            )

        data = csv_bytes([line(w) for w in rows])
        report = worker_import.apply(store, ADMIN, data, "demo.csv")
        assert report.applied, report.problems[:5]
        assert report.new == 0 and report.absent == 0 and report.changed >= 1
        moved = store.one("SELECT id, esat_id FROM worker WHERE id = ?", [mover["worker_id"]])
        assert moved == {"id": mover["worker_id"], "esat_id": target["id"]}
        assert (
            store.all("SELECT * FROM declaration WHERE worker_id = ? ORDER BY id", [mover["worker_id"]])
            == declarations
        )
        again = worker_import.apply(store, ADMIN, data, "demo.csv")
        assert (again.new, again.changed, again.unchanged) == (0, 0, len(rows))
    finally:
        store.close()


def test_any_problem_means_nothing_is_written(pilot: Store) -> None:
    worker_import.apply(pilot, ADMIN, csv_bytes([row()]), "t.csv")
    before, trail = workers(pilot), audit_rows(pilot)
    data = csv_bytes([row(nom="Changé"), row(numero_allocataire="9900002"), row(numero_allocataire="12")])
    report = worker_import.apply(pilot, ADMIN, data, "t.csv")
    assert not report.applied and not report.ok
    assert messages(report) == [
        (4, "numero_allocataire", "Le numéro d'allocataire doit compter exactement 7 chiffres.")
    ]
    assert (report.new, report.changed) == (1, 1)  # what it would have done
    assert workers(pilot) == before and audit_rows(pilot) == trail


# -- formats of the values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "sep"),
    [
        ("utf-8", ";"),
        ("utf-8-sig", ";"),
        ("cp1252", ";"),
        ("utf-8", ","),
        ("cp1252", ","),
        ("utf-8-sig", "\t"),
        ("utf-16", "\t"),
    ],
)
def test_encodings_and_separators(pilot: Store, encoding: str, sep: str) -> None:
    rows = [
        row(nom="Lefèvre-Œuvray", prenom="Zoé", taux_activite_esat="62.5" if sep == "," else "62,5"),
        row(numero_allocataire="9900002", nom="Ça va", prenom="Anaïs"),
    ]
    header = ["Numéro allocataire", "PERSONNE", "Nom", "Prénom", "Date-Naissance", "SIRET ESAT", "taux_activité_ESAT",
              "Double activité", "date début double activité", "Taux milieu ordinaire", "Statut"]  # fmt: skip
    report = worker_import.apply(pilot, ADMIN, csv_bytes(rows, sep, encoding, header), "t.csv")
    assert report.applied, report.problems
    names = [(w["last_name"], w["first_name"], w["rate_esat"]) for w in workers(pilot)]
    assert names == [("LEFÈVRE-ŒUVRAY", "Zoé", Decimal("62.50")), ("ÇA VA", "Anaïs", Decimal("80.00"))]


def test_values_are_normalised(pilot: Store) -> None:
    rows = [
        row(numero_allocataire="  0123456 ", personne="responsable du dossier", taux_activite_esat="80,5 %",
            siret_esat="999 000 011 00018", date_naissance="1985-03-14", statut=""),
        row(numero_allocataire="9900002.0", personne="conjoint", double_activite="O", date_debut_double_activite="01/09/2025",
            taux_milieu_ordinaire="20", taux_activite_esat="80", statut="Congé"),
        row(numero_allocataire="9900003", double_activite="0", statut="parti", date_naissance="31048"),  # Excel serial
    ]  # fmt: skip
    report = worker_import.apply(pilot, ADMIN, csv_bytes(rows), "t.csv")
    assert report.applied, report.problems
    got = [(w["allocataire"], w["person_role"], w["rate_esat"], w["status"], w["birth_date"], w["double_activity"])
           for w in workers(pilot)]  # fmt: skip
    assert got == [
        ("0123456", "RESPONSABLE", Decimal("80.50"), "ACTIVE", date(1985, 3, 14), False),
        ("9900002", "CONJOINT", Decimal("80.00"), "ON_LEAVE", date(1985, 3, 14), True),
        ("9900003", "RESPONSABLE", Decimal("80.00"), "LEFT", date(1985, 1, 1), False),
    ]


@pytest.mark.parametrize(
    ("values", "column", "message"),
    [
        ({"numero_allocataire": ""}, "numero_allocataire", "Le numéro d'allocataire est obligatoire."),
        ({"numero_allocataire": "990001"}, "numero_allocataire", "exactement 7 chiffres"),
        ({"numero_allocataire": "99000011"}, "numero_allocataire", "exactement 7 chiffres"),
        ({"numero_allocataire": "=1+1"}, "numero_allocataire", "exactement 7 chiffres"),
        ({"personne": "enfant"}, "personne", "RESPONSABLE ou CONJOINT"),
        ({"nom": ""}, "nom", "Le nom est obligatoire."),
        ({"nom": "x" * 101}, "nom", "Le nom dépasse 100 caractères."),
        ({"prenom": "Zo\u202ee"}, "prenom", "caractère de contrôle ou invisible"),
        ({"prenom": "Zo\x07e"}, "prenom", "caractère de contrôle ou invisible"),
        ({"nom": '=HYPERLINK("http://evil.example")'}, "nom", "ne peut pas commencer par =, +, - ou @"),
        ({"nom": "@SUM(A1)"}, "nom", "ne peut pas commencer par"),
        ({"nom": "+33600000000"}, "nom", "ne peut pas commencer par"),
        ({"date_naissance": ""}, "date_naissance", "La date de naissance est obligatoire."),
        ({"date_naissance": "14.03.1985"}, "date_naissance", "JJ/MM/AAAA ou AAAA-MM-JJ"),
        ({"date_naissance": "31/02/1985"}, "date_naissance", "n'existe pas"),
        ({"date_naissance": "01/01/2999"}, "date_naissance", "ne peut pas être dans le futur"),
        ({"date_naissance": "31/12/1899"}, "date_naissance", "antérieure au 01/01/1900"),
        ({"siret_esat": ""}, "siret_esat", "Le SIRET de l'ESAT est obligatoire."),
        ({"siret_esat": "9990000110001"}, "siret_esat", "14 chiffres"),
        ({"siret_esat": "99900001100019"}, "siret_esat", "clé de contrôle"),
        ({"siret_esat": make_siret(7)}, "siret_esat", "Aucun ESAT enregistré ne porte ce SIRET"),
        ({"taux_activite_esat": ""}, "taux_activite_esat", "Le taux d'activité en ESAT est obligatoire."),
        ({"taux_activite_esat": "0"}, "taux_activite_esat", "supérieur à 0 % et au plus égal à 100 %"),
        ({"taux_activite_esat": "100,01"}, "taux_activite_esat", "supérieur à 0 % et au plus égal à 100 %"),
        ({"taux_activite_esat": "-5"}, "taux_activite_esat", "doit être un nombre"),
        ({"taux_activite_esat": "quatre-vingts"}, "taux_activite_esat", "doit être un nombre"),
        ({"taux_activite_esat": "62,555"}, "taux_activite_esat", "au plus 2 décimales"),
        ({"double_activite": "peut-être"}, "double_activite", "oui ou non"),
        (
            {"double_activite": "oui", "taux_milieu_ordinaire": "20"},
            "date_debut_double_activite",
            "obligatoire quand double_activite vaut oui",
        ),
        (
            {"double_activite": "oui", "date_debut_double_activite": "01/09/2025"},
            "taux_milieu_ordinaire",
            "obligatoire quand double_activite vaut oui",
        ),
        (
            {
                "double_activite": "oui",
                "date_debut_double_activite": "01/09/2025",
                "taux_milieu_ordinaire": "100",
            },
            "taux_milieu_ordinaire",
            "supérieur à 0 % et inférieur à 100 %",
        ),
        (
            {
                "double_activite": "oui",
                "date_debut_double_activite": "01/09/2025",
                "taux_milieu_ordinaire": "20,5",
            },
            "taux_milieu_ordinaire",
            "dépassent 100 % à eux deux",
        ),
        ({"date_debut_double_activite": "01/09/2025"}, "date_debut_double_activite", "doit rester vide"),
        ({"taux_milieu_ordinaire": "20"}, "taux_milieu_ordinaire", "doit rester vide"),
        ({"statut": "RETRAITE"}, "statut", "ACTIF, PARTI ou CONGE"),
    ],
)
def test_each_bad_value_is_one_french_problem_on_its_line_and_column(
    pilot: Store, values: dict[str, str], column: str, message: str
) -> None:
    bad = row(numero_allocataire="9900002", prenom=CANARY_NAME) | values
    report = worker_import.apply(pilot, ADMIN, csv_bytes([row(), bad]), "t.csv")
    problem = only_problem(report)
    assert (problem.line, problem.column) == (3, column) and message in problem.message, problem
    assert not report.applied and workers(pilot) == []
    # The messages never repeat a cell's value (the command line prints them).
    assert CANARY_NAME not in problem.message and "9900002" not in problem.message
    assert "HYPERLINK" not in problem.message and "evil" not in problem.message


def test_a_zero_milieu_ordinaire_rate_without_double_activity_is_accepted(pilot: Store) -> None:
    report = worker_import.apply(pilot, ADMIN, csv_bytes([row(taux_milieu_ordinaire="0")]), "t.csv")
    assert report.applied and workers(pilot)[0]["rate_mo"] is None


def test_several_problems_of_one_line_are_all_reported_in_column_order(pilot: Store) -> None:
    bad = row(numero_allocataire="abc", date_naissance="demain", statut="?")
    report = check(pilot, csv_bytes([bad]))
    assert [(p.line, p.column) for p in report.problems] == [
        (2, "numero_allocataire"),
        (2, "date_naissance"),
        (2, "statut"),
    ]


def test_a_duplicated_worker_is_refused_on_the_later_line_naming_the_first(pilot: Store) -> None:
    rows = [row(), row(numero_allocataire="9900002"), row(nom="Autre"), row(personne="CONJOINT")]
    report = check(pilot, csv_bytes(rows))
    assert messages(report) == [
        (
            4,
            "numero_allocataire",
            "Ce travailleur figure déjà à la ligne 2 (même numéro d'allocataire et même personne).",
        )
    ]


def test_empty_lines_are_skipped_and_line_numbers_stay_those_of_the_spreadsheet(pilot: Store) -> None:
    text = (
        csv_bytes([row()]).decode()
        + ";;;;;;;;;;\r\n\r\n"
        + csv_bytes([row(numero_allocataire="1")]).decode().split("\r\n", 1)[1]
    )
    report = check(pilot, text.encode())
    assert report.rows == 2 and [(p.line, p.column) for p in report.problems] == [(5, "numero_allocataire")]


def test_extra_values_beyond_the_header_are_a_problem(pilot: Store) -> None:
    text = csv_bytes([row()]).decode().rstrip("\r\n") + ";en trop\r\n"
    assert messages(check(pilot, text.encode())) == [
        (2, None, "La ligne a des valeurs hors des colonnes de l'en-tête.")
    ]


# -- XLSX ------------------------------------------------------------------------------------


def test_xlsx_typed_cells_date_cells_serial_numbers_and_percent_formats(pilot: Store) -> None:
    rows = [
        xlsx_row(numero_allocataire=9900001.0, date_naissance=datetime(1985, 3, 14), taux_activite_esat=80),
        xlsx_row(numero_allocataire=123456, date_naissance=31048, taux_activite_esat=0.625, siret_esat=int(SIRET)),
        xlsx_row(numero_allocataire="0099003", date_naissance=date(1990, 1, 2), double_activite=True,
                 date_debut_double_activite=datetime(2025, 9, 1), taux_milieu_ordinaire=25.5, taux_activite_esat=62.5),
    ]  # fmt: skip
    data = xlsx_bytes(rows, formats={"G3": "0.0%"})  # 62,5 % stored as 0.625
    report = worker_import.apply(pilot, ADMIN, data, "Extraction.XLSX")
    assert report.applied, report.problems
    got = [(w["allocataire"], w["birth_date"], w["rate_esat"], w["rate_mo"]) for w in workers(pilot)]
    assert got == [
        ("9900001", date(1985, 3, 14), Decimal("80.00"), None),
        ("0123456", date(1985, 1, 1), Decimal("62.50"), None),  # the number cell lost its leading zero
        ("0099003", date(1990, 1, 2), Decimal("62.50"), Decimal("25.50")),
    ]
    assert worker_import.apply(pilot, ADMIN, data, "Extraction.xlsx").unchanged == 3


def test_xlsx_formulas_are_refused_cell_by_cell_never_evaluated(pilot: Store) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(xlsx_row(taux_activite_esat="=40*2"))
    sheet.append(xlsx_row(numero_allocataire="9900002", nom='=HYPERLINK("http://evil.example";"clic")'))
    sheet.append(xlsx_row(numero_allocataire="9900003"))
    sheet["A4"] = ArrayFormula("A4:A4", "=SUM(B1:B2)")
    out = io.BytesIO()
    book.save(out)
    report = check(pilot, out.getvalue(), "t.xlsx")
    assert [(p.line, p.column) for p in report.problems] == [
        (2, "taux_activite_esat"),
        (3, "nom"),
        (4, "numero_allocataire"),
    ]
    assert all("formule" in p.message and "evil" not in p.message for p in report.problems)


def test_xlsx_empty_sheet_and_header_only(pilot: Store) -> None:
    assert "vide" in only_problem(check(pilot, xlsx_bytes([], header=[None]), "t.xlsx")).message
    assert "que la ligne d'en-tête" in only_problem(check(pilot, xlsx_bytes([]), "t.xlsx")).message


# -- hostile or bad files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "t.csv", "Le fichier est vide."),
        (b"  \r\n\r\n", "t.csv", "Le fichier est vide."),
        (";".join(HEADER).encode() + b"\r\n", "t.csv", "ne contient que la ligne d'en-tête"),
        (b"PK\x03\x04 whatever", "t.xlsm", "Les classeurs à macros (.xlsm) ne sont pas acceptés."),
        (b"a;b\n", "t.xls", "Format de fichier refusé (« .xls »)"),
        (b"a;b\n", "t.txt", "déposez un fichier .csv ou .xlsx"),
        (b"a;b\n", "travailleurs", "Format de fichier refusé (sans extension)"),
        (b"numero_allocataire;nom\n1;2\n", "t.xlsx", "n'est pas un classeur Excel valide"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "t.xlsx", "ancien format .xls"),
        (b"PK\x03\x04" + b"\0" * 100, "t.xlsx", "n'est pas un classeur Excel valide"),
        (b"PK\x03\x04" + b"\0" * 100, "t.csv", "Ce fichier est un classeur (XLSX) et non un CSV"),
        (";".join(HEADER).encode() + b"\n9900001;RESP\x00ONSABLE\n", "t.csv", "caractère nul"),
        (b'numero_allocataire;"nom\n' + b"x" * 200_000 + b'"\n', "t.csv", "mal formé"),
    ],
)
def test_hostile_or_bad_files_are_refused_with_a_french_message(
    pilot: Store, data: bytes, name: str, message: str
) -> None:
    report = worker_import.apply(pilot, ADMIN, data, name)
    problem = only_problem(report)
    assert message in problem.message, problem
    assert not report.applied and report.new == 0 and workers(pilot) == [] and audit_rows(pilot) == []


def test_the_nul_byte_is_located(pilot: Store) -> None:
    data = csv_bytes([row(), row(numero_allocataire="9900002", nom="Ab\x00c")])
    assert only_problem(check(pilot, data)).line == 3


def test_a_file_over_50_mb_is_refused_before_parsing(pilot: Store) -> None:
    data = b"\x00" * (worker_import.MAX_BYTES + 1)  # parsed, it would be "caractère nul"
    started = time.perf_counter()
    problem = only_problem(check(pilot, data, "t.csv"))
    assert problem.message.startswith("Le fichier dépasse 50 Mo") and time.perf_counter() - started < 1


def test_missing_unknown_and_repeated_columns_are_file_level_problems(pilot: Store) -> None:
    header = [c for c in HEADER if c not in ("nom", "statut")] + ["Adresse", "Téléphone\x07"]
    data = ("\r\n".join([";".join(header), ";".join("x" * len(header))]) + "\r\n").encode()
    report = check(pilot, data)
    assert messages(report) == [
        (None, None, "Colonnes manquantes : nom, statut (format 1 du fichier des travailleurs)."),
        (
            None,
            None,
            "Colonnes inconnues : « Adresse », « Téléphone » (format 1 du fichier des travailleurs).",
        ),
    ]
    assert report.rows == 0 and report.new == 0
    repeated = csv_bytes([row()], header=[*HEADER[:-1], "Nom"])
    assert messages(check(pilot, repeated))[0][2].startswith("Colonnes manquantes : statut")
    assert "Colonnes en double : nom." in [
        m for _, _, m in messages(check(pilot, csv_bytes([row()], header=[*HEADER, "NOM"])))
    ]


def test_too_many_rows_are_refused_before_any_row_is_checked(pilot: Store) -> None:
    line = ";".join(row()[c] for c in HEADER)
    data = ("\n".join([";".join(HEADER), *[line] * (worker_import.MAX_ROWS + 1)]) + "\n").encode()
    started = time.perf_counter()
    problem = only_problem(check(pilot, data))
    assert "plus de 200\u202f000 lignes" in problem.message and time.perf_counter() - started < 5
    ok = ("\n".join([";".join(HEADER), line]) + "\n" * (worker_import.MAX_ROWS + 5)).encode()
    assert check(pilot, ok).ok  # empty lines do not count


def _rewrite_sheet(data: bytes, sheet_xml: bytes) -> bytes:
    """The same workbook with another xl/worksheets/sheet1.xml (compressed: a small upload)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            target.writestr(item.filename, content)
    return out.getvalue()


def test_a_huge_xlsx_sheet_is_refused_without_being_parsed(pilot: Store) -> None:
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (i, i)
        for i in range(1, worker_import.MAX_ROWS + 3)
    )
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>'
        + rows
        + b"</sheetData></worksheet>"
    )
    data = _rewrite_sheet(xlsx_bytes([]), sheet)
    assert len(data) < worker_import.MAX_BYTES
    started = time.perf_counter()
    problem = only_problem(check(pilot, data, "t.xlsx"))
    assert "plus de 200\u202f000 lignes" in problem.message and time.perf_counter() - started < 5


def test_a_zip_bomb_is_refused_from_its_directory(pilot: Store) -> None:
    data = bytearray(xlsx_bytes([xlsx_row()]))
    # The central directory says sheet1.xml inflates to 4 GB - 1: refused before inflating anything.
    name = b"xl/worksheets/sheet1.xml"
    at = data.rfind(b"PK\x01\x02", 0, data.find(name, data.find(b"PK\x01\x02")) + 1)
    data[at + 24 : at + 28] = (0xFFFFFFFE).to_bytes(4, "little")
    assert "trop volumineux une fois décompressé" in only_problem(check(pilot, bytes(data), "t.xlsx")).message


def test_a_damaged_xlsx_sheet_is_refused(pilot: Store) -> None:
    data = _rewrite_sheet(xlsx_bytes([xlsx_row()]), b"<worksheet><sheetData><row><c r='A1'")
    assert "n'est pas un classeur Excel valide" in only_problem(check(pilot, data, "t.xlsx")).message


def test_an_xlsx_with_macros_is_refused(pilot: Store) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([xlsx_row()]))) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"\0" * 16)
    assert "contient des macros" in only_problem(check(pilot, out.getvalue(), "t.xlsx")).message


# -- size and speed ------------------------------------------------------------------------------


def test_three_thousand_rows_check_and_apply_within_three_seconds(pilot: Store) -> None:
    rows = [
        row(
            numero_allocataire=f"99{i:05d}",
            nom=f"Nom{i}",
            siret_esat=(SIRET, OTHER_SIRET, NEIGHBOUR_SIRET)[i % 3],
        )
        for i in range(3000)
    ]
    data = csv_bytes(rows)
    started = time.perf_counter()
    assert check(pilot, data).new == 3000
    checked = time.perf_counter()
    report = worker_import.apply(pilot, ADMIN, data, "t.csv")
    applied = time.perf_counter()
    assert report.applied and pilot.scalar("SELECT count(*) FROM worker") == 3000
    assert checked - started < 3 and applied - checked < 3, (checked - started, applied - checked)


def test_the_sirets_of_this_file_are_valid() -> None:
    assert all(stdnum_siret.is_valid(s) for s in (SIRET, NEIGHBOUR_SIRET, OTHER_SIRET, make_siret(7)))
    assert SAMPLE.read_bytes().decode("utf-8").count("\n") == 4 and Path(SAMPLE).suffix == ".csv"


def test_concurrent_imports_of_the_same_file_store_each_worker_once(pilot: Store) -> None:
    data = csv_bytes([row(numero_allocataire=f"99{i:05d}") for i in range(200)])
    reports: list[worker_import.ImportReport] = []
    threads = [
        threading.Thread(target=lambda: reports.append(worker_import.apply(pilot, ADMIN, data, "t.csv")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 4 and all(r.applied for r in reports)
    assert sum(r.new for r in reports) == 200  # the ones that lost the race ran again and found them
    assert pilot.scalar("SELECT count(*) FROM worker") == 200
    assert pilot.scalar("SELECT count(DISTINCT id) FROM worker") == 200


def test_nothing_personal_is_logged(pilot: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good = csv_bytes([row(nom=CANARY_NAME, numero_allocataire="9912345")])
    bad = csv_bytes([row(nom=CANARY_NAME, numero_allocataire="9912345", statut="?")])
    worker_import.dry_run(pilot, ADMIN, bad, "t.csv")
    worker_import.apply(pilot, ADMIN, good, "t.csv")
    assert pilot.scalar("SELECT count(*) FROM worker") == 1
    assert CANARY_NAME.upper() not in caplog.text.upper() and "9912345" not in caplog.text
    assert all(CANARY_NAME not in str(r["object_ref"]) for r in audit_rows(pilot))


def test_the_other_spellings_of_the_documented_headers(pilot: Store) -> None:
    header = ["Numéro d'allocataire", "Personne", "NOM", "prénom", "Date de naissance", "siret-esat",
              "Taux d'activité ESAT", "double_activité", "Date_Début_Double_Activité", "TAUX MILIEU ORDINAIRE",
              "statut"]  # fmt: skip
    assert worker_import.apply(pilot, ADMIN, csv_bytes([row()], header=header), "t.csv").applied


def test_the_documentation_is_the_format() -> None:
    doc = (ROOT / "docs" / "worker-file.md").read_text(encoding="utf-8")
    assert [c for c in worker_import.COLUMNS if f"| `{c}` |" in doc] == HEADER
    example = doc.split("the sample file:\n\n```\n", 1)[1].split("```", 1)[0]
    assert example == SAMPLE.read_text(encoding="utf-8")
    assert "50 MB" in doc and "200,000" in doc and worker_import.MAX_BYTES == 50 * 1024 * 1024


def test_a_hopeless_file_keeps_the_first_problems_and_counts_the_others(pilot: Store) -> None:
    bad = row(numero_allocataire="abc", date_naissance="demain", statut="?")  # 3 problems a line
    report = check(pilot, csv_bytes([bad] * 4000))
    assert len(report.problems) == worker_import.MAX_PROBLEMS + 1
    assert [(p.line, p.column) for p in report.problems[:4]] == [
        (2, "numero_allocataire"),
        (2, "date_naissance"),
        (2, "statut"),
        (3, "numero_allocataire"),
    ]
    assert report.problems[-1] == worker_import.Problem(
        None, None, "… et 7000 autres anomalies non détaillées."
    )
