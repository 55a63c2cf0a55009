"""The certificat campaign at the scale of an ESAT (issue 13): a whole page or a whole file at once.

A manager declares the certificats of many workers together: typed in a table
(pages/campagne.py) or read from a spreadsheet (services/spreadsheet.py). Each worker's line is
a :class:`Row`; :func:`check_rows` checks every row with the same rules and messages as the
single form; :func:`recap` sums up the rows to file; :func:`file_rows` files each valid row as its
own declaration (own idempotency key, natural key, audit row, justificatif) and sends one accusé
de réception for the whole batch.

The batch's accusé (table ``batch_ack``): the declarations of a batch are filed without an accusé
of their own; the first :func:`file_rows` call of a batch that reaches its end writes one e-mail
listing every declaration filed under the batch key so far (an interrupted call's too), once
per batch key, and sends it. An interrupted call writes none: calling again with the same key
files the rest and writes it. A declaration of the batch filed after its e-mail was written (a
later call that files new rows, or a second tab still filing) is not in that e-mail: it gets its
own ordinary accusé, so that each declaration is acknowledged once and a batch key never gets
a second batch e-mail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from data.store import Store, Tx
from forms import FormDefinition, fmt
from rules import calendar, engine
from services import backoffice, declarations, mail, partner
from services.accounts import Account
from services.clock import now_utc, to_paris, today
from services.config import Settings

FORM_ID = "certificat_emploi"

# The status of a checked row, and what the screens call it.
A_TRANSMETTRE, DEJA_TRANSMIS, ERREUR, VIDE = "a_transmettre", "deja_transmis", "erreur", "vide"
STATUS_LABELS = {
    A_TRANSMETTRE: "À transmettre",
    DEJA_TRANSMIS: "Déjà transmis",
    ERREUR: "À corriger",
    VIDE: "Vide",
}
# The outcome of filing a row.
TRANSMISE, DEJA_TRANSMISE, REFUSEE = "transmise", "deja_transmise", "refusee"
TWICE = "Ce travailleur figure sur plusieurs lignes : une seule ligne par travailleur."
TWICE_AT = "Ce travailleur figure déjà ligne {line} : une seule ligne par travailleur."


@dataclass(frozen=True)
class Candidate:
    """A worker of the ESAT for whom a certificat of the campaign is expected."""

    worker_id: int
    caf_code: str
    allocataire: str  # 7 digits
    person_role: str  # RESPONSABLE or CONJOINT (the "personne" of the Caf's file)
    last_name: str
    first_name: str
    receipt_number: str | None = None  # the certificat in force, when already filed

    @property
    def full_name(self) -> str:
        return f"{self.last_name} {self.first_name}"


@dataclass
class Row:
    """One worker's line of a table entry or an upload: what was typed, as text."""

    worker_id: int
    raw: dict[str, str] = field(default_factory=dict)  # field id → text as typed (French input)
    line: int | None = None  # spreadsheet line (the header is line 1); None: typed in the table


@dataclass(frozen=True)
class Already:
    """The certificat in force for the worker in this campaign."""

    declaration_id: int
    receipt_number: str
    received_at: datetime  # Europe/Paris


@dataclass(frozen=True)
class RowCheck:
    """A row checked as the single form checks it: its messages per field ("" for the whole row)."""

    row: Row
    worker: Candidate  # identity, and the receipt number of the certificat in force if any
    status: str  # A_TRANSMETTRE, DEJA_TRANSMIS, ERREUR or VIDE
    errors: dict[str, list[str]]
    warnings: dict[str, list[str]]
    values: dict[str, Any]  # typed values (Decimal amounts) of the fields that parsed
    derived: dict[str, str]  # derived values, formatted (when the row is valid)
    already: Already | None = None

    @property
    def worker_id(self) -> int:
        return self.row.worker_id

    @property
    def to_file(self) -> bool:
        return self.status == A_TRANSMETTRE


