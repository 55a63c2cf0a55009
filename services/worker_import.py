"""The worker file extracted from the Caf's system (format 1, docs/worker-file.md).

A Caf administrator uploads a CSV or XLSX extraction of the AAH beneficiaries who work in an
ESAT; it creates and updates the ``worker`` rows of the administrator's Caf.

- :func:`dry_run` reads and checks every row and counts the new, changed, unchanged and absent
  workers; it writes nothing.
- :func:`apply` reads and checks the file again and, when no row has a problem, applies it in one
  transaction: new workers inserted, changed ones updated, unchanged ones not touched, absent ones
  flagged (``absent_since``), never deleted; one ``workers_imported`` audit row.

The file is parsed once in plain Python, compared with one SELECT of the Caf's workers, and
written with bulk statements (``Tx.insert_rows`` and a staging table read by one ``UPDATE … FROM``),
on DuckDB and PostgreSQL alike. Hostile files are refused with a French message before anything
is written: over 50 MB, other extensions (.xlsm…), not a real XLSX, zip bombs, more than
200,000 rows, NUL bytes, formulas (never evaluated). Messages never repeat a cell's value (the
command line prints them): line and column say where.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from stdnum.fr import siret as stdnum_siret

from data.store import Store, Tx
from services import audit, clock, partner
from services.accounts import Account
from services.config import load_settings

FORMAT_VERSION = 1
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000  # worker rows (the header excluded)
MAX_PROBLEMS = 5_000  # problems kept in a report; the rest are counted in one last line
MAX_TEXT = 100  # nom, prénom
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024  # every member of the XLSX archive, once inflated
MAX_XLSX_SHARED_STRINGS = 64 * 1024 * 1024  # xl/sharedStrings.xml is held in memory by openpyxl
MAX_XLSX_MEMBERS = 10_000
ACTION = "workers_imported"
STAGE = "worker_import_stage"  # temporary table of one apply transaction

# Canonical column → what a French message calls it.
COLUMNS: dict[str, str] = {
    "numero_allocataire": "le numéro d'allocataire",
    "personne": "la personne",
    "nom": "le nom",
    "prenom": "le prénom",
    "date_naissance": "la date de naissance",
    "siret_esat": "le SIRET de l'ESAT",
    "taux_activite_esat": "le taux d'activité en ESAT",
    "double_activite": "la double activité",
    "date_debut_double_activite": "la date de début de la double activité",
    "taux_milieu_ordinaire": "le taux d'activité en milieu ordinaire",
    "statut": "le statut",
}
# Other spellings of a header, once normalised (see header_key), besides the canonical names.
ALIASES = {
    "numerodallocataire": "numero_allocataire",
    "datedenaissance": "date_naissance",
    "tauxdactiviteesat": "taux_activite_esat",
}
PERSON_ROLES = {"responsable": "RESPONSABLE", "responsable du dossier": "RESPONSABLE", "conjoint": "CONJOINT"}
STATUSES = {"": "ACTIVE", "actif": "ACTIVE", "parti": "LEFT", "conge": "ON_LEAVE"}
YES = {"oui", "o", "1", "true", "vrai"}
NO = {"", "non", "n", "0", "false", "faux"}
EARLIEST = date(1900, 1, 1)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)

_HEADER_NOISE = re.compile(r"[\s_\-'’.\"]+")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
# Control characters and invisible formatting (bidi overrides, zero-width…): never in a name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")
_FORMULA_START = ("=", "+", "-", "@")
_RATE = re.compile(r"[0-9]{1,3}(?:[.,][0-9]+)?")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_FR_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_SERIAL = re.compile(r"[0-9]{1,7}")
_ALLOCATAIRE = re.compile(r"[0-9]{7}")
_INTEGRAL = re.compile(r"([0-9]+)[.,]0*")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, or an encrypted (password) workbook


@dataclass(frozen=True)
class Problem:
    line: int | None  # spreadsheet line number (the header is line 1); None: the whole file
    column: str | None  # canonical column name (docs/worker-file.md); None: the whole line or file
    message: str  # French


@dataclass
class ImportReport:
    rows: int  # worker lines read (empty lines are not counted)
    new: int
    changed: int
    unchanged: int
    absent: int  # workers of the Caf in the store and not in the file
    problems: list[Problem]
    applied: bool

    @property
    def ok(self) -> bool:
        return not self.problems


def dry_run(store: Store, account: Account, data: bytes, filename: str) -> ImportReport:
    """Check the file for the administrator's Caf; nothing is written (``partner.NotAllowed`` if not admin)."""
    return dry_run_for_caf(store, partner.admin_caf(store, account), data, filename)


