"""The certificats of a campaign as a spreadsheet, both ways (issue 13; docs/certificats-fichier.md).

- :func:`template` writes an XLSX pre-filled with the workers of the ESAT still to declare: one
  sheet per Caf, identity columns locked, the three amount cells unlocked, formatted and validated
  in the sheet, no formula anywhere.
- :func:`read` reads the template filled, any XLSX with the same header, or a CSV exported by
  payroll software, and matches each line to a worker of the account's ESAT by numéro
  d'allocataire and personne. Amounts are read into text exactly as a user would type them
  (a number cell ``1234.56`` becomes ``1234,56``); the rules check them later
  (``campaign.check_rows``), not this module.

Hostile files are refused whole, with no row (``Upload.refused``): over 5 MB, another extension
(``.xlsm``…), not a real XLSX, macros, zip bombs, more than 5,000 lines, NUL bytes, formulas (never
evaluated, their text never repeated), a worker of another ESAT (audited, AUTHZ-03). The readers
are those of the worker file (services/worker_import.py), with the limits of this file. Messages
never repeat a cell's content: line and column say where.
"""

from __future__ import annotations

import contextlib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Context, Decimal
from functools import lru_cache
from typing import Any

from data.store import Store
from forms.loader import load_all
from rules.messages import message
from services import audit, campaign, worker_import
from services.accounts import Account
from services.config import Settings
from services.worker_import import FORMULA, MIB, Refused, blank, fold, header_key

MAX_BYTES = 5 * MIB
MAX_ROWS = 5_000  # data lines of the whole file, every sheet together (headers and empty lines excluded)
MAX_ROW_TAGS = 2 * MAX_ROWS  # <row> elements of an XLSX (empty formatted rows too): refused before parsing
LIMITS = worker_import.Limits(MAX_BYTES, MAX_ROWS, max_uncompressed=64 * MIB, max_shared_strings=16 * MIB)
MAX_AMOUNT_TEXT = 30  # longer than any amount the rules accept
MAX_SHOWN = 3  # formulas or lines named in a refusal
AMOUNTS = ("remuneration_garantie", "aide_au_poste", "part_esat")
REQUIRED = ("numero_allocataire", *AMOUNTS)
ROLE_SHOWN = {"RESPONSABLE": "Responsable", "CONJOINT": "Conjoint"}
ROLES = {**worker_import.PERSON_ROLES, "r": "RESPONSABLE", "c": "CONJOINT"}
FORMULA_START = ("=", "+", "@")  # a text cell starting so is a formula for a spreadsheet that opens it
NUMBER_FORMAT = "#,##0.00"  # shown "1 234,56" by a French spreadsheet
ACTION_DENIED = "access_denied"
# Other spellings of a header, once normalised by worker_import.header_key (case, accents, spaces,
# underscores, hyphens, apostrophes and dots ignored), besides the column id and its French name.
ALIASES: dict[str, tuple[str, ...]] = {
    "numero_allocataire": (
        "numerodallocataire",
        "n°allocataire",
        "noallocataire",
        "nallocataire",
        "numallocataire",
        "allocataire",
        "matriculecaf",
    ),
    "personne": ("role", "qualite"),
    "nom": ("nomdefamille", "nomdusage", "nomdenaissance"),
    "prenom": ("prenoms",),
    "remuneration_garantie": (
        "remunerationgarantiebrute",
        "montantremunerationgarantie",
        "rg",
        "rgbrute",
        "montantrg",
    ),
    "aide_au_poste": ("aideaupostebrute", "montantaideauposte", "aap", "aapbrute", "montantaap"),
    "part_esat": (
        "partesatbrute",
        "partdelesat",
        "partfinanceeparlesat",
        "montantpartesat",
        "partfinanceeesat",
    ),
    "caf": ("codecaf", "cafcode", "numerocaf"),
}
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_NAME_NOISE = re.compile(r"[^a-z]")
_CAF_CODE = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class Problem:
    line: int | None  # spreadsheet line (the header is line 1); None: the whole sheet or file
    column: str | None  # the column's French name (its header in the template); None: the line
    message: str  # French; never a cell's content
    sheet: str | None = None  # the worksheet's name, when the workbook has several worksheets


