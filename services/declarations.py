"""Filing a declaration: validate → one transaction (declaration, values, e-mail, audit) → deliver.

Exactly once: the wizard carries an idempotency key (UNIQUE in the store), so a double
click, a replayed request or a retry returns the declaration already made. A second
declaration with the same natural key (one certificat per worker and campaign) is refused
with a pointer to the first.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from data.store import Store, Tx
from data.values import value_rows
from forms import FormDefinition, load_all, load_trees
from forms.schema import QuestionTree
from forms.versions import load_version
from rules import Report, calendar, checks, engine, validate
from services import audit, mail, partner, pdf
from services.accounts import Account
from services.clock import now_utc, to_paris, today
from services.config import Settings
from services.free_text import free_text
from services.receipts import receipt_number, verification_code

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Declaration:
    id: int
    receipt_number: str
    form_id: str
    form_version: int
    worker_id: int
    esat_id: int
    received_at: datetime  # Europe/Paris
    values: dict[str, Any]
    verification_code: str
    campaign: int | None


class AlreadyDeclared(Exception):
    """A declaration with the same natural key exists: ``existing`` is it."""

    def __init__(self, existing: Declaration) -> None:
        super().__init__(existing.receipt_number)
        self.existing = existing


class Invalid(Exception):
    def __init__(self, report: Report) -> None:
        super().__init__("déclaration invalide")
        self.report = report


def forms() -> dict[str, FormDefinition]:
    return load_all()


@dataclass(frozen=True)
class Kind:
    """What the choice pop-up offers: a form, or a question tree leading to one of several forms."""

    id: str
    title: str
    window: str
    tree: QuestionTree | None = None


def kinds() -> dict[str, Kind]:
    trees = load_trees()
    behind_questions = {f for t in trees.values() for f in t.forms()}
    out = {f.id: Kind(f.id, f.title, f.window) for f in forms().values() if f.id not in behind_questions}
    out.update({t.id: Kind(t.id, t.title, t.window, t) for t in trees.values()})
    return out


def open_kinds(on: date) -> list[Kind]:
    """Declaration types that can be chosen on ``on`` (calendar windows), certificat first."""
    return [k for k in kinds().values() if k.window == "always" or calendar.certificat_open(on)]


def refusals(
    store: Store, settings: Settings, account: Account, worker_id: int, form: FormDefinition
) -> list[str]:
    """Why this form cannot be filed for this worker, given what the Caf knows (empty: it can)."""
    worker = partner.get_worker(store, account, worker_id)
    on = today(settings)
    ctx = context(store, worker, on)
    return [text for g in form.guards if (text := checks.guard(g.guard, ctx))]


def status_on(worker: partner.Worker, on: date) -> str:
    """The worker's status on a date: back from a parental leave once its return date has come."""
    if worker.status == "ON_LEAVE" and worker.return_date is not None and worker.return_date <= on:
        return "ACTIVE"
    return worker.status


def context(store: Store | Tx, worker: partner.Worker, on: date) -> dict[str, Any]:
    """What the Caf knows of the worker, for the guards and checks that depend on it."""
    return {
        "rate_esat": worker.rate_esat,
        "rate_mo": worker.rate_mo,
        "double_activity": worker.double_activity,
        "double_activity_since": worker.double_activity_since,
        "status": status_on(worker, on),
        "last_change_date": store.scalar(
            "SELECT max(effective_date) FROM declaration WHERE worker_id = ?", [worker.id]
        ),
    }


def natural_key(form: FormDefinition, worker_id: int, on: date, values: dict[str, Any]) -> str | None:
    """One certificat per worker and campaign; one change per worker, type and date of effect."""
    if form.unique_per == "campaign":
        return f"{form.id}:{worker_id}:{calendar.campaign_of(on)}"
    if form.unique_per == "effective_date" and form.effective_date:
        return f"{form.id}:{worker_id}:{values.get(form.effective_date)}"
    return None


def check(
    store: Store, settings: Settings, account: Account, worker_id: int, form: FormDefinition, payload: dict
) -> Report:
    """Validate a payload for a worker of the account's ESAT (nothing is stored)."""
    worker = partner.get_worker(store, account, worker_id)
    on = today(settings)
    return validate(form, payload, on, context(store, worker, on))