def apply(store: Store, account: Account, data: bytes, filename: str) -> ImportReport:
    """Check the file again and, without any problem, apply it for the administrator's Caf."""
    caf_code = partner.admin_caf(store, account)
    return apply_for_caf(store, caf_code, data, filename, account.id)


def dry_run_for_caf(store: Store, caf_code: str, data: bytes, filename: str) -> ImportReport:
    """:func:`dry_run` for a Caf code (the command line, which has no account)."""
    return _run(store, caf_code, data, filename, actor_id=None, write=False)


def apply_for_caf(
    store: Store, caf_code: str, data: bytes, filename: str, actor_id: int | None
) -> ImportReport:
    """:func:`apply` for a Caf code; ``actor_id`` goes in the audit row (None: the command line)."""
    return _run(store, caf_code, data, filename, actor_id=actor_id, write=True)


# --------------------------------------------------------------------------------------------
# Reading: bytes → header and raw rows (CSV or XLSX), or a file-level refusal. The readers below
# (check_file, open_csv, open_book, open_worksheet…) are shared with services/spreadsheet.py, which
# reads the certificats of a campaign with its own limits.

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What a reader accepts before refusing a whole file."""

    max_bytes: int
    max_rows: int  # data lines (the header excluded)
    max_uncompressed: int  # every member of an XLSX archive, once inflated
    max_shared_strings: int  # xl/sharedStrings.xml is held in memory by openpyxl


LIMITS = Limits(MAX_BYTES, MAX_ROWS, MAX_XLSX_UNCOMPRESSED, MAX_XLSX_SHARED_STRINGS)
UNREADABLE_XLSX = "Le fichier .xlsx n'est pas un classeur Excel valide : enregistrez-le à nouveau depuis le tableur, ou en CSV."


class Refused(Exception):
    """The whole file is refused (a French message; ``line`` when one line is the cause)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Formula:
    """A spreadsheet formula: refused for its cell, never evaluated."""


FORMULA = _Formula()


@dataclass
class Sheet:
    header: list[Any]
    header_line: int
    rows: Iterator[tuple[int, Sequence[Any]]]  # (spreadsheet line, raw values)
    epoch: datetime | None = None  # XLSX: the workbook's date epoch (serial numbers)
    close: Any = None


def _open(data: bytes, filename: str) -> Sheet:
    if check_file(data, filename, LIMITS) == ".xlsx":
        return _open_xlsx(data)
    return open_csv(data, MAX_ROWS)


def check_file(data: bytes, filename: str, limits: Limits) -> str:
    """The size, the extension and emptiness of an upload; its suffix, ``.csv`` or ``.xlsx``."""
    if len(data) > limits.max_bytes:
        size = f"{len(data) / MIB:.1f}".replace(".", ",")
        raise Refused(f"Le fichier dépasse {limits.max_bytes // MIB} Mo ({size} Mo) : rien n'a été importé.")
    suffix = PurePath(str(filename or "")).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        shown = f"« {printable(suffix)} »" if suffix else "sans extension"
        extra = " Les classeurs à macros (.xlsm) ne sont pas acceptés." if suffix == ".xlsm" else ""
        raise Refused(f"Format de fichier refusé ({shown}) : déposez un fichier .csv ou .xlsx.{extra}")
    if not data.strip():
        raise Refused("Le fichier est vide.")
    return suffix


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(
                "Le fichier annonce l'encodage UTF-8 mais contient des octets invalides : "
                "enregistrez-le à nouveau en « CSV UTF-8 »."
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise Refused("Le fichier UTF-16 est illisible : enregistrez-le en « CSV UTF-8 ».") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")  # Windows "Latin-1" of French spreadsheets
    except UnicodeDecodeError:
        return data.decode("latin-1")  # never fails; stray C1 controls are then refused per cell


def open_csv(data: bytes, max_rows: int) -> Sheet:
    """A CSV decoded (UTF-8 with or without BOM, UTF-16 with a BOM, Windows-1252), its separator
    sniffed from the header line; refused whole over ``max_rows`` non-empty records."""
    if data.startswith(b"PK\x03\x04"):
        raise Refused("Ce fichier est un classeur (XLSX) et non un CSV : déposez-le avec l'extension .xlsx.")
    text = _decode(data)
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise Refused(
            "Le fichier contient un caractère nul (NUL) : ce n'est pas un fichier texte CSV. "
            "Enregistrez-le à nouveau depuis le tableur.",
            line,
        )
    first = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (";", ",", "\t")}
    sep = max(counts, key=lambda s: (counts[s], s == ";"))
    if text.count("\n") > max_rows:  # maybe too many: count the records before checking any
        records = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        with contextlib.suppress(csv.Error):  # reported with its line by the real pass
            if sum(1 for r in records if any(v.strip() for v in r)) > max_rows + 1:
                raise Refused(too_many_rows(max_rows))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows = _csv_rows(reader)
    for line, values in rows:
        if any(v.strip() for v in values):
            return Sheet(header=list(values), header_line=line, rows=rows)
    raise Refused("Le fichier est vide.")