@dataclass(frozen=True)
class Recap:
    """The batch before "Valider": the rows to file (with warnings first, then by name) and counts."""

    rows: list[RowCheck]
    totals: dict[str, Decimal]  # field id → sum over the rows to file
    with_warnings: int  # rows to file that carry a warning
    already: int  # rows of a worker whose certificat is already filed
    in_error: int
    empty: int

    @property
    def to_file(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Filed:
    """What filing one row gave."""

    worker_id: int
    status: str  # TRANSMISE, DEJA_TRANSMISE or REFUSEE
    receipt_number: str | None = None
    declaration_id: int | None = None
    message: str = ""  # French, for DEJA_TRANSMISE and REFUSEE


def campaign(settings: Settings) -> int:
    return calendar.campaign_of(today(settings))


def candidates(
    store: Store, settings: Settings, account: Account, caf_code: str | None = None
) -> list[Candidate]:
    """The workers of the account's ESAT (of one Caf, or all) for whom a certificat of the current
    campaign is expected, by Caf then name, each with the receipt number of its certificat in force
    when one is already filed."""
    esat_id = _esat_id(account)
    year = campaign(settings)
    cafs = (
        [caf_code]
        if caf_code
        else [
            r["caf_code"]
            for r in store.all(
                "SELECT DISTINCT caf_code FROM worker WHERE esat_id = ? ORDER BY caf_code", [esat_id]
            )
        ]
    )
    found: list[Candidate] = []
    for caf in cafs:
        expected_sql, params = backoffice.expected(caf, year)
        rows = store.all(
            f"WITH x AS ({expected_sql}) "  # noqa: S608 - a fixed query; values are parameters
            "SELECT w.id, w.caf_code, w.allocataire, w.person_role, w.last_name, w.first_name, "
            "(SELECT d.receipt_number FROM declaration d WHERE d.worker_id = w.id AND d.campaign = ? "
            " AND d.superseded_at IS NULL ORDER BY d.id DESC LIMIT 1) AS receipt_number "
            "FROM x JOIN worker w ON w.id = x.worker_id WHERE w.esat_id = ? "
            "ORDER BY w.last_name, w.first_name, w.allocataire, w.person_role",
            [*params, year, esat_id],
        )
        found += [
            Candidate(
                r["id"],
                r["caf_code"],
                r["allocataire"],
                r["person_role"],
                r["last_name"],
                r["first_name"],
                r["receipt_number"],
            )
            for r in rows
        ]
    return found


def _esat_id(account: Account) -> int:
    if account.role != "esat" or account.esat_id is None:
        raise partner.NotAllowed("compte sans ESAT")
    return account.esat_id


def form() -> FormDefinition:
    return declarations.forms()[FORM_ID]


def payload(form: FormDefinition, raw: dict[str, Any]) -> dict[str, Any]:
    """What the wizard sends for this input: the visible fields only (ui/wizard.py ``payload``)."""
    return {f.id: raw.get(f.id) for f in engine.visible_fields(form, raw)}


def is_empty(form: FormDefinition, raw: dict[str, Any]) -> bool:
    """No field typed (a row of the table left blank): neither valid nor an error, skipped."""
    return all(raw.get(f.id) is None or str(raw.get(f.id)).strip() == "" for f in form.fields)


def check_rows(store: Store, settings: Settings, account: Account, rows: list[Row]) -> list[RowCheck]:
    """Check each row as ``declarations.check`` checks the single certificat (same rules, same
    context, same French messages), in a few queries for the whole batch. A row of a worker whose
    certificat of the campaign is already filed is DEJA_TRANSMIS (never filed again); a worker on
    two rows: the later rows are errors. Raises :class:`partner.NotAllowed` when a worker is not
    of the account's ESAT."""
    _esat_id(account)
    certificat = form()
    payloads = [payload(certificat, row.raw) for row in rows]
    reports = declarations.check_many(
        store, settings, account, certificat, [(r.worker_id, p) for r, p in zip(rows, payloads, strict=True)]
    )
    filed = in_force(store, settings, account)
    first_line: dict[int, int | None] = {}
    out = []
    for row, (worker, report) in zip(rows, reports, strict=True):
        errors, warnings = _by_field(report.errors), _by_field(report.warnings)
        empty = is_empty(certificat, row.raw)
        if not empty and row.worker_id in first_line:
            line = first_line[row.worker_id]
            errors.setdefault("", []).append(TWICE if line is None else TWICE_AT.format(line=line))
        elif not empty:
            first_line[row.worker_id] = row.line
        already = filed.get(row.worker_id)
        if already is not None:
            status = DEJA_TRANSMIS
        elif empty:
            status, errors, warnings = VIDE, {}, {}
        else:
            status = ERREUR if errors else A_TRANSMETTRE
        identity = Candidate(
            worker.id,
            worker.caf_code,
            worker.allocataire,
            worker.person_role,
            worker.last_name,
            worker.first_name,
            already.receipt_number if already else None,
        )
        derived = report.derived if status == A_TRANSMETTRE else {}
        out.append(RowCheck(row, identity, status, errors, warnings, dict(report.values), derived, already))
    return out


def _by_field(issues: list[engine.Issue]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for issue in issues:
        found.setdefault(issue.field or "", []).append(issue.message)
    return found


def in_force(store: Store, settings: Settings, account: Account) -> dict[int, Already]:
    """Worker id → the certificat in force of the current campaign, for the workers of the ESAT."""
    rows = store.all(
        "SELECT d.id, d.worker_id, d.receipt_number, d.received_at FROM declaration d "
        "WHERE d.form_id = ? AND d.campaign = ? AND d.superseded_at IS NULL "
        "AND d.worker_id IN (SELECT id FROM worker WHERE esat_id = ?) ORDER BY d.id",
        [FORM_ID, campaign(settings), _esat_id(account)],
    )
    return {r["worker_id"]: Already(r["id"], r["receipt_number"], to_paris(r["received_at"])) for r in rows}


def recap(checks: list[RowCheck]) -> Recap:
    """The rows to file (those with warnings first, then by name), the totals of each amount over
    them, and the counts of each status."""
    rows = sorted(
        (c for c in checks if c.to_file),
        key=lambda c: (not c.warnings, c.worker.last_name, c.worker.first_name, c.worker.allocataire),
    )
    amounts = [f.id for f in form().fields if f.type == "amount"]
    totals = {f: sum((c.values.get(f) or Decimal(0) for c in rows), Decimal(0)) for f in amounts}
    count = {status: sum(c.status == status for c in checks) for status in STATUS_LABELS}
    return Recap(
        rows=rows,
        totals=totals,
        with_warnings=sum(bool(c.warnings) for c in rows),
        already=count[DEJA_TRANSMIS],
        in_error=count[ERREUR],
        empty=count[VIDE],
    )


def row_key(batch_key: str, worker_id: int) -> str:
    """The idempotency key of a worker's declaration in a batch: the same for every call with the
    same batch key, so a second call (double click, rerun, second tab) files nothing twice."""
    return f"{_batch_prefix(batch_key)}{worker_id}"


def _batch_prefix(batch_key: str) -> str:
    """Every key of a batch starts with it (a fixed length digest: no batch's prefix is another's)."""
    return f"lot-{hashlib.sha256(batch_key.encode()).hexdigest()[:32]}-"


def reference(batch_key: str) -> str:
    """The batch as its accusé de réception names it (a digest of its key)."""
    return f"LOT-{hashlib.sha256(batch_key.encode()).hexdigest()[:10].upper()}"


def file_rows(
    store: Store,
    settings: Settings,
    account: Account,
    rows: list[Row],
    batch_key: str,
    progress: Callable[[int, int], None] | None = None,
) -> list[Filed]:
    """File each row as its own declaration through ``declarations.submit`` (its idempotency key
    from the batch key and the worker, natural key, audit row, verification code), then one accusé
    de réception for the batch. ``progress(done, total)`` is called after each row; when it raises
    (Streamlit stopping the run), what was filed stays filed, and a call with the same batch key
    files the rest and returns the same receipts. Every worker is checked to be of the account's
    ESAT before anything is filed (:class:`partner.NotAllowed`)."""
    if not batch_key:
        raise ValueError("file_rows: a batch key is required")
    esat_id = _esat_id(account)
    ids = {r["id"] for r in store.all("SELECT id FROM worker WHERE esat_id = ?", [esat_id])}
    if any(row.worker_id not in ids for row in rows):
        raise partner.NotAllowed("travailleur inconnu")
    certificat = form()
    seen: set[int] = set()
    out = []
    for done, row in enumerate(rows, start=1):
        if row.worker_id in seen:
            out.append(Filed(row.worker_id, REFUSEE, message=TWICE))
        else:
            seen.add(row.worker_id)
            out.append(_file_one(store, settings, account, certificat, row, batch_key))
        if progress is not None:
            progress(done, len(rows))
    _acknowledge(store, settings, account, batch_key)
    return out


def _file_one(
    store: Store, settings: Settings, account: Account, certificat: FormDefinition, row: Row, batch_key: str
) -> Filed:
    key = row_key(batch_key, row.worker_id)
    try:
        decl = declarations.submit(
            store, settings, account, row.worker_id, certificat, payload(certificat, row.raw), key, ack=False
        )
    except declarations.AlreadyDeclared as exc:
        first = exc.existing
        text = f"Déjà transmis le {fmt.timestamp(first.received_at)} (reçu n° {first.receipt_number})."
        return Filed(row.worker_id, DEJA_TRANSMISE, first.receipt_number, first.id, text)
    except declarations.Invalid as exc:
        return Filed(row.worker_id, REFUSEE, message=" ".join(i.message for i in exc.report.errors))
    return Filed(row.worker_id, TRANSMISE, decl.receipt_number, decl.id)


def _acknowledge(store: Store, settings: Settings, account: Account, batch_key: str) -> None:
    """Write the batch's accusé de réception once (listing every declaration filed under the batch
    key), send it; a declaration of the batch it does not list gets its own accusé."""
    esat_name = store.scalar("SELECT legal_name FROM esat WHERE id = ?", [account.esat_id]) or ""

    def work(tx: Tx) -> tuple[bool, list[int]]:
        written = tx.one("SELECT declarations FROM batch_ack WHERE batch_key = ?", [batch_key])
        filed = tx.all(
            "SELECT d.id, d.receipt_number, d.received_at, w.last_name, w.first_name, w.allocataire, "
            "EXISTS (SELECT 1 FROM outbox o WHERE o.declaration_id = d.id) AS own_ack "
            "FROM declaration d JOIN worker w ON w.id = d.worker_id "
            "WHERE starts_with(d.idempotency_key, ?) AND d.author_id = ? "
            "ORDER BY w.last_name, w.first_name, w.allocataire, d.id",
            [_batch_prefix(batch_key), account.id],
        )
        if written is not None:
            listed = set(json.loads(written["declarations"]))
            return False, [r["id"] for r in filed if r["id"] not in listed and not r["own_ack"]]
        if not filed:
            return False, []
        msg = mail.build_batch_ack(
            settings=settings,
            recipient=account.email,
            reference=reference(batch_key),
            form_title=form().title,
            esat_name=esat_name,
            items=[
                mail.BatchItem(
                    f"{r['last_name']} {r['first_name']}",
                    r["allocataire"],
                    r["receipt_number"],
                    to_paris(r["received_at"]),
                )
                for r in filed
            ],
        )
        tx.execute(
            "INSERT INTO batch_ack (batch_key, account_id, recipient, subject, message, declarations, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                batch_key,
                account.id,
                account.email,
                str(msg["Subject"]),
                msg.as_string(),
                json.dumps(sorted(r["id"] for r in filed)),
                now_utc(settings),
            ],
        )
        return True, []

    written, strays = store.write(work)
    if written:
        declarations.deliver_batch(store, settings, batch_key)
    for declaration_id in strays:
        declarations.acknowledge(store, settings, account, declaration_id)