@dataclass(frozen=True)
class Already:
    """A line whose worker already has a certificat of the campaign (nothing to file again)."""

    line: int
    receipt_number: str
    sheet: str | None = None


@dataclass
class Upload:
    rows: list[campaign.Row] = field(default_factory=list)  # matched lines, amounts as typed
    problems: list[Problem] = field(default_factory=list)  # lines not in ``rows``, and why
    refused: str | None = None  # the whole file is refused (French): no row, no problem
    already: list[Already] = field(default_factory=list)
    skipped: int = 0  # lines naming a worker without any amount (the template's lines left blank)
    sheet_of: dict[int, str] = field(default_factory=dict)  # worker id → worksheet, when several

    @property
    def ok(self) -> bool:
        return self.refused is None and not self.problems


def template_name(year: int) -> str:
    """The template's file name: ``certificats-2026.xlsx``."""
    return f"certificats-{year}.xlsx"


def where(line: int | None, sheet: str | None = None) -> str:
    """``Ligne 12`` or ``Feuille « 491 Caf de Maine-et-Loire », ligne 12`` (French)."""
    at = f"ligne {line}" if line is not None else "ligne d'en-tête"
    return f"Feuille « {sheet} », {at}" if sheet else at[:1].upper() + at[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


@lru_cache(maxsize=1)
def columns() -> dict[str, str]:
    """Column id → French name (the template's header), in the template's order."""
    labels = {f.id: f.label for f in load_all()[campaign.FORM_ID].fields}
    return {
        "numero_allocataire": "N° allocataire",
        "personne": "Personne",
        "nom": "Nom",
        "prenom": "Prénom",
        **{a: labels[a] for a in AMOUNTS},
    }


def _column_names() -> dict[str, str]:
    return {**columns(), "caf": "Caf"}


@lru_cache(maxsize=1)
def _canonical() -> dict[str, str]:
    """Normalised header → column id."""
    found: dict[str, str] = {}
    for column, name in _column_names().items():
        for spelling in (column, name, *ALIASES[column]):
            found[header_key(spelling)] = column
    return found


# --------------------------------------------------------------------------------------------
# The template.


def template(store: Store, settings: Settings, account: Account) -> bytes:
    """The XLSX of the workers of the account's ESAT still to declare this campaign (candidates
    without a receipt), one sheet per Caf (``partner.NotAllowed`` for an account without ESAT)."""
    import openpyxl

    todo = [c for c in campaign.candidates(store, settings, account) if c.receipt_number is None]
    names = {r["code"]: r["name"] for r in store.all("SELECT code, name FROM caf")}
    by_caf: dict[str | None, list[campaign.Candidate]] = {}
    for candidate in todo:
        by_caf.setdefault(candidate.caf_code, []).append(candidate)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for caf, workers in (by_caf or {None: []}).items():
        _fill(book.create_sheet(_sheet_title(caf, names.get(caf or ""))), workers)
    book.properties.creator = "Espace ESAT"
    book.properties.title = f"Certificats d'emploi {campaign.campaign(settings)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(caf: str | None, name: str | None) -> str:
    if caf is None:
        return "Certificats"
    return _SHEET_FORBIDDEN.sub(" ", f"{caf} {name or ''}").strip()[:31]


def _fill(ws: Any, workers: list[campaign.Candidate]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    names = list(columns().values())
    header_fill = PatternFill("solid", fgColor="DDE3EA")
    input_fill = PatternFill("solid", fgColor="FFF8DC")
    unlocked = Protection(locked=False)
    for col, name in enumerate(names, start=1):
        cell = ws.cell(1, col, name)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row, worker in enumerate(workers, start=2):
        identity = (worker.allocataire, ROLE_SHOWN[worker.person_role], worker.last_name, worker.first_name)
        for col, value in enumerate(identity, start=1):
            cell = ws.cell(row, col, value)
            cell.data_type = "s"  # text, whatever it starts with: never a formula
            cell.number_format = "@"
        for col in range(len(identity) + 1, len(names) + 1):
            cell = ws.cell(row, col)
            cell.number_format = NUMBER_FORMAT
            cell.protection = unlocked
            cell.fill = input_fill
    if workers:
        validation = DataValidation(
            type="decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            errorTitle="Montant refusé",
            error="Saisissez un montant en euros, positif ou nul, en chiffres (par exemple 1234,56).",
            showInputMessage=True,
            promptTitle="Montant brut de novembre",
            prompt="En euros, en chiffres, par exemple 1234,56.",
        )
        ws.add_data_validation(validation)
        validation.add(f"E2:G{len(workers) + 1}")
    for letter, width in zip("ABCDEFG", (16, 14, 24, 20, 24, 24, 24), strict=True):
        ws.column_dimensions[letter].width = width
    ws.row_dimensions[1].height = 45
    ws.freeze_panes = "A2"
    ws.protection.sheet = True  # identity locked; no password: a guard against slips, not a lock
    ws.protection.formatColumns = False  # widths may still be changed
    ws.protection.formatRows = False


# --------------------------------------------------------------------------------------------
# Reading: the file → lines (or a refusal), then lines → rows matched to the ESAT's workers.


@dataclass(slots=True)
class _Line:
    sheet: str | None
    caf: str | None  # from the sheet's title (the template), when it names a Caf of the ESAT
    line: int
    cells: dict[str, Any]  # column id → raw value


def read(store: Store, settings: Settings, account: Account, data: bytes, filename: str) -> Upload:
    """Read an uploaded XLSX or CSV of certificats for the account's ESAT (``partner.NotAllowed``
    for an account without ESAT). A refused file gives ``refused`` and nothing else."""
    expected = {c.worker_id: c for c in campaign.candidates(store, settings, account)}
    workers = store.all(
        "SELECT id, caf_code, allocataire, person_role, last_name FROM worker WHERE esat_id = ?",
        [account.esat_id],
    )
    cafs = {w["caf_code"] for w in workers}
    try:
        lines = _lines(bytes(data or b""), filename, cafs)
    except Refused as exc:
        return Upload(refused=f"{where(exc.line)} : {exc.message}" if exc.line else exc.message)
    upload, unmatched = _match(lines, workers, expected, campaign.campaign(settings))
    intruders = _other_esats(store, account, unmatched)
    if intruders:
        first = intruders[0]
        audit.log(
            store, account.id, ACTION_DENIED, f"certificats:ligne:{first[0].line}:travailleur:{first[1]}"
        )
        shown = ", ".join(_lower(where(i.line, i.sheet)) for i, _ in intruders[:MAX_SHOWN])
        return Upload(
            refused=(
                f"Aucun travailleur de votre ESAT ne correspond au numéro d'allocataire et à la personne "
                f"de cette ligne ({shown}). Le fichier est refusé en entier : rien n'a été importé. "
                "Corrigez ou retirez la ligne, puis déposez le fichier à nouveau."
            )
        )
    return upload


def _lines(data: bytes, filename: str, cafs: set[str]) -> list[_Line]:
    """Every non-empty line of the file, or ``Refused`` (formulas included: the whole file)."""
    lines: list[_Line] = []
    formulas: list[str] = []
    formula_count = 0
    with contextlib.closing(_sheets(data, filename)) as sheets:
        for name, title, sheet in sheets:
            names = _column_names()
            index = _header(title, sheet.header)
            caf = _caf_of(name, cafs)
            at = {i: c for c, i in index.items()}
            for i, value in enumerate(sheet.header):
                if value is FORMULA:
                    formula_count += 1
                    formulas.append(f"{_lower(where(sheet.header_line, title))}, colonne {_letter(i)}")
            for line, values in sheet.rows:
                if all(blank(v) for v in values):
                    continue
                if len(lines) >= MAX_ROWS:
                    raise Refused(worker_import.too_many_rows(MAX_ROWS))
                for i, value in enumerate(values):
                    if value is FORMULA or (
                        i in at and isinstance(value, str) and value.lstrip().startswith(FORMULA_START)
                    ):
                        formula_count += 1
                        if len(formulas) < MAX_SHOWN:
                            column = f"« {names[at[i]]} »" if i in at else _letter(i)
                            formulas.append(f"{_lower(where(line, title))}, colonne {column}")
                n = len(values)
                cells = {c: (values[i] if i < n else None) for c, i in index.items()}
                lines.append(_Line(title, caf, line, cells))
    if formula_count:
        more = f" et {formula_count - len(formulas)} autre(s)" if formula_count > len(formulas) else ""
        raise Refused(
            f"Le fichier contient des formules ({'; '.join(formulas)}{more}) : les formules ne sont jamais "
            "calculées, et une cellule de texte commençant par =, + ou @ en est une pour un tableur. "
            "Remplacez-les par leurs valeurs (Copier, puis Collage spécial › Valeurs) : rien n'a été importé."
        )
    if not lines:
        raise Refused("Le fichier ne contient que la ligne d'en-tête : aucun certificat à lire.")
    return lines


def _sheets(data: bytes, filename: str) -> Iterator[tuple[str | None, str | None, worker_import.Sheet]]:
    """The sheets with a header, read lazily: the CSV, or each non-empty worksheet of the XLSX, with
    its name, and its name again when messages must say it (the workbook has several sheets)."""
    if worker_import.check_file(data, filename, LIMITS) == ".csv":
        yield None, None, worker_import.open_csv(data, MAX_ROWS)
        return
    book = worker_import.open_book(data, LIMITS)
    try:
        if sum(worker_import.row_tags(data, ws) for ws in book.worksheets) > MAX_ROW_TAGS:
            raise Refused(worker_import.too_many_rows(MAX_ROWS))
        found = False
        for ws in book.worksheets:
            sheet = worker_import.open_worksheet(ws, book.epoch, _cell)
            if sheet is not None:
                found = True
                name = worker_import.printable(ws.title, 31)
                yield name, name if len(book.worksheets) > 1 else None, sheet
        if not found:
            raise Refused("Le classeur est vide : aucune de ses feuilles ne contient de ligne.")
    finally:
        book.close()


def _cell(cell: Any) -> Any:
    """An XLSX cell as worker_import reads it, except that a time or a duration stays what it is
    (a wrong type for an amount, not a formula)."""
    if isinstance(cell.value, time | timedelta) and getattr(cell, "data_type", None) != "f":
        return cell.value
    return worker_import.xlsx_value(cell)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _header(title: str | None, header: list[Any]) -> dict[str, int]:
    """Column id → index; other columns (a payroll export has many) are ignored."""
    index: dict[str, int] = {}
    repeated: list[str] = []
    canonical = _canonical()
    for i, raw in enumerate(header):
        if blank(raw) or raw is FORMULA:
            continue
        column = canonical.get(header_key(raw))
        if column is None:
            continue
        if column in index:
            repeated.append(column)
        else:
            index[column] = i
    names = _column_names()
    missing = [names[c] for c in REQUIRED if c not in index]
    in_sheet = f"Feuille « {title} » : c" if title else "C"
    if missing:
        raise Refused(
            f"{in_sheet}olonnes manquantes dans la ligne d'en-tête : {', '.join(missing)}. "
            "La première ligne doit porter les noms des colonnes, comme dans le modèle à télécharger."
        )
    if repeated:
        shown = ", ".join(names[c] for c in dict.fromkeys(repeated))
        raise Refused(f"{in_sheet}olonnes en double dans la ligne d'en-tête : {shown}.")
    return index


def _caf_of(title: str | None, cafs: set[str]) -> str | None:
    """The Caf a sheet's title starts with (``441 Caf de Loire-Atlantique``), if one of the ESAT's."""
    first = (title or "").split(" ", 1)[0]
    return first if first in cafs else None


def _match(
    lines: list[_Line], workers: list[dict[str, Any]], expected: dict[int, campaign.Candidate], year: int
) -> tuple[Upload, list[_Unmatched]]:
    """Rows, problems and already filed lines; and the lines naming no worker of the ESAT, for the
    check of the other ESATs."""
    by_number: dict[str, list[dict[str, Any]]] = {}
    for w in workers:
        by_number.setdefault(w["allocataire"], []).append(w)
    upload = Upload()
    unmatched: list[_Unmatched] = []
    seen: dict[int, _Line] = {}
    for item in lines:
        if all(blank(item.cells.get(a)) for a in AMOUNTS):
            upload.skipped += 1
            continue
        found: list[Problem] = []
        raw, worker, missing = _identify(item, by_number, found)
        if missing is not None:
            unmatched.append(missing)
        if worker is None:
            upload.problems += found
            continue
        first = seen.setdefault(worker["id"], item)
        if first is not item:
            found.append(
                _problem(
                    item,
                    "numero_allocataire",
                    f"Ce travailleur figure déjà plus haut ({_lower(where(first.line, first.sheet))}) : "
                    "une seule ligne par travailleur.",
                )
            )
        candidate = expected.get(worker["id"])
        if candidate is None:
            found.append(
                _problem(
                    item,
                    "numero_allocataire",
                    f"Aucun certificat n'est attendu pour ce travailleur pour la campagne {year} : "
                    f"selon la Caf, il n'a pas travaillé dans votre ESAT en novembre {year}.",
                )
            )
        if found:
            upload.problems += found
        elif candidate is not None and candidate.receipt_number:
            upload.already.append(Already(item.line, candidate.receipt_number, item.sheet))
        else:
            upload.rows.append(campaign.Row(worker["id"], raw, item.line))
            if item.sheet:
                upload.sheet_of[worker["id"]] = item.sheet
    return upload, unmatched


@dataclass(frozen=True, slots=True)
class _Unmatched:
    """A line naming no worker of the ESAT: what it names."""

    item: _Line
    number: str
    role: str | None
    caf: str | None


def _problem(item: _Line, column: str | None, text: str) -> Problem:
    return Problem(item.line, _column_names()[column] if column else None, text, item.sheet)


def _identify(
    item: _Line, by_number: dict[str, list[dict[str, Any]]], found: list[Problem]
) -> tuple[dict[str, str], dict[str, Any] | None, _Unmatched | None]:
    """The amounts as text, and the one worker of the ESAT the line names (None after a problem,
    added to ``found``); the line when it names no worker of the ESAT."""
    cells = item.cells

    def problem(column: str, text: str) -> None:
        found.append(_problem(item, column, text))

    raw = {a: _amount(cells.get(a), a, problem) for a in AMOUNTS}
    number = worker_import.allocataire_number(cells.get("numero_allocataire"), problem)
    role = _role(cells.get("personne"), problem)
    caf = _caf(cells.get("caf"), problem)
    if number is None or role is False or caf is False:
        return raw, None, None
    caf = caf or item.caf
    among = [
        w
        for w in by_number.get(number, [])
        if (role is None or w["person_role"] == role) and (caf is None or w["caf_code"] == caf)
    ]
    if not among:
        problem(
            "numero_allocataire",
            "Aucun travailleur de votre ESAT ne correspond à ce numéro d'allocataire"
            + (" et à cette personne." if role else "."),
        )
        return raw, None, _Unmatched(item, number, role, caf)
    if len({w["person_role"] for w in among}) > 1:
        problem(
            "personne",
            "Ce numéro d'allocataire correspond à plusieurs travailleurs de votre ESAT : "
            "indiquez la personne (Responsable ou Conjoint).",
        )
        return raw, None, None
    if len(among) > 1:
        problem(
            "numero_allocataire",
            "Ce numéro d'allocataire et cette personne existent dans plusieurs Caf pour votre ESAT : "
            "déposez le modèle (une feuille par Caf) ou ajoutez une colonne « Caf ».",
        )
        return raw, None, None
    worker = among[0]
    if not _same_name(cells.get("nom"), worker["last_name"]):
        problem(
            "nom",
            "Le nom ne correspond pas à celui du travailleur de ce numéro d'allocataire : vérifiez "
            "le numéro et la personne (ou videz la cellule du nom).",
        )
    return raw, worker, None


def _amount(value: Any, column: str, problem: Any) -> str:
    """A cell as the text a user would type: a number ``1234.5`` → ``1234,5``; a text as is.
    ``problem(column, message)`` for a cell that is no amount at all (a date, VRAI…)."""
    label = _column_names()[column]

    def wrong(text: str) -> str:
        problem(column, text)
        return ""

    if blank(value):
        return ""
    if isinstance(value, bool):
        return wrong(
            f"« {label} » contient VRAI ou FAUX au lieu d'un montant en chiffres, par exemple 1 234,56."
        )
    if isinstance(value, datetime | date | time | timedelta):
        return wrong(
            f"« {label} » contient une date ou une heure au lieu d'un montant en chiffres, par exemple "
            "1 234,56 (vérifiez le format de la cellule)."
        )
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            return wrong(message("amount_format", label=label))
        number = Context(prec=15).plus(number)  # what a spreadsheet shows: 15 significant digits
        return format(number, "f").replace(".", ",")
    text = unicodedata.normalize("NFC", str(value)).strip()
    if len(text) > MAX_AMOUNT_TEXT:
        return wrong(message("amount_format", label=label))
    return text


def _role(value: Any, problem: Any) -> str | bool | None:
    """RESPONSABLE or CONJOINT; None when empty (any person); False after a problem."""
    if blank(value):
        return None
    role = ROLES.get(fold(value)) if isinstance(value, str) else None
    if role is None:
        problem(
            "personne",
            "La personne doit être Responsable ou Conjoint (ou vide quand le numéro d'allocataire "
            "ne désigne qu'un travailleur de votre ESAT).",
        )
        return False
    return role


def _caf(value: Any, problem: Any) -> str | bool | None:
    """A Caf code; None when empty; False after a problem."""
    if blank(value):
        return None
    text = _SPACES.sub("", str(value))
    if not _CAF_CODE.fullmatch(text):
        problem("caf", "Le code de la Caf doit compter 3 chiffres, par exemple 441.")
        return False
    return text


def _same_name(value: Any, stored: str) -> bool:
    """No name, or one that matches the stored one (case, accents, spaces and hyphens ignored;
    one may hold the other: a compound name)."""
    if blank(value):
        return True
    typed = _NAME_NOISE.sub("", fold(value))
    known = _NAME_NOISE.sub("", fold(stored))
    return bool(typed) and (typed in known or known in typed)


def _other_esats(store: Store, account: Account, unmatched: list[_Unmatched]) -> list[tuple[_Line, int]]:
    """The lines naming no worker of the account's ESAT that name one of another ESAT, each with
    that worker's id."""
    numbers = sorted({u.number for u in unmatched})
    others: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for w in store.all(
            f"SELECT id, caf_code, allocataire, person_role FROM worker WHERE esat_id <> ? AND allocataire IN ({marks})",  # noqa: S608 (only marks)
            [account.esat_id, *chunk],
        ):
            others.setdefault(w["allocataire"], []).append(w)
    found = []
    for u in unmatched:
        hits = [
            w
            for w in others.get(u.number, [])
            if (u.role is None or w["person_role"] == u.role) and (u.caf is None or w["caf_code"] == u.caf)
        ]
        if hits:
            found.append((u.item, hits[0]["id"]))
    return found