def _csv_rows(reader: Any) -> Iterator[tuple[int, Sequence[Any]]]:
    line = 0
    try:
        for values in reader:
            line += 1
            yield line, values
    except csv.Error:
        raise Refused(
            "Le fichier CSV est mal formé à cette ligne (guillemet ou cellule trop longue).", line + 1
        ) from None


def _open_xlsx(data: bytes) -> Sheet:
    book = open_book(data, LIMITS)
    try:
        if not book.worksheets:
            raise Refused("Le classeur ne contient aucune feuille de calcul.")
        first = book.worksheets[0]
        if row_tags(data, first) > MAX_ROWS + 1:
            raise Refused(too_many_rows(MAX_ROWS))
        sheet = open_worksheet(first, book.epoch)
        if sheet is None:
            raise Refused("Le classeur est vide (sa première feuille ne contient aucune ligne).")
    except Refused:
        book.close()
        raise
    sheet.close = book.close
    return sheet


def open_book(data: bytes, limits: Limits) -> Any:
    """An openpyxl workbook (read only, formulas kept as formulas, never evaluated) once the archive
    is known to be a real XLSX without macros and of a reasonable inflated size. Close it."""
    if data.startswith(_OLE2):
        raise Refused(
            "Ce fichier n'est pas un classeur .xlsx : c'est un classeur de l'ancien format .xls ou un "
            "classeur protégé par un mot de passe. Enregistrez-le au format .xlsx sans mot de passe, ou en CSV."
        )
    if not data.startswith(b"PK\x03\x04"):
        raise Refused(UNREADABLE_XLSX)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise Refused(UNREADABLE_XLSX) from None
    too_big = (
        "Le classeur est trop volumineux une fois décompressé : rien n'a été importé "
        "(enregistrez-le en CSV, ou vérifiez qu'il ne contient que les lignes des travailleurs)."
    )
    if len(members) > MAX_XLSX_MEMBERS or sum(m.file_size for m in members) > limits.max_uncompressed:
        raise Refused(too_big)
    names = {m.filename.lower(): m for m in members}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise Refused(
            "Le classeur contient des macros : enregistrez-le au format .xlsx sans macros, ou en CSV."
        )
    strings = names.get("xl/sharedstrings.xml")
    if strings is not None and strings.file_size > limits.max_shared_strings:
        raise Refused(too_big)
    import openpyxl  # imported here: the CSV path does not need it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", unknown extensions: not our concern
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # a hostile or damaged archive: any failure of the reader is the same answer
        raise Refused(UNREADABLE_XLSX) from None


def open_worksheet(worksheet: Any, epoch: datetime | None, value: Any = None) -> Sheet | None:
    """The header (first non-empty row) and the rows to come of a worksheet; None when it is empty.
    ``value`` turns a cell into what the checks read (default :func:`xlsx_value`)."""
    worksheet.reset_dimensions()  # the stored dimension may lie (A1:XFD1048576): read what is there
    rows = xlsx_rows(worksheet, value or xlsx_value)
    for line, values in rows:
        if any(not blank(v) for v in values):
            return Sheet(header=list(values), header_line=line, rows=rows, epoch=epoch)
    return None


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")


def row_tags(data: bytes, worksheet: Any) -> int:
    """How many ``<row>`` elements a worksheet of the XLSX ``data`` holds (an upper bound of its
    lines), read in chunks: a huge sheet is refused before openpyxl parses it."""
    path = getattr(worksheet, "_worksheet_path", None)
    if not path:
        return 0
    count, tail = 0, b""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(path) as source:
            while chunk := source.read(1 << 20):
                block = tail + chunk
                count += len(_ROW_TAG.findall(block))
                tail = block[-32:]
                count -= len(_ROW_TAG.findall(tail))  # counted again with the next chunk
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0  # openpyxl reports the damage itself
    return count + len(_ROW_TAG.findall(tail))


def too_many_rows(max_rows: int) -> str:
    limit = f"{max_rows:,}".replace(",", "\u202f")
    return f"Le fichier compte plus de {limit} lignes de travailleurs : rien n'a été importé."


