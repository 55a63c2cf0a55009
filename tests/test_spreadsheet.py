"""The certificats as a spreadsheet, both ways (services/spreadsheet.py, docs/certificats-fichier.md).

On a copy of the demo (DuckDB or PostgreSQL): the template is a real protected XLSX that openpyxl
reads back; a filled template, a Latin-1 CSV with `;` and decimal commas, a UTF-8 BOM CSV with `,`
and decimal points are read into rows matched to the demo ESAT's workers; every hostile file is
refused whole with no row, and a worker of another ESAT is refused and audited.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from data.store import Store
from rules.engine import parse
from services import campaign, partner, spreadsheet
from services.config import Settings
from services.declarations import forms
from tests.test_services import account

CANARY = "Canariwxq"  # a cell's content: must never appear in a message
FORM = forms()[campaign.FORM_ID]
HEADER = list(spreadsheet.columns().values())
AMOUNTS = ("1100,5", "946,55", "153,95")


def to_declare(store: Store, env: Settings) -> list[campaign.Candidate]:
    return [c for c in campaign.candidates(store, env, account(store)) if c.receipt_number is None]


def read(store: Store, env: Settings, data: bytes, name: str = "paie.csv") -> spreadsheet.Upload:
    return spreadsheet.read(store, env, account(store), data, name)


def csv_bytes(
    lines: list[list[str]], sep: str = ";", encoding: str = "utf-8", header: list[str] | None = None
) -> bytes:
    text = "\r\n".join(sep.join(cells) for cells in [header or HEADER, *lines]) + "\r\n"
    return text.encode(encoding)


def identity(c: campaign.Candidate) -> list[str]:
    return [c.allocataire, spreadsheet.ROLE_SHOWN[c.person_role], c.last_name, c.first_name]


def xlsx_bytes(lines: list[list[Any]], header: list[Any] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header or HEADER)
    for values in lines:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(upload: spreadsheet.Upload) -> str:
    """The refusal's message, once checked that a refused file gives nothing else."""
    assert upload.refused is not None
    assert upload.rows == [] and upload.problems == [] and upload.already == []
    return upload.refused


def audit_rows(store: Store) -> list[dict[str, Any]]:
    return store.all("SELECT account_id, action, object_ref FROM audit_log ORDER BY id")


# -- the template ----------------------------------------------------------------------------------