def existing(
    store: Store, account: Account, form: FormDefinition, worker_id: int, on: date
) -> Declaration | None:
    """The certificat already filed for the worker in this campaign, if any."""
    if form.unique_per != "campaign":
        return None
    key = natural_key(form, worker_id, on, {})
    if key is None:
        return None
    row = store.one(
        "SELECT id FROM declaration WHERE natural_key = ? AND esat_id = ?", [key, account.esat_id]
    )
    return get(store, account, row["id"]) if row else None


def submit(
    store: Store,
    settings: Settings,
    account: Account,
    worker_id: int,
    form: FormDefinition,
    payload: dict,
    idempotency_key: str,
) -> Declaration:
    """File the declaration once; return it (or the one already filed with this key).

    Raises :class:`Invalid` (with the report) or :class:`AlreadyDeclared`.
    """
    worker = partner.get_worker(store, account, worker_id)
    filed = _filed_with(store, account, worker_id, idempotency_key)
    if filed is not None:  # a retry of a filed declaration: its answer, whatever changed since
        return filed
    on = today(settings)
    report = validate(form, payload, on, context(store, worker, on))
    if not report.valid:
        raise Invalid(report)
    # Prepared before the transaction, which runs alone on DuckDB: number, time and accusé.
    declaration_id = store.scalar("SELECT nextval('declaration_seq')")
    received = now_utc(settings)
    number = receipt_number(declaration_id, to_paris(received))
    ack = mail.build_ack(
        settings=settings,
        recipient=account.email,
        receipt_number=number,
        received_at=to_paris(received),
        form_title=form.title,
        worker_name=f"{worker.last_name} {worker.first_name}",
        esat_name=store.scalar("SELECT legal_name FROM esat WHERE id = ?", [account.esat_id]) or "",
    )
    filing = _Filing(declaration_id, received, number, str(ack["Subject"]), ack.as_string())
    # A lost race runs the whole transaction again: it then finds the row that won (key) or files.
    declaration_id, created = store.write(
        lambda tx: _commit(store, tx, settings, account, worker, form, payload, idempotency_key, on, filing)
    )
    decl = get(store, account, declaration_id)
    if created and deliver(store, settings, declaration_id):
        deliver_pending(store, settings, limit=10)  # earlier ones the mail server refused, if any
    return decl


def _filed_with(store: Store, account: Account, worker_id: int, idempotency_key: str) -> Declaration | None:
    row = store.one(
        "SELECT id, worker_id, author_id FROM declaration WHERE idempotency_key = ?", [idempotency_key]
    )
    if row is None:
        return None
    if row["worker_id"] != worker_id or row["author_id"] != account.id:
        raise partner.NotAllowed("clé d'idempotence d'une autre déclaration")
    return get(store, account, row["id"])


@dataclass(frozen=True)
class _Filing:
    """What a new declaration gets before its transaction: number, time, accusé de réception."""

    declaration_id: int
    received: datetime
    number: str
    subject: str
    message: str


def _commit(
    store: Store,
    tx: Tx,
    settings: Settings,
    account: Account,
    worker: partner.Worker,
    form: FormDefinition,
    payload: dict,
    idempotency_key: str,
    on: date,
    filing: _Filing,
) -> tuple[int, bool]:
    # Concurrent filings for one worker queue on its row (PostgreSQL; DuckDB runs one transaction
    # at a time). Then: the key already used? its declaration. Otherwise the rules run again on
    # what the Caf knows now, and the natural key decides "déjà transmise".
    tx.execute("UPDATE worker SET status = status WHERE id = ?", [worker.id])
    same = tx.one(
        "SELECT id, worker_id, author_id FROM declaration WHERE idempotency_key = ?", [idempotency_key]
    )
    if same is not None:
        if same["worker_id"] != worker.id or same["author_id"] != account.id:
            raise partner.NotAllowed("clé d'idempotence d'une autre déclaration")
        return same["id"], False
    known = tx.one(
        "SELECT rate_esat, rate_mo, double_activity, double_activity_since, status, return_date "
        "FROM worker WHERE id = ?",
        [worker.id],
    )
    worker = dataclasses.replace(worker, **known)
    report = validate(form, payload, on, context(tx, worker, on))
    if not report.valid:
        raise Invalid(report)
    key = natural_key(form, worker.id, on, report.values)
    first = tx.one("SELECT id FROM declaration WHERE natural_key = ?", [key]) if key else None
    if first is not None:
        raise AlreadyDeclared(get(store, account, first["id"]))
    declaration_id, received, number = filing.declaration_id, filing.received, filing.number
    values = report.values
    code = verification_code(settings.secret, number, worker.id, values)
    tx.execute(
        "INSERT INTO declaration (id, receipt_number, form_id, form_version, worker_id, esat_id, caf_code, "
        "author_id, idempotency_key, natural_key, campaign, received_at, verification_code, effective_date, "
        "known_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            declaration_id,
            number,
            form.id,
            form.version,
            worker.id,
            account.esat_id,
            worker.caf_code,
            account.id,
            idempotency_key,
            key,
            calendar.campaign_of(on) if form.window == "certificat" else None,
            received,
            code,
            values.get(form.effective_date) if form.effective_date else None,
            known_before(worker, on),
        ],
    )
    _insert_values(tx, declaration_id, form, values)
    _update_worker(tx, worker, form, values, on)
    tx.execute(
        "INSERT INTO outbox (declaration_id, recipient, subject, message, created_at) VALUES (?, ?, ?, ?, ?)",
        [declaration_id, account.email, filing.subject, filing.message, received],
    )
    audit.record(tx, account.id, "declaration_submitted", number)
    return declaration_id, True