def xlsx_rows(worksheet: Any, value: Any = None) -> Iterator[tuple[int, Sequence[Any]]]:
    line = 0
    read = value or xlsx_value
    try:  # no warnings.catch_warnings here: it would stay switched on while the generator waits
        for cells in worksheet.iter_rows():
            line += 1
            yield line, [read(c) for c in cells]
    except Refused:
        raise
    except Exception:  # malformed XML inside the archive
        raise Refused(UNREADABLE_XLSX, line + 1) from None


def xlsx_value(cell: Any) -> Any:
    value = cell.value
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "f" or not isinstance(
        value, str | int | float | Decimal | datetime | date | bool
    ):
        return FORMULA  # "=…" text, or openpyxl's ArrayFormula / DataTableFormula objects
    if isinstance(value, str):
        return FORMULA if value.lstrip().startswith("=") else value
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        if "%" in (cell.number_format or ""):  # 80 % is stored as 0.8
            return Decimal(number) * HUNDRED
        return number
    return value


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def printable(text: str, limit: int = 40) -> str:
    clean = _CONTROL.sub("", str(text)).strip()
    return clean[:limit] + ("…" if len(clean) > limit else "")


# --------------------------------------------------------------------------------------------
# Checking: header and rows → typed rows and problems (plain Python, no store).


@dataclass(slots=True)
class _Row:
    line: int
    allocataire: str
    person_role: str
    last_name: str
    first_name: str
    birth_date: date
    siret: str
    rate_esat: Decimal
    double_activity: bool
    double_activity_since: date | None
    rate_mo: Decimal | None
    status: str


@dataclass
class _Parsed:
    rows: list[_Row] = field(default_factory=list)
    lines: int = 0  # worker lines read
    keys: set[tuple[str, str]] = field(default_factory=set)  # (allocataire, role) of every line, even invalid
    problems: list[Problem] = field(default_factory=list)
    dropped: int = 0  # problems found past MAX_PROBLEMS: counted, not kept (memory of a hopeless file)
    fatal: bool = False  # the whole file is refused: no count is meaningful