def test_the_template_is_one_protected_sheet_per_caf_without_any_formula(env: Settings, store: Store) -> None:
    todo = to_declare(store, env)
    assert {c.caf_code for c in todo} == {"441", "491"}  # the demo ESAT depends on two Cafs
    book = openpyxl.load_workbook(io.BytesIO(spreadsheet.template(store, env, account(store))))
    assert book.sheetnames == ["441 Caf de Loire-Atlantique", "491 Caf de Maine-et-Loire"]
    for sheet, caf in zip(book.worksheets, ("441", "491"), strict=True):
        mine = [c for c in todo if c.caf_code == caf]
        assert [c.value for c in sheet[1]] == HEADER
        assert HEADER[4:] == [f.label for f in FORM.fields]  # the form's labels
        lines = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        assert lines == [[*identity(c), None, None, None] for c in mine]
        assert sheet.protection.sheet is True
        last = len(mine) + 1
        for row in (2, last):
            assert all(sheet.cell(row, col).protection.locked for col in range(1, 5))
            assert not any(sheet.cell(row, col).protection.locked for col in range(5, 8))
            assert all(sheet.cell(row, col).number_format == "#,##0.00" for col in range(5, 8))
            assert sheet.cell(row, 1).data_type == "s"  # the number keeps its leading zeros
        assert sheet.cell(1, 1).protection.locked  # the header too
        (validation,) = sheet.data_validations.dataValidation
        assert (validation.type, validation.operator, validation.formula1) == (
            "decimal",
            "greaterThanOrEqual",
            "0",
        )
        assert str(validation.sqref) == f"E2:G{last}"
        assert validation.showErrorMessage and "positif ou nul" in validation.error
        assert sheet.freeze_panes == "A2"
        assert sheet.column_dimensions["E"].width >= 20
        cells = [c for row in sheet.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f" or str(c.value or "").startswith("=")]
    assert spreadsheet.template_name(campaign.campaign(env)) == "certificats-2026.xlsx"


def test_a_single_caf_esat_gets_one_sheet(env: Settings, store: Store) -> None:
    simple = account(store, "esat.simple@example.org")
    book = openpyxl.load_workbook(io.BytesIO(spreadsheet.template(store, env, simple)))
    assert book.sheetnames == ["441 Caf de Loire-Atlantique"]
    todo = [c for c in campaign.candidates(store, env, simple) if c.receipt_number is None]
    assert book.active.max_row == len(todo) + 1


def test_the_filled_template_is_read_back(env: Settings, store: Store) -> None:
    todo = to_declare(store, env)
    book = openpyxl.load_workbook(io.BytesIO(spreadsheet.template(store, env, account(store))))
    filled: dict[int, tuple[str, ...]] = {}
    for sheet in book.worksheets:
        for row in range(2, sheet.max_row - 4):  # the last 5 lines of each sheet left blank
            sheet.cell(row, 5, 1100.5)  # number cells, as typed in a French spreadsheet
            sheet.cell(row, 6, Decimal("946.55"))
            sheet.cell(row, 7, "153,95")  # or text
            filled[(sheet.title, row)] = AMOUNTS
        sheet.cell(2, 5, 1234)  # an integer
        filled[(sheet.title, 2)] = ("1234", *AMOUNTS[1:])
    out = io.BytesIO()
    book.save(out)
    upload = spreadsheet.read(store, env, account(store), out.getvalue(), "certificats-2026.xlsx")
    assert upload.ok and upload.refused is None and upload.already == []
    assert upload.skipped == 10
    assert len(upload.rows) == len(filled) == len(todo) - 10
    by_id = {c.worker_id: c for c in todo}
    for row in upload.rows:
        sheet = upload.sheet_of[row.worker_id]
        assert sheet.startswith(by_id[row.worker_id].caf_code)
        assert tuple(row.raw[f] for f in spreadsheet.AMOUNTS) == filled[(sheet, row.line)]
    first_of_each_caf = {todo[0].worker_id, next(c for c in todo if c.caf_code == "491").worker_id}
    assert {r.worker_id for r in upload.rows if r.line == 2} == first_of_each_caf
    # What the rules read from the texts: the same amounts as typed in the single form.
    field = FORM.fields[0]
    assert parse(field, upload.rows[-1].raw["remuneration_garantie"]) == (Decimal("1100.50"), None)


def test_a_latin1_csv_with_semicolons_and_decimal_commas(env: Settings, store: Store) -> None:
    todo = to_declare(store, env)
    accented = [c for c in todo if any(ch in c.last_name + c.first_name for ch in "éèçëï")][:3]
    assert accented, "the demo has accented names"
    header = [
        "Matricule",
        "N° allocataire",
        "Personne",
        "Nom",
        "Prénom",
        "Rémunération garantie",
        "Aide au poste",
        "Part ESAT",
    ]
    lines = [["M1", *identity(c), "1 100,50", "946,55", "153,95"] for c in accented]
    data = csv_bytes(lines, sep=";", encoding="latin-1", header=header)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    upload = read(store, env, data)
    assert upload.ok
    assert [(r.worker_id, r.line) for r in upload.rows] == [
        (c.worker_id, i) for i, c in enumerate(accented, start=2)
    ]
    assert all(
        r.raw == dict(zip(spreadsheet.AMOUNTS, ("1 100,50", "946,55", "153,95"), strict=True))
        for r in upload.rows
    )
    assert [parse(f, upload.rows[0].raw[f.id])[0] for f in FORM.fields] == [
        Decimal("1100.50"),
        Decimal("946.55"),
        Decimal("153.95"),
    ]


def test_a_utf8_bom_csv_with_commas_and_decimal_points(env: Settings, store: Store) -> None:
    numbers = Counter(r["allocataire"] for r in store.all("SELECT allocataire FROM worker WHERE esat_id = 1"))
    single = [c for c in to_declare(store, env) if numbers[c.allocataire] == 1][:4]
    header = [
        "numero_allocataire",
        "personne",
        "nom",
        "prenom",
        "RG brute",
        "AAP brute",
        "Part ESAT brute",
        "Service",
    ]
    lines = [
        [c.allocataire, "", c.last_name.lower(), c.first_name, "1100.50", "946.55", "153.95", "Atelier, bois"]
        for c in single
    ]
    text = "\r\n".join(",".join(f'"{v}"' if "," in v else v for v in cells) for cells in [header, *lines])
    upload = read(store, env, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert upload.ok
    assert [r.worker_id for r in upload.rows] == [c.worker_id for c in single]  # personne left empty
    assert upload.rows[0].raw == {
        "remuneration_garantie": "1100.50",
        "aide_au_poste": "946.55",
        "part_esat": "153.95",
    }
    assert [parse(f, upload.rows[0].raw[f.id])[0] for f in FORM.fields] == [
        Decimal("1100.50"),
        Decimal("946.55"),
        Decimal("153.95"),
    ]


def test_a_caf_column_narrows_the_match(env: Settings, store: Store) -> None:
    once = {
        r["allocataire"]
        for r in store.all("SELECT allocataire FROM worker GROUP BY allocataire HAVING count(*) = 1")
    }
    c = next(c for c in to_declare(store, env) if c.caf_code == "441" and c.allocataire in once)
    header = ["Caf", *HEADER]
    upload = read(
        store,
        env,
        csv_bytes(
            [
                ["441", *identity(c), *AMOUNTS],
                ["491", *identity(c), *AMOUNTS],
                ["4x1", *identity(c), *AMOUNTS],
            ],
            header=header,
        ),
    )
    assert [r.line for r in upload.rows] == [2]
    assert [(p.line, p.column) for p in upload.problems] == [(3, "N° allocataire"), (4, "Caf")]
    assert upload.problems[1].message == "Le code de la Caf doit compter 3 chiffres, par exemple 441."


# -- line by line ------------------------------------------------------------------------------------


def test_each_bad_line_is_reported_with_its_line_column_and_a_french_message(
    env: Settings, store: Store
) -> None:
    todo = to_declare(store, env)
    everyone = campaign.candidates(store, env, account(store))
    ok, dup, typo = todo[0], todo[1], todo[2]
    filed = next(c for c in everyone if c.receipt_number)
    couple = [c for c in todo if c.allocataire == "9984812"]  # a responsable and a conjoint
    assert len(couple) == 2
    expected_ids = {c.worker_id for c in everyone}
    left = store.one(
        "SELECT allocataire, person_role, last_name FROM worker WHERE esat_id = 1 AND id NOT IN "
        f"({', '.join(str(i) for i in expected_ids)}) ORDER BY id LIMIT 1"
    )
    unknown = "9000001"
    assert not store.all("SELECT id FROM worker WHERE allocataire = ?", [unknown])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([*identity(ok), 1100.5, 946.55, 153.95])  # 2: fine
    sheet.append([*identity(dup), 1100.5, 946.55, 153.95])  # 3: fine
    sheet.append([*identity(dup), 1100.5, 946.55, 153.95])  # 4: the same worker again
    sheet.append([*identity(typo)[:2], CANARY, "", 1100.5, 946.55, 153.95])  # 5: another name
    sheet.append([unknown, "Responsable", "", "", 1100.5, 946.55, 153.95])  # 6: nobody
    sheet.append(["", "Responsable", CANARY, "", 1100.5, 946.55, 153.95])  # 7: no number
    sheet.append([couple[0].allocataire, "", "", "", 1100.5, 946.55, 153.95])  # 8: which person?
    sheet.append(
        [left["allocataire"], left["person_role"], "", "", 1100.5, 946.55, 153.95]
    )  # 9: not expected
    sheet.append([*identity(filed), 1100.5, 946.55, 153.95])  # 10: already filed
    sheet.append([*identity(todo[3]), datetime(2026, 11, 30), True, CANARY + "1"])  # 11: a date, VRAI
    sheet.append([*identity(todo[4]), "", "", ""])  # 12: nothing typed: skipped
    sheet.append([])  # 13: empty
    sheet.append([*identity(todo[5])[:1], CANARY, "", "", 1, 2, 3])  # 14: a person that is no person
    sheet["A15"] = 1234567.0  # 15: a number cell, 7 digits
    sheet.append([])
    out = io.BytesIO()
    book.save(out)
    upload = read(store, env, out.getvalue(), "fichier.xlsx")
    assert upload.refused is None
    assert [(r.line, r.worker_id) for r in upload.rows] == [(2, ok.worker_id), (3, dup.worker_id)]
    assert upload.already == [spreadsheet.Already(10, filed.receipt_number)]
    assert upload.skipped == 2  # line 12, and line 15 without amounts
    got = [(p.line, p.column, p.message) for p in upload.problems]
    rg = HEADER[4]
    assert got == [
        (4, "N° allocataire", "Ce travailleur figure déjà plus haut (ligne 3) : une seule ligne par travailleur."),
        (5, "Nom", "Le nom ne correspond pas à celui du travailleur de ce numéro d'allocataire : vérifiez le numéro et la personne (ou videz la cellule du nom)."),
        (6, "N° allocataire", "Aucun travailleur de votre ESAT ne correspond à ce numéro d'allocataire et à cette personne."),
        (7, "N° allocataire", "Le numéro d'allocataire est obligatoire."),
        (8, "Personne", "Ce numéro d'allocataire correspond à plusieurs travailleurs de votre ESAT : indiquez la personne (Responsable ou Conjoint)."),
        (9, "N° allocataire", "Aucun certificat n'est attendu pour ce travailleur pour la campagne 2026 : selon la Caf, il n'a pas travaillé dans votre ESAT en novembre 2026."),
        (11, rg, f"« {rg} » contient une date ou une heure au lieu d'un montant en chiffres, par exemple 1 234,56 (vérifiez le format de la cellule)."),
        (11, HEADER[5], f"« {HEADER[5]} » contient VRAI ou FAUX au lieu d'un montant en chiffres, par exemple 1 234,56."),
        (14, "Personne", "La personne doit être Responsable ou Conjoint (ou vide quand le numéro d'allocataire ne désigne qu'un travailleur de votre ESAT)."),
    ]  # fmt: skip
    assert all(CANARY not in p.message and left["last_name"] not in p.message for p in upload.problems)
    assert not upload.ok
    assert all(r["action"] != "access_denied" for r in audit_rows(store))  # mistakes, not intrusions


def test_text_amounts_pass_as_typed_for_the_rules_to_judge(env: Settings, store: Store) -> None:
    c = to_declare(store, env)[0]
    upload = read(store, env, csv_bytes([[*identity(c), "mille", "-5", "1,234"]]))
    assert upload.ok and upload.rows[0].raw == {
        "remuneration_garantie": "mille",
        "aide_au_poste": "-5",
        "part_esat": "1,234",
    }
    problems = [parse(f, upload.rows[0].raw[f.id])[1] for f in FORM.fields]
    assert all(problems), problems  # the rules' own French messages (format, négatif, décimales)


def test_cell_content_is_never_repeated_in_a_message(env: Settings, store: Store) -> None:
    lines = [
        [CANARY, CANARY, CANARY, CANARY, CANARY, CANARY, CANARY],
        ["99" + CANARY, "Conjoint", "", "", "1", "2", "3"],
    ]
    upload = read(store, env, csv_bytes(lines))
    assert upload.problems and all(CANARY not in p.message for p in upload.problems)


# -- hostile files: refused whole, nothing read ----------------------------------------------------


def test_a_formula_refuses_the_file_naming_its_line_and_column(env: Settings, store: Store) -> None:
    todo = to_declare(store, env)
    before = audit_rows(store)
    data = xlsx_bytes(
        [
            [*identity(todo[0]), 1100.5, 946.55, 153.95],
            [*identity(todo[1]), "=E2*1", 946.55, '=WEBSERVICE("http://x")'],
        ]
    )
    message = refused(read(store, env, data, "t.xlsx"))
    assert "ligne 3, colonne « Montant brut de la rémunération garantie »" in message
    assert "ligne 3, colonne « Montant brut de la part financée par l'ESAT »" in message
    assert "jamais calculées" in message and "rien n'a été importé" in message
    assert "E2" not in message and "WEBSERVICE" not in message
    assert audit_rows(store) == before  # refused, nothing written
    # A formula outside the known columns too (values only, anywhere).
    other = xlsx_bytes([[*identity(todo[0]), 1, 2, 3, "=1+1"]], header=[*HEADER, "Total"])
    assert "ligne 2, colonne H" in refused(read(store, env, other, "t.xlsx"))


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x";"y")', "+33 1 23", "@SUM(A1)", " =1+1"])
def test_csv_formula_injection_refuses_the_file(env: Settings, store: Store, cell: str) -> None:
    c = to_declare(store, env)[0]
    data = csv_bytes(
        [
            [*identity(c), "1100,5", "946,55", "153,95"],
            [c.allocataire, "Responsable", cell, "", "1", "2", "3"],
        ]
    )
    message = refused(read(store, env, data))
    assert (
        "ligne 3, colonne « Nom »" in message and cell.strip() not in message and "HYPERLINK" not in message
    )


def test_macro_workbooks_are_refused(env: Settings, store: Store) -> None:
    c = to_declare(store, env)[0]
    good = xlsx_bytes([[*identity(c), 1100.5, 946.55, 153.95]])
    assert "macros (.xlsm)" in refused(read(store, env, good, "certificats.xlsm"))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"\0" * 16)
    assert "contient des macros" in refused(read(store, env, out.getvalue(), "certificats.xlsx"))


def test_a_file_that_is_not_an_xlsx_is_refused(env: Settings, store: Store) -> None:
    assert "n'est pas un classeur Excel valide" in refused(
        read(store, env, b"N\xc2\xb0 allocataire;x\n", "t.xlsx")
    )
    assert "ancien format .xls" in refused(
        read(store, env, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "t.xlsx")
    )
    assert "Format de fichier refusé" in refused(read(store, env, b"a;b\n", "t.ods"))
    assert "est vide" in refused(read(store, env, b"", "t.csv"))


def test_a_zip_bomb_is_refused(env: Settings, store: Store) -> None:
    header = "".join(
        f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for col, name in zip(
            "ABCDEFG", ("allocataire", "personne", "nom", "prenom", "rg", "aap", "part_esat"), strict=True
        )
    )
    sheet = (
        (
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main"><sheetData><row r="1">{header}</row>'
        ).encode()
        + b" " * (80 * 1024 * 1024)
        + b"</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx_bytes([]))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(
                item.filename, sheet if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            )
    data = out.getvalue()
    assert len(data) < spreadsheet.MAX_BYTES  # small to upload, 80 MB inflated
    assert "trop volumineux une fois décompressé" in refused(read(store, env, data, "t.xlsx"))


def test_twenty_megabytes_are_refused_before_reading(env: Settings, store: Store) -> None:
    message = refused(read(store, env, b"1;2;3\n" * (20 * 1024 * 1024 // 6), "gros.csv"))
    assert message.startswith("Le fichier dépasse 5 Mo (20,0 Mo)")


def test_a_hundred_thousand_rows_are_refused(env: Settings, store: Store) -> None:
    c = to_declare(store, env)[0]
    line = ";".join([*identity(c), "1", "2", "3"])
    data = "\n".join([";".join(HEADER), *[line] * 100_000]).encode()
    assert len(data) <= spreadsheet.MAX_BYTES
    assert "plus de 5\u202f000 lignes" in refused(read(store, env, data))
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["allocataire", "rg", "aap", "part_esat"])
    for i in range(100_000):
        sheet.append([i, 1, 2, 3])
    out = io.BytesIO()
    book.save(out)
    assert len(out.getvalue()) <= spreadsheet.MAX_BYTES
    assert "plus de 5\u202f000 lignes" in refused(read(store, env, out.getvalue(), "t.xlsx"))
    # Between the two limits: counted while the sheet is read, refused all the same.
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["allocataire", "rg", "aap", "part_esat"])
    for i in range(spreadsheet.MAX_ROWS + 1):
        sheet.append([i, 1, 2, 3])
    out = io.BytesIO()
    book.save(out)
    assert "plus de 5\u202f000 lignes" in refused(read(store, env, out.getvalue(), "t.xlsx"))
    # Empty lines are not lines: two lines among 20,000 empty ones are read.
    spread = "\n".join([";".join(HEADER), *[line] * 2, "\n" * 20_000]).encode()
    assert read(store, env, spread).refused is None


def test_a_nul_byte_refuses_the_file(env: Settings, store: Store) -> None:
    c = to_declare(store, env)[0]
    data = csv_bytes(
        [[*identity(c), "1", "2", "3"], [c.allocataire, "Responsable", "A\x00B", "", "1", "2", "3"]]
    )
    assert refused(read(store, env, data)).startswith("Ligne 3 : Le fichier contient un caractère nul")


def test_missing_columns_refuse_the_file(env: Settings, store: Store) -> None:
    data = csv_bytes([["1234567", "1", "2"]], header=["N° allocataire", "RG", "Part ESAT"])
    assert refused(read(store, env, data)) == (
        "Colonnes manquantes dans la ligne d'en-tête : Montant brut de l'aide au poste. La première ligne "
        "doit porter les noms des colonnes, comme dans le modèle à télécharger."
    )
    twice = csv_bytes(
        [["1234567", "1", "2", "3", "4"]],
        header=["allocataire", "RG", "AAP", "Part ESAT", "rémunération garantie"],
    )
    assert (
        refused(read(store, env, twice))
        == "Colonnes en double dans la ligne d'en-tête : Montant brut de la rémunération garantie."
    )


def test_a_worker_of_another_esat_refuses_the_file_and_is_audited(env: Settings, store: Store) -> None:
    mine = {r["allocataire"] for r in store.all("SELECT allocataire FROM worker WHERE esat_id = 1")}
    theirs = store.one(
        "SELECT w.id, w.allocataire, w.person_role, w.last_name, e.legal_name FROM worker w "
        "JOIN esat e ON e.id = w.esat_id WHERE w.esat_id = 2 AND w.allocataire NOT IN "
        "(SELECT allocataire FROM worker WHERE esat_id = 1) ORDER BY w.id LIMIT 1"
    )
    assert theirs["allocataire"] not in mine
    todo = to_declare(store, env)
    lines = [
        [*identity(todo[0]), "1100,5", "946,55", "153,95"],
        [
            theirs["allocataire"],
            spreadsheet.ROLE_SHOWN[theirs["person_role"]],
            "",
            "",
            "1100,5",
            "946,55",
            "153,95",
        ],
        [*identity(todo[1]), "1100,5", "946,55", "153,95"],
    ]
    before = audit_rows(store)
    message = refused(read(store, env, csv_bytes(lines)))
    assert message.startswith(
        "Aucun travailleur de votre ESAT ne correspond au numéro d'allocataire et à la personne de cette ligne (ligne 3)."
    )
    assert "rien n'a été importé" in message
    for secret in (
        theirs["legal_name"],
        theirs["last_name"],
        theirs["allocataire"],
        "ESAT Les Ateliers du Val Clair",
    ):
        assert secret not in message
    after = audit_rows(store)
    assert after[: len(before)] == before
    assert after[len(before) :] == [
        {
            "account_id": account(store).id,
            "action": "access_denied",
            "object_ref": f"certificats:ligne:3:travailleur:{theirs['id']}",
        }
    ]
    # Without the personne, the same: the number alone names their worker.
    lines[1][1] = ""
    assert "(ligne 3)" in refused(read(store, env, csv_bytes(lines)))
    assert len(audit_rows(store)) == len(after) + 1


def test_an_account_without_esat_reads_nothing(env: Settings, store: Store) -> None:
    agent = account(store, "agent.caf@example.org")
    with pytest.raises(partner.NotAllowed):
        spreadsheet.read(store, env, agent, csv_bytes([]), "t.csv")
    with pytest.raises(partner.NotAllowed):
        spreadsheet.template(store, env, agent)


# -- speed -------------------------------------------------------------------------------------------


def test_a_620_line_file_is_parsed_and_matched(
    env: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every worker of the demo ESAT, one line each (filed, not expected and to declare alike):
    the time is printed for docs/benchmarks.md; no timed assert."""
    workers = store.all(
        "SELECT allocataire, person_role, last_name, first_name FROM worker WHERE esat_id = 1 ORDER BY id"
    )
    assert len(workers) == 620
    lines = [
        [w["allocataire"], w["person_role"], w["last_name"], w["first_name"], "1100,50", "946,55", "153,95"]
        for w in workers
    ]
    todo, everyone = len(to_declare(store, env)), campaign.candidates(store, env, account(store))
    for name, data in (
        ("paie.csv", csv_bytes(lines)),
        ("paie.xlsx", xlsx_bytes([[*line[:4], 1100.5, 946.55, 153.95] for line in lines])),
    ):
        read(store, env, data, name)  # warm: imports, the form definitions
        started = time.perf_counter()
        upload = read(store, env, data, name)
        elapsed = time.perf_counter() - started
        assert len(upload.rows) == todo
        assert len(upload.already) == sum(1 for c in everyone if c.receipt_number)
        assert len(upload.problems) == 620 - len(everyone)  # not expected this campaign
        with capsys.disabled():
            print(f"\n{name}: 620 lines parsed and matched in {elapsed:.3f} s")