def known_before(worker: partner.Worker, on: date) -> str:
    """What the Caf knew of the worker when the declaration was filed, as compact JSON (sorted keys).

    Rates are decimal strings ("80.00") or null, dates ISO or null, the status that of the filing
    day (see :func:`status_on`). Stored with the declaration for the hand-over (services/handover.py).
    """

    def rate(value: Decimal | None) -> str | None:
        return None if value is None else f"{Decimal(value):.2f}"

    def day(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    state = {
        "rate_esat": rate(worker.rate_esat),
        "rate_mo": rate(worker.rate_mo),
        "double_activity": bool(worker.double_activity),
        "double_activity_since": day(worker.double_activity_since),
        "status": status_on(worker, on),
        "return_date": day(worker.return_date),
    }
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _update_worker(
    tx: Tx, worker: partner.Worker, form: FormDefinition, values: dict[str, Any], on: date
) -> None:
    """Apply the declaration's effects to what the Caf knows of the worker."""
    changes = engine.state_changes(form, values)
    if not changes:
        return
    if status_on(worker, on) != worker.status:  # back from leave: the new declaration confirms it
        changes = {"status": "ACTIVE", "return_date": None, **changes}
    columns = ", ".join(f"{column} = ?" for column in changes)  # names come from the schema's closed list
    tx.execute(f"UPDATE worker SET {columns} WHERE id = ?", [*changes.values(), worker.id])  # noqa: S608


def _insert_values(tx: Tx, declaration_id: int, form: FormDefinition, values: dict[str, Any]) -> None:
    rows = value_rows(form, declaration_id, values)
    tx.executemany(
        "INSERT INTO declaration_value (declaration_id, field_id, number, day, text) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def get(store: Store, account: Account, declaration_id: int) -> Declaration:
    """A declaration of the account's ESAT, or of the agent's Caf (:class:`partner.NotAllowed` otherwise)."""
    condition, value = partner.scope(account)
    # Two plain reads: a filed declaration and its values never change.
    row = store.one(f"SELECT * FROM declaration WHERE id = ? AND {condition}", [declaration_id, value])  # noqa: S608
    if row is None:
        raise partner.NotAllowed("déclaration inconnue")
    value_rows = store.all(
        "SELECT field_id, number, day, text FROM declaration_value WHERE declaration_id = ?", [declaration_id]
    )
    values: dict[str, Any] = {}
    for v in value_rows:
        if v["number"] is not None:
            values[v["field_id"]] = Decimal(v["number"])
        elif v["day"] is not None:
            values[v["field_id"]] = v["day"]
        elif v["text"] in ("oui", "non") and _is_yesno(row["form_id"], v["field_id"]):
            values[v["field_id"]] = v["text"] == "oui"
        else:
            values[v["field_id"]] = v["text"]
    return Declaration(
        id=row["id"],
        receipt_number=row["receipt_number"],
        form_id=row["form_id"],
        form_version=row["form_version"],
        worker_id=row["worker_id"],
        esat_id=row["esat_id"],
        received_at=to_paris(row["received_at"]),
        values=values,
        verification_code=row["verification_code"],
        campaign=row["campaign"],
    )


def form_of(decl: Declaration) -> FormDefinition:
    """The definition the declaration was filed under (its frozen version)."""
    current = forms().get(decl.form_id)
    if current is not None and current.version == decl.form_version:
        return current
    return load_version(decl.form_id, decl.form_version)


def _is_yesno(form_id: str, field_id: str) -> bool:
    form = forms().get(form_id)
    return bool(form and any(f.id == field_id and f.type in ("yesno", "certify") for f in form.fields))


def receipt_pdf(store: Store, settings: Settings, account: Account, declaration_id: int) -> bytes:
    """The justificatif of a declaration of the account's ESAT, rebuilt from the stored record."""
    decl = get(store, account, declaration_id)
    form = form_of(decl)
    worker = partner.get_worker(store, account, decl.worker_id)
    esat = partner.esat_identity(store, decl.esat_id)
    caf = store.scalar("SELECT name FROM caf WHERE code = ?", [worker.caf_code]) or worker.caf_code
    author = store.scalar(
        "SELECT a.display_name FROM declaration d JOIN account a ON a.id = d.author_id WHERE d.id = ?",
        [declaration_id],
    )
    ref = date(decl.campaign, 11, 30) if decl.campaign is not None else decl.received_at.date()
    derived = engine.derived(form, decl.values, ref, {"rate_esat": worker.rate_esat})
    audit.log(store, account.id, "pdf_downloaded", decl.receipt_number)
    return pdf.render_receipt(
        pdf.ReceiptData(
            receipt_number=decl.receipt_number,
            received_at=decl.received_at,
            form=form,
            values=decl.values,
            derived=derived,
            esat_name=esat.legal_name,
            esat_address=f"{esat.name}, {esat.address}",
            esat_siret=esat.siret,
            caf_name=caf,
            worker_name=worker.full_name,
            allocataire=worker.allocataire,
            birth_date=worker.birth_date,
            author=author or "",
            verification_code=decl.verification_code,
            campaign_label=campaign_label(decl.campaign),
        )
    )


def campaign_label(campaign: int | None) -> str | None:
    if campaign is None:
        return None
    return f"Campagne {campaign} — rémunération de novembre {campaign}"


def save_feedback(
    store: Store, settings: Settings, account: Account, declaration_id: int, rating: int, comment: str
) -> None:
    """Store the user's avis on the teleprocedure (one per declaration; a repeat replaces it)."""
    get(store, account, declaration_id)
    rating = max(1, min(5, int(rating)))
    comment = free_text(comment, 1000)
    with store.transaction() as tx:
        tx.execute("DELETE FROM feedback WHERE declaration_id = ?", [declaration_id])
        tx.execute(
            "INSERT INTO feedback (id, declaration_id, account_id, rating, comment, created_at) "
            "VALUES (nextval('feedback_seq'), ?, ?, ?, ?, ?)",
            [declaration_id, account.id, rating, comment, now_utc(settings)],
        )


def deliver(store: Store, settings: Settings, declaration_id: int) -> bool:
    """Send one accusé de réception, once: claim it, send it, give it back if sending fails.

    True when this call sent it. Claiming first means two callers never send the same message
    (at most once: a crash between claim and send loses the e-mail, never the declaration)."""
    claimed = store.write(
        lambda tx: tx.one(
            "UPDATE outbox SET sent_at = ? WHERE declaration_id = ? AND sent_at IS NULL RETURNING message",
            [now_utc(settings), declaration_id],
        )
    )
    if claimed is None:
        return False
    msg = email.message_from_string(claimed["message"], _class=EmailMessage, policy=email.policy.SMTP)
    try:
        mail.deliver(settings, msg)
    except OSError as exc:
        log.warning("accusé de réception non envoyé (déclaration %s): %s", declaration_id, type(exc).__name__)
        store.execute("UPDATE outbox SET sent_at = NULL WHERE declaration_id = ?", [declaration_id])
        return False
    return True


def deliver_pending(store: Store, settings: Settings, limit: int = 100) -> int:
    """Send the accusés de réception not sent yet (oldest first); return how many this call sent."""
    pending = store.all(
        "SELECT declaration_id FROM outbox WHERE sent_at IS NULL ORDER BY declaration_id LIMIT ?", [limit]
    )
    return sum(deliver(store, settings, row["declaration_id"]) for row in pending)