def header_key(name: Any) -> str:
    text = unicodedata.normalize("NFKD", str(name if name is not None else "")).replace("\ufeff", "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return _HEADER_NOISE.sub("", text)


_CANONICAL = {header_key(c): c for c in COLUMNS} | ALIASES


def _columns(header: Sequence[Any]) -> tuple[dict[str, int], list[Problem], int]:
    """Canonical column → index; file-level problems (missing, unknown, repeated); header width."""
    index: dict[str, int] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    width = 0
    for i, raw in enumerate(header):
        if blank(raw):
            continue
        width = i + 1
        if raw is FORMULA:
            unknown.append(f"colonne {i + 1} (formule)")
            continue
        column = _CANONICAL.get(header_key(raw))
        if column is None:
            unknown.append(f"« {printable(raw)} »")
        elif column in index:
            repeated.append(column)
        else:
            index[column] = i
    problems = []
    missing = [c for c in COLUMNS if c not in index]
    if missing:
        problems.append(
            Problem(
                None,
                None,
                f"Colonnes manquantes : {', '.join(missing)} (format 1 du fichier des travailleurs).",
            )
        )
    if unknown:
        problems.append(
            Problem(
                None,
                None,
                f"Colonnes inconnues : {', '.join(unknown)} (format 1 du fichier des travailleurs).",
            )
        )
    if repeated:
        problems.append(Problem(None, None, f"Colonnes en double : {', '.join(sorted(set(repeated)))}."))
    return index, problems, width


def _parse(data: bytes, filename: str, today: date) -> _Parsed:
    parsed = _Parsed()
    try:
        sheet = _open(data, filename)
    except Refused as exc:
        parsed.problems.append(Problem(exc.line, None, exc.message))
        parsed.fatal = True
        return parsed
    try:
        _check_sheet(sheet, parsed, today)
    except Refused as exc:
        parsed.problems = [Problem(exc.line, None, exc.message)]
        parsed.rows = []
        parsed.fatal = True
    finally:
        if sheet.close is not None:
            sheet.close()
    return parsed


def _check_sheet(sheet: Sheet, parsed: _Parsed, today: date) -> None:
    index, problems, width = _columns(sheet.header)
    if problems:
        parsed.problems = problems
        parsed.fatal = True
        return
    first_seen: dict[tuple[str, str], int] = {}
    outside = [i for i in range(width) if blank(sheet.header[i])]  # columns without a name
    for line, values in sheet.rows:
        if all(blank(v) for v in values):
            continue
        parsed.lines += 1
        if parsed.lines > MAX_ROWS:
            raise Refused(too_many_rows())
        if any(not blank(v) for v in values[width:]) or any(
            i < len(values) and not blank(values[i]) for i in outside
        ):
            parsed.problems.append(
                Problem(line, None, "La ligne a des valeurs hors des colonnes de l'en-tête.")
            )
        row, key = _check_row(line, values, index, sheet.epoch, today, parsed.problems)
        if key is None:
            continue
        first = first_seen.get(key)
        if first is not None:
            parsed.problems.append(
                Problem(
                    line,
                    "numero_allocataire",
                    f"Ce travailleur figure déjà à la ligne {first} (même numéro d'allocataire et même personne).",
                )
            )
            continue
        first_seen[key] = line
        parsed.keys.add(key)
        if row is not None:
            parsed.rows.append(row)
        if len(parsed.problems) > 2 * MAX_PROBLEMS:
            parsed.dropped += len(parsed.problems) - MAX_PROBLEMS
            del parsed.problems[MAX_PROBLEMS:]
    if parsed.lines == 0:
        raise Refused("Le fichier ne contient que la ligne d'en-tête : aucun travailleur à importer.")


def _check_row(
    line: int,
    values: Sequence[Any],
    index: dict[str, int],
    epoch: datetime | None,
    today: date,
    found: list[Problem],
) -> tuple[_Row | None, tuple[str, str] | None]:
    """The typed row (None when a cell has a problem, added to ``found``) and the worker's key."""
    n = len(values)
    raw = {c: (values[i] if i < n else None) for c, i in index.items()}
    formulas = {c for c, v in raw.items() if v is FORMULA}
    problems = [
        Problem(
            line,
            column,
            "La cellule contient une formule : remplacez-la par sa valeur (les formules ne sont jamais calculées).",
        )
        for column in index
        if column in formulas
    ]

    def problem(column: str, message: str) -> None:
        if column not in formulas:  # a formula cell has its own message, and only that one
            problems.append(Problem(line, column, message))

    def value_of(column: str) -> Any:
        return None if column in formulas else raw[column]

    allocataire = allocataire_number(value_of("numero_allocataire"), problem)
    role = _choice(value_of("personne"), PERSON_ROLES)
    if role is None:
        problem("personne", "La personne doit être RESPONSABLE ou CONJOINT.")
    key = (allocataire, role) if allocataire is not None and role is not None else None
    last_name = _name("nom", value_of("nom"), problem)
    first_name = _name("prenom", value_of("prenom"), problem)
    birth = _day("date_naissance", value_of("date_naissance"), epoch, problem, required=True)
    if birth is not None and birth > today:
        problem("date_naissance", "La date de naissance ne peut pas être dans le futur.")
        birth = None
    siret = _siret(value_of("siret_esat"), problem)
    rate_esat = _rate("taux_activite_esat", value_of("taux_activite_esat"), problem, required=True)
    if rate_esat is not None and not (0 < rate_esat <= HUNDRED):
        problem(
            "taux_activite_esat",
            "Le taux d'activité en ESAT doit être supérieur à 0 % et au plus égal à 100 %.",
        )
        rate_esat = None
    double = _yes_no(value_of("double_activite"))
    if double is None:
        problem("double_activite", "La double activité doit valoir oui ou non.")
    since = _day("date_debut_double_activite", value_of("date_debut_double_activite"), epoch, problem)
    rate_mo = _rate("taux_milieu_ordinaire", value_of("taux_milieu_ordinaire"), problem)
    if double:
        if since is None and blank(value_of("date_debut_double_activite")):
            problem(
                "date_debut_double_activite",
                "La date de début de la double activité est obligatoire quand double_activite vaut oui.",
            )
        elif since is not None and birth is not None and since <= birth:
            problem(
                "date_debut_double_activite",
                "La date de début de la double activité doit être postérieure à la date de naissance.",
            )
        if rate_mo is None and blank(value_of("taux_milieu_ordinaire")):
            problem(
                "taux_milieu_ordinaire",
                "Le taux d'activité en milieu ordinaire est obligatoire quand double_activite vaut oui.",
            )
        elif rate_mo is not None and not (0 < rate_mo < HUNDRED):
            problem(
                "taux_milieu_ordinaire",
                "Le taux d'activité en milieu ordinaire doit être supérieur à 0 % et inférieur à 100 %.",
            )
        elif rate_mo is not None and rate_esat is not None and rate_esat + rate_mo > HUNDRED:
            problem(
                "taux_milieu_ordinaire",
                "Le taux en ESAT et le taux en milieu ordinaire dépassent 100 % à eux deux.",
            )
    elif double is False:
        if since is not None:
            problem(
                "date_debut_double_activite",
                "La date de début de la double activité doit rester vide quand double_activite vaut non.",
            )
        if rate_mo is not None and rate_mo != 0:
            problem(
                "taux_milieu_ordinaire",
                "Le taux d'activité en milieu ordinaire doit rester vide quand double_activite vaut non.",
            )
        since, rate_mo = None, None
    status = _choice(value_of("statut"), STATUSES)
    if status is None:
        problem("statut", "Le statut doit être ACTIF, PARTI ou CONGE (vide : ACTIF).")
    if problems:
        found.extend(problems)
        return None, key
    if (
        key is None
        or last_name is None
        or first_name is None
        or birth is None
        or siret is None
        or rate_esat is None
        or status is None
    ):
        return None, key  # not reachable: each None above came with a problem
    return (
        _Row(
            line=line,
            allocataire=key[0],
            person_role=key[1],
            last_name=last_name.upper(),
            first_name=first_name,
            birth_date=birth,
            siret=siret,
            rate_esat=rate_esat,
            double_activity=bool(double),
            double_activity_since=since,
            rate_mo=rate_mo,
            status=status,
        ),
        key,
    )


def _cap(label: str) -> str:
    return label[:1].upper() + label[1:]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def fold(value: Any) -> str:
    """Lower case, accents removed, inner spaces collapsed: for the few fixed choices."""
    text = unicodedata.normalize("NFKD", _text(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(text.split())


def _choice(value: Any, choices: dict[str, str]) -> str | None:
    if isinstance(value, bool | int | float | Decimal | date):
        return None
    return choices.get(fold(value))


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return True if value == 1 else False if value == 0 else None
    text = fold(value)
    return True if text in YES else False if text in NO else None


def _integral(value: Any) -> str | None:
    """Digits of a number cell or of a text like ``1234567``, ``1234567.0``; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, Decimal):
        return str(int(value)) if value >= 0 and value == value.to_integral_value() else None
    text = _text(value)
    if text.isdigit() and text.isascii():
        return text
    match = _INTEGRAL.fullmatch(text)
    return match.group(1) if match else None


def allocataire_number(value: Any, problem: Any) -> str | None:
    """The 7 digits of a numéro d'allocataire cell, or None after ``problem(column, message)``."""
    if blank(value):
        problem("numero_allocataire", "Le numéro d'allocataire est obligatoire.")
        return None
    digits = _integral(value)
    if digits is not None and isinstance(value, int | Decimal) and len(digits) < 7:
        digits = digits.zfill(7)  # a number cell of a spreadsheet lost the leading zeros
    if digits is None or not _ALLOCATAIRE.fullmatch(digits):
        problem("numero_allocataire", "Le numéro d'allocataire doit compter exactement 7 chiffres.")
        return None
    return digits


def _name(column: str, value: Any, problem: Any) -> str | None:
    label = COLUMNS[column]
    if isinstance(value, bool | int | float | Decimal | date):
        problem(column, f"{_cap(label)} doit être du texte.")
        return None
    text = _text(value)
    if not text:
        problem(column, f"{_cap(label)} est obligatoire.")
        return None
    if _CONTROL.search(text):
        problem(column, f"{_cap(label)} contient un caractère de contrôle ou invisible.")
        return None
    if len(text) > MAX_TEXT:
        problem(column, f"{_cap(label)} dépasse {MAX_TEXT} caractères.")
        return None
    if text.startswith(_FORMULA_START):
        problem(column, f"{_cap(label)} ne peut pas commencer par =, +, - ou @.")
        return None
    return text


def _day(
    column: str, value: Any, epoch: datetime | None, problem: Any, required: bool = False
) -> date | None:
    label = _cap(COLUMNS[column])
    if blank(value):
        if required:
            problem(column, f"{label} est obligatoire.")
        return None
    try:
        day = _to_date(value, epoch)
    except (ValueError, OverflowError, TypeError, InvalidOperation):
        problem(column, f"{label} n'existe pas (vérifiez le jour et le mois).")
        return None
    if day is None:
        problem(column, f"{label} doit être au format JJ/MM/AAAA ou AAAA-MM-JJ.")
        return None
    if day < EARLIEST:
        problem(column, f"{label} ne peut pas être antérieure au 01/01/1900.")
        return None
    return day


def _to_date(value: Any, epoch: datetime | None) -> date | None:
    """A date from a date cell, an Excel serial number or a JJ/MM/AAAA or AAAA-MM-JJ text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return None
    serial: Decimal | int | None = None
    if isinstance(value, int | Decimal):
        serial = value
    else:
        text = _text(value)
        for pattern, order in ((_FR_DATE, (2, 1, 0)), (_ISO_DATE, (0, 1, 2))):
            match = pattern.fullmatch(text)
            if match:
                parts = [int(g) for g in match.groups()]
                return date(parts[order[0]], parts[order[1]], parts[order[2]])
        if _SERIAL.fullmatch(text):
            serial = int(text)
    if serial is None:
        return None
    if not (1 <= serial <= 2_958_465):  # 01/01/1900 … 31/12/9999
        raise ValueError("serial out of range")
    from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

    converted = from_excel(float(serial), epoch or CALENDAR_WINDOWS_1900)
    return converted.date() if isinstance(converted, datetime) else None


def _siret(value: Any, problem: Any) -> str | None:
    if blank(value):
        problem("siret_esat", "Le SIRET de l'ESAT est obligatoire.")
        return None
    if isinstance(value, int | Decimal):
        digits = _integral(value)
        digits = digits.zfill(14) if digits is not None else None
    else:
        digits = _SPACES.sub("", _text(value))
    if digits is None or not (len(digits) == 14 and digits.isdigit() and digits.isascii()):
        problem("siret_esat", "Le SIRET de l'ESAT doit compter 14 chiffres.")
        return None
    if not stdnum_siret.is_valid(digits):
        problem("siret_esat", "Le SIRET de l'ESAT n'est pas valide (sa clé de contrôle est fausse).")
        return None
    return digits


def _rate(column: str, value: Any, problem: Any, required: bool = False) -> Decimal | None:
    label = _cap(COLUMNS[column])
    if blank(value):
        if required:
            problem(column, f"{label} est obligatoire.")
        return None
    number: Decimal | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = _SPACES.sub("", _text(value))
        if text.endswith("%"):
            text = text[:-1]
        if _RATE.fullmatch(text):
            number = Decimal(text.replace(",", "."))
    if number is None or not number.is_finite():
        problem(column, f"{label} doit être un nombre de 0 à 100 (par exemple 80 ou 62,5).")
        return None
    if number != number.quantize(CENT):
        problem(column, f"{label} a au plus 2 décimales.")
        return None
    return number.quantize(CENT)


# --------------------------------------------------------------------------------------------
# Comparing with the store, and applying.

_STORED = (
    "id, allocataire, person_role, last_name, first_name, birth_date, esat_id, rate_esat, rate_mo, "
    "double_activity, double_activity_since, status, return_date, absent_since"
)
_UPDATED = (
    "last_name",
    "first_name",
    "birth_date",
    "esat_id",
    "rate_esat",
    "rate_mo",
    "double_activity",
    "double_activity_since",
    "status",
    "return_date",
)
_INSERTED = (
    "id",
    "caf_code",
    "allocataire",
    "person_role",
    *_UPDATED,
    "imported_at",
)


def _run(
    store: Store, caf_code: str, data: bytes, filename: str, actor_id: int | None, write: bool
) -> ImportReport:
    settings = load_settings()
    parsed = _parse(bytes(data or b""), filename, clock.today(settings))
    if parsed.fatal:
        return ImportReport(parsed.lines, 0, 0, 0, 0, _capped(parsed.problems), applied=False)
    caf_code = str(caf_code or "").strip()

    def work(tx: Tx) -> ImportReport:
        return _compare_and_apply(tx, caf_code, parsed, actor_id, clock.now_utc(settings), write)

    if write:
        return store.write(work)
    with store.transaction() as tx:
        return work(tx)


def _compare_and_apply(
    tx: Tx, caf_code: str, parsed: _Parsed, actor_id: int | None, now: datetime, write: bool
) -> ImportReport:
    if not tx.all("SELECT code FROM caf WHERE code = ?", [caf_code]):
        problem = Problem(None, None, f"La Caf « {printable(caf_code, 10)} » n'est pas enregistrée.")
        return ImportReport(parsed.lines, 0, 0, 0, 0, [problem], applied=False)
    esats = {r["siret"]: r["id"] for r in tx.all("SELECT id, siret FROM esat")}
    query = f"SELECT {_STORED} FROM worker WHERE caf_code = ?"  # noqa: S608 - constant columns
    stored = {(r["allocataire"], r["person_role"]): r for r in tx.all(query, [caf_code])}
    problems = list(parsed.problems)
    new: list[tuple[_Row, int]] = []
    changed: list[tuple[Any, ...]] = []
    unchanged = 0
    for row in parsed.rows:
        esat_id = esats.get(row.siret)
        if esat_id is None:
            problems.append(
                Problem(
                    row.line,
                    "siret_esat",
                    "Aucun ESAT enregistré ne porte ce SIRET : enregistrez d'abord l'ESAT (Partenaires).",
                )
            )
            continue
        old = stored.get((row.allocataire, row.person_role))
        if old is None:
            new.append((row, esat_id))
            continue
        values = _values(row, esat_id, old["return_date"])
        if old["absent_since"] is None and all(old[c] == v for c, v in zip(_UPDATED, values, strict=True)):
            unchanged += 1
        else:
            changed.append((old["id"], *values))
    absent = [r for key, r in stored.items() if key not in parsed.keys]
    report = ImportReport(
        rows=parsed.lines,
        new=len(new),
        changed=len(changed),
        unchanged=unchanged,
        absent=len(absent),
        problems=_capped(sorted(problems, key=_order), parsed.dropped),
        applied=False,
    )
    if report.problems or not write:
        return report
    _insert_new(tx, caf_code, new, now)
    flagged = [r["id"] for r in absent if r["absent_since"] is None]
    _update(tx, changed, flagged, now)
    audit.record(tx, actor_id, ACTION, f"caf:{caf_code}:lignes:{parsed.lines}")
    report.applied = True
    return report


def _values(row: _Row, esat_id: int, return_date: date | None) -> tuple[Any, ...]:
    """The stored columns of _UPDATED as the file says (a return date is kept while on leave)."""
    return (
        row.last_name,
        row.first_name,
        row.birth_date,
        esat_id,
        row.rate_esat,
        row.rate_mo,
        row.double_activity,
        row.double_activity_since,
        row.status,
        return_date if row.status == "ON_LEAVE" else None,
    )


def _as_text(value: Any) -> Any:
    """DECIMAL and dates passed as text: DuckDB infers an object column's type from a sample
    (80.00 would make it DECIMAL(4,2) and a later 100.00 fail); the text is cast to the column's type."""
    if isinstance(value, Decimal | date):  # datetime is a date too
        return str(value)
    return value


CHUNK = 50_000


def _bulk(tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        tx.insert_rows(table, columns, [tuple(_as_text(v) for v in row) for row in rows[i : i + CHUNK]])


def _insert_new(tx: Tx, caf_code: str, new: list[tuple[_Row, int]], now: datetime) -> None:
    if not new:
        return
    # tx.all, not tx.scalar: DuckDB refuses insert_rows while a result is only partly fetched.
    first_id = int(tx.all("SELECT coalesce(max(id), 0) + 1 AS id FROM worker")[0]["id"])
    rows = [
        (first_id + i, caf_code, row.allocataire, row.person_role, *_values(row, esat_id, None), now)
        for i, (row, esat_id) in enumerate(new)
    ]
    _bulk(tx, "worker", _INSERTED, rows)


def _update(tx: Tx, changed: list[tuple[Any, ...]], flagged: list[int], now: datetime) -> None:
    if not changed and not flagged:
        return
    tx.execute(
        f"CREATE TEMPORARY TABLE {STAGE} (kind VARCHAR, id INTEGER, last_name VARCHAR, first_name VARCHAR, "
        "birth_date DATE, esat_id INTEGER, rate_esat DECIMAL(5, 2), rate_mo DECIMAL(5, 2), "
        "double_activity BOOLEAN, double_activity_since DATE, status VARCHAR, return_date DATE)"
    )
    blanks = (None,) * len(_UPDATED)
    _bulk(
        tx,
        STAGE,
        ("kind", "id", *_UPDATED),
        [("C", *values) for values in changed] + [("A", worker_id, *blanks) for worker_id in flagged],
    )
    if changed:
        assignments = ", ".join(f"{c} = s.{c}" for c in _UPDATED)
        tx.execute(
            f"UPDATE worker SET {assignments}, absent_since = NULL, imported_at = ? "  # noqa: S608 - constants
            f"FROM {STAGE} s WHERE worker.id = s.id AND s.kind = 'C'",
            [now],
        )
    if flagged:
        tx.execute(
            f"UPDATE worker SET absent_since = ? WHERE absent_since IS NULL "  # noqa: S608 - constants
            f"AND id IN (SELECT id FROM {STAGE} WHERE kind = 'A')",
            [now],
        )
    tx.execute(f"DROP TABLE {STAGE}")


_COLUMN_ORDER = {c: i for i, c in enumerate(COLUMNS)}


def _order(p: Problem) -> tuple[int, int]:
    return (p.line or 0, -1 if p.column is None else _COLUMN_ORDER.get(p.column, len(_COLUMN_ORDER)))


def _capped(problems: list[Problem], dropped: int = 0) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS and not dropped:
        return problems
    rest = max(0, len(problems) - MAX_PROBLEMS) + dropped
    return [*problems[:MAX_PROBLEMS], Problem(None, None, f"… et {rest} autres anomalies non détaillées.")]
