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
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from data.store import POSTGRESQL, Store, Tx
from data.values import value_rows
from forms import FormDefinition, fmt, load_all, load_trees
from forms.schema import QuestionTree
from forms.versions import load_version
from rules import Report, calendar, checks, engine, parameters, validate
from rules.messages import message
from services import audit, mail, partner, timeline
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
    effective_date: date | None = None
    derived: list[dict[str, str]] | None = None  # [{id, label, value}] frozen at filing (None: older)
    warnings: list[dict[str, str]] = dataclasses.field(default_factory=list)  # seen and gone past
    known_before: dict[str, Any] | None = None  # what the Caf knew, as of the date of effect
    replaces_id: int | None = None  # a rectificative: the declaration it corrects
    superseded_at: datetime | None = None  # Europe/Paris: when a rectificative replaced it
    superseded_by: int | None = None


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
    """Why this form cannot be filed for this worker, given what the Caf knows (empty: it can).

    The type dialog asks before any date is typed, so the form is refused only when its guards
    fail on every date it could take effect: today, and each date in its window where the
    timeline changes (a worker who left on 1 December can still get a change dated in November).
    Once the date is typed, the form's checks read the state as of that date."""
    worker = partner.get_worker(store, account, worker_id)
    on = today(settings)
    base, history = timeline.baseline(worker), timeline.events(store, worker.id)
    start, end = date_window(form, on) if form.effective_date else (on, on)
    candidates = {on, start} | {e.effective_date for e in history if start <= e.effective_date <= end}
    candidates |= {e.effective_date - timedelta(days=1) for e in history if start < e.effective_date <= end}
    problems: list[str] = []
    for day in sorted(candidates):
        state = timeline.fold(base, history, day)
        problems = [text for g in form.guards if (text := checks.guard(g.guard, state))]
        if not problems:
            return []
    return problems


def date_window(form: FormDefinition, on: date) -> tuple[date, date]:
    """The dates of effect a change may have on ``on`` (its ``date_window`` check), else ``on`` only."""
    window = next((c for c in form.checks if c.check == "date_window"), None)
    if window is None:
        return on, on
    start = checks.add_months(on, -int(parameters.value(window.param_before, on)))
    end = checks.add_months(on, int(parameters.value(window.param_after, on)))
    return start, end


def as_of(form: FormDefinition, payload: dict, on: date) -> date:
    """The date whose state the rules read: 30 November N for a certificat (its pay is November's),
    the typed date of effect for a change (today while it is not typed or not a date)."""
    if form.window == "certificat":
        return calendar.reference_date(form, on)
    if form.effective_date:
        typed, problem = engine.parse(form.field(form.effective_date), payload.get(form.effective_date))
        if problem is None and isinstance(typed, date):
            return typed
    return on


def context(
    store: Store | Tx, worker: partner.Worker, on: date, excluding: tuple[int, ...] = ()
) -> dict[str, Any]:
    """What the Caf knows of the worker as of ``on`` (timeline), for the guards and checks."""
    return _known(store, worker, on, excluding)[0]


def _known(
    store: Store | Tx, worker: partner.Worker, on: date, excluding: tuple[int, ...]
) -> tuple[dict[str, Any], list[timeline.Event]]:
    """The rules' context as of ``on`` and the timeline's events it was read from."""
    history = timeline.events(store, worker.id, excluding)
    return _context_of(worker, history, on), history


def _context_of(worker: partner.Worker, history: list[timeline.Event], on: date) -> dict[str, Any]:
    """The rules' context as of ``on`` from the worker's baseline and its events in force."""
    state = timeline.fold(timeline.baseline(worker), history, on)
    return {**state, "last_change_date": timeline.last_change(history, on)}


def _rules_context(
    store: Store | Tx,
    worker: partner.Worker,
    form: FormDefinition,
    payload: dict,
    on: date,
    replaces: int | None,
) -> dict[str, Any]:
    excluding = (replaces,) if replaces is not None else ()
    return context(store, worker, as_of(form, payload, on), excluding)


def natural_key(form: FormDefinition, worker_id: int, on: date, values: dict[str, Any]) -> str | None:
    """One certificat per worker and campaign; one change per worker, type and date of effect."""
    if form.unique_per == "campaign":
        return f"{form.id}:{worker_id}:{calendar.campaign_of(on)}"
    if form.unique_per == "effective_date" and form.effective_date:
        return f"{form.id}:{worker_id}:{values.get(form.effective_date)}"
    return None


def check(
    store: Store,
    settings: Settings,
    account: Account,
    worker_id: int,
    form: FormDefinition,
    payload: dict,
    replaces: int | None = None,
) -> Report:
    """Validate a payload for a worker of the account's ESAT (nothing is stored)."""
    worker = partner.get_worker(store, account, worker_id)
    on = today(settings)
    report = validate(form, payload, on, _rules_context(store, worker, form, payload, on, replaces))
    if replaces is not None:
        report.errors[:0] = [
            engine.Issue(None, text) for text in correction_refusals(store, settings, account, replaces)
        ]
    return report


def check_many(
    store: Store,
    settings: Settings,
    account: Account,
    form: FormDefinition,
    items: Sequence[tuple[int, dict]],
) -> list[tuple[partner.Worker, Report]]:
    """:func:`check` of many (worker id, payload) at once, no rectificatif: the same rules on the same
    context, read in two queries instead of a few per worker. Raises :class:`partner.NotAllowed`
    when a worker is outside the account's scope (before anything is checked)."""
    on = today(settings)
    workers, histories = _scope_timelines(store, account)
    unknown = {worker_id for worker_id, _ in items} - workers.keys()
    if unknown:
        raise partner.NotAllowed("travailleur inconnu")
    out = []
    for worker_id, payload in items:
        worker = workers[worker_id]
        ctx = _context_of(worker, histories.get(worker_id, []), as_of(form, payload, on))
        out.append((worker, validate(form, payload, on, ctx)))
    return out


def _scope_timelines(
    store: Store, account: Account
) -> tuple[dict[int, partner.Worker], dict[int, list[timeline.Event]]]:
    """Every worker of the account's scope and their events in force, in two queries."""
    condition, value = partner.scope(account)
    workers = f"worker_id IN (SELECT id FROM worker WHERE {condition})"  # noqa: S608 - scope() constants
    histories = timeline.events_of(store, workers, [value])
    return partner.workers_in_scope(store, account), histories


def existing(
    store: Store, account: Account, form: FormDefinition, worker_id: int, on: date
) -> Declaration | None:
    """The certificat in force for the worker in this campaign, if any (its latest correction)."""
    if form.unique_per != "campaign":
        return None
    key = natural_key(form, worker_id, on, {})
    if key is None:
        return None
    row = store.one(
        "SELECT id FROM declaration WHERE natural_key = ? AND esat_id = ?", [key, account.esat_id]
    )
    return get(store, account, latest(store, row["id"])) if row else None


def latest(store: Store | Tx, declaration_id: int) -> int:
    """The declaration in force for this one: itself, or the last rectificative that replaced it."""
    current = declaration_id
    for _ in range(1000):  # a chain of corrections, never a cycle
        nxt = store.scalar("SELECT superseded_by FROM declaration WHERE id = ?", [current])
        if nxt is None:
            return current
        current = nxt
    return current


def correction_refusals(store: Store, settings: Settings, account: Account, declaration_id: int) -> list[str]:
    """Why this declaration cannot be corrected today (empty: it can).

    A certificat can be corrected while its campaign is open; a change while its date of effect is
    within the window a new change may have (the form's date_window check); only the declaration
    in force (not one already replaced)."""
    decl = get(store, account, declaration_id)
    form = form_of(decl)
    on = today(settings)
    if decl.superseded_at is not None:
        return [message("correction_superseded", day=fmt.day(decl.superseded_at.date()))]
    if form.window == "certificat":
        if not (calendar.certificat_open(on) and calendar.campaign_of(on) == decl.campaign):
            return [message("correction_campaign_closed", campaign=str(decl.campaign))]
        return []
    start, end = date_window(form, on)
    if decl.effective_date is not None and not start <= decl.effective_date <= end:
        return [message("correction_too_old", start=fmt.day(start), end=fmt.day(end))]
    return []


def submit(
    store: Store,
    settings: Settings,
    account: Account,
    worker_id: int,
    form: FormDefinition,
    payload: dict,
    idempotency_key: str,
    replaces: int | None = None,
    ack: bool = True,
) -> Declaration:
    """File the declaration once; return it (or the one already filed with this key).

    ``replaces``: the id of the declaration this one corrects (a rectificative): same worker and
    type, it supersedes that one, which is kept. ``ack=False``: no accusé de réception of its own
    is queued (a batch sends one for all its declarations, services/campaign.py). Raises
    :class:`Invalid` (with the report) or :class:`AlreadyDeclared`.
    """
    worker = partner.get_worker(store, account, worker_id)
    on = today(settings)
    original = None
    if replaces:
        # A retry of a filed rectificative is answered before its original (superseded by it since)
        # is refused; the transaction finds the key of any other retry (the rules run there).
        filed = _filed_with(store, account, worker_id, idempotency_key)
        if filed is not None:
            return filed
        original = _correctable(store, settings, account, replaces, worker_id, form)
    # Prepared before the transaction, which runs alone on DuckDB: number, time and accusé.
    row = store.one(
        "SELECT nextval('declaration_seq') AS id, (SELECT legal_name FROM esat WHERE id = ?) AS esat_name",
        [account.esat_id],
    )
    assert row is not None
    declaration_id, esat_name = row["id"], row["esat_name"] or ""
    received = now_utc(settings)
    number = receipt_number(declaration_id, to_paris(received))
    accuse = (
        _ack_mail(
            settings, account, worker, form, number, to_paris(received), original is not None, esat_name
        )
        if ack
        else None
    )
    subject, text = (str(accuse["Subject"]), accuse.as_string()) if accuse else (None, None)
    filing = _Filing(declaration_id, received, number, subject, text, replaces)
    # A lost race runs the whole transaction again: it then finds the row that won (key) or files.
    declaration_id, decl = store.write(
        lambda tx: _commit(store, tx, settings, account, worker, form, payload, idempotency_key, on, filing)
    )
    if decl is None:  # a retry of a filed declaration: its answer, whatever changed since
        return get(store, account, declaration_id)
    # Claimed with the declaration (at most once: a crash before it is sent loses the e-mail,
    # never the declaration); given back when the mail server refuses it.
    sent = accuse is not None and _send(store, settings, accuse, "outbox", declaration_id)
    if sent and _waiting.get(store, True):
        deliver_pending(store, settings, limit=10)  # earlier ones the mail server refused, if any
    return decl


def _ack_mail(
    settings: Settings,
    account: Account,
    worker: partner.Worker,
    form: FormDefinition,
    number: str,
    received_at: datetime,
    rectificatif: bool,
    esat_name: str,
) -> EmailMessage:
    """The accusé de réception of one declaration (``received_at``: Europe/Paris)."""
    return mail.build_ack(
        settings=settings,
        recipient=account.email,
        receipt_number=number,
        received_at=received_at,
        form_title=f"{form.title} (rectificatif)" if rectificatif else form.title,
        worker_name=f"{worker.last_name} {worker.first_name}",
        esat_name=esat_name,
    )


def acknowledge(store: Store, settings: Settings, account: Account, declaration_id: int) -> bool:
    """Queue and send the accusé de réception of a declaration filed without one (``ack=False``)
    and not listed by its batch's e-mail; nothing when it already has one. True when sent now."""
    decl = get(store, account, declaration_id)
    worker = partner.get_worker(store, account, decl.worker_id)
    msg = _ack_mail(
        settings,
        account,
        worker,
        form_of(decl),
        decl.receipt_number,
        decl.received_at,
        bool(decl.replaces_id),
        store.scalar("SELECT legal_name FROM esat WHERE id = ?", [account.esat_id]) or "",
    )
    store.execute(
        "INSERT INTO outbox (declaration_id, recipient, subject, message, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [declaration_id, account.email, str(msg["Subject"]), msg.as_string(), now_utc(settings)],
    )
    return deliver(store, settings, declaration_id)


def _correctable(
    store: Store, settings: Settings, account: Account, replaces: int, worker_id: int, form: FormDefinition
) -> Declaration:
    original = get(store, account, replaces)
    if original.worker_id != worker_id or original.form_id != form.id:
        raise partner.NotAllowed("rectificatif d'une autre déclaration")
    problems = correction_refusals(store, settings, account, replaces)
    if problems:
        raise Invalid(Report(errors=[engine.Issue(None, text) for text in problems]))
    return original


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
    subject: str | None  # None: no accusé of its own (``submit(ack=False)``)
    message: str | None
    replaces: int | None = None


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
) -> tuple[int, Declaration | None]:
    """File it: (its id, the declaration); (the id, None) when the key was already used.

    Concurrent filings for one worker queue on its row (PostgreSQL; DuckDB runs one transaction
    at a time), read with what the Caf knows of the worker now. Then: the key already used? its
    declaration. Otherwise the rules run on that state, and the natural key decides "déjà
    transmise". The accusé de réception is claimed here (``sent_at`` set): the caller sends it
    once this is committed."""
    # FOR UPDATE: DuckDB has no row locks, and needs none (its transactions run one at a time).
    # The key is looked up after the lock, in a statement of its own: on PostgreSQL it then sees
    # a filing with the same key that committed while this one waited.
    lock = " FOR UPDATE" if tx.dialect == POSTGRESQL else ""
    known = tx.one(f"SELECT {', '.join(timeline.STATE)} FROM worker WHERE id = ?{lock}", [worker.id])  # noqa: S608
    assert known is not None, "the worker was read just before the transaction"
    same = tx.one(
        "SELECT id, worker_id, author_id FROM declaration WHERE idempotency_key = ?", [idempotency_key]
    )
    if same is not None:
        if same["worker_id"] != worker.id or same["author_id"] != account.id:
            raise partner.NotAllowed("clé d'idempotence d'une autre déclaration")
        return same["id"], None
    replaces = filing.replaces
    # Two corrections of one declaration queue on the worker's row above: the second sees the first.
    superseded = (
        tx.scalar("SELECT superseded_at FROM declaration WHERE id = ?", [replaces]) if replaces else None
    )
    if superseded is not None:
        day = fmt.day(to_paris(superseded).date())
        raise Invalid(Report(errors=[engine.Issue(None, message("correction_superseded", day=day))]))
    worker = dataclasses.replace(worker, **known)
    excluding = (replaces,) if replaces is not None else ()
    ctx, history = _known(tx, worker, as_of(form, payload, on), excluding)
    report = validate(form, payload, on, ctx)
    if not report.valid:
        raise Invalid(report)
    values = report.values
    effects = engine.state_changes(form, values)
    effective = values.get(form.effective_date) if form.effective_date else None
    if effective is not None:
        new = timeline.Event(filing.declaration_id, form.id, effective, effects)
        clash = timeline.conflicts(timeline.baseline(worker), history, new, forms())
        if clash:
            later, problem = clash[0]
            text = message("timeline_conflict", day=fmt.day(later.effective_date), reason=problem)
            raise Invalid(Report(errors=[engine.Issue(form.effective_date, text)]))
    key = natural_key(form, worker.id, on, values)
    first = _in_force_with(tx, key, excluding) if key else None
    if first is not None:
        raise AlreadyDeclared(get(store, account, latest(tx, first)))
    declaration_id, received, number = filing.declaration_id, filing.received, filing.number
    code = verification_code(settings.secret, number, worker.id, values)
    row = dict(
        zip(
            _COLUMNS,
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
                key if replaces is None else f"{key}#{declaration_id}" if key else None,
                calendar.campaign_of(on) if form.window == "certificat" else None,
                received,
                code,
                effective,
                known_before(ctx),
                timeline.encode(effects) if effective is not None else None,
                derived_json(form, report.derived),
                _dumps([{"field": i.field, "message": i.message} for i in report.warnings]),
                replaces,
            ],
            strict=True,
        )
    )
    tx.execute(_INSERT_DECLARATION, list(row.values()))
    if replaces is not None:
        tx.execute(
            "UPDATE declaration SET superseded_at = ?, superseded_by = ? WHERE id = ?",
            [received, declaration_id, replaces],
        )
    stored = _insert_values(tx, declaration_id, form, values)
    if filing.message is not None:
        tx.execute(
            "INSERT INTO outbox (declaration_id, recipient, subject, message, created_at, sent_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [declaration_id, account.email, filing.subject, filing.message, received, received],
        )
    audit.record(tx, account.id, "declaration_submitted", number)
    # What get() would read back once committed: no second read of what was just written.
    return declaration_id, from_row({**row, "superseded_at": None, "superseded_by": None}, stored)


_COLUMNS = (  # of a new declaration, in the order _commit gives them
    "id",
    "receipt_number",
    "form_id",
    "form_version",
    "worker_id",
    "esat_id",
    "caf_code",
    "author_id",
    "idempotency_key",
    "natural_key",
    "campaign",
    "received_at",
    "verification_code",
    "effective_date",
    "known_before",
    "effects",
    "derived",
    "warnings",
    "replaces_id",
)
_INSERT_DECLARATION = (
    f"INSERT INTO declaration ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"  # noqa: S608
)


def _in_force_with(tx: Tx, key: str, excluding: tuple[int, ...]) -> int | None:
    """The declaration in force for this natural key: a first filing, or the latest correction of
    it when that correction still has the same subject (a change may be corrected to another date;
    a correction's own key is ``key#id``, the first filing keeps the plain one)."""
    rows = tx.all(
        "SELECT id FROM declaration WHERE natural_key = ? OR starts_with(natural_key, ?)",
        [key, key + "#"],
    )
    for row in rows:
        current = latest(tx, row["id"])
        if current in excluding:
            continue
        own = tx.scalar("SELECT natural_key FROM declaration WHERE id = ?", [current]) or ""
        if own.split("#")[0] == key:
            return current
    return None


def derived_json(form: FormDefinition, derived: dict[str, str]) -> str:
    """The derived values as ``declaration.derived`` keeps them: [{id, label, value}], form order."""
    return _dumps(
        [{"id": d.id, "label": d.label, "value": derived[d.id]} for d in form.derived if d.id in derived]
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def known_before(state: dict[str, Any]) -> str:
    """What the Caf knew of the worker before the declaration, as of its date (compact JSON, sorted
    keys): rates as decimal strings ("80.00") or null, dates ISO or null. Stored with the
    declaration for the agent and the hand-over (services/handover.py)."""

    def rate(value: Decimal | None) -> str | None:
        return None if value is None else f"{Decimal(value):.2f}"

    def day(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    known = {
        "rate_esat": rate(state["rate_esat"]),
        "rate_mo": rate(state["rate_mo"]),
        "double_activity": bool(state["double_activity"]),
        "double_activity_since": day(state["double_activity_since"]),
        "status": state["status"],
        "return_date": day(state["return_date"]),
    }
    return json.dumps(known, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _insert_values(
    tx: Tx, declaration_id: int, form: FormDefinition, values: dict[str, Any]
) -> list[dict[str, Any]]:
    """Store the values in one statement; return them as ``get`` reads them back (DECIMAL(12, 2))."""
    rows = value_rows(form, declaration_id, values)
    if rows:
        marks = ", ".join("(?, ?, CAST(? AS DECIMAL(12, 2)), CAST(? AS DATE), ?)" for _ in rows)
        tx.execute(
            f"INSERT INTO declaration_value (declaration_id, field_id, number, day, text) VALUES {marks}",  # noqa: S608
            [v for r in rows for v in r],
        )
    return [
        {"field_id": f, "number": None if n is None else Decimal(n).quantize(_CENT), "day": d, "text": t}
        for _, f, n, d, t in rows
    ]


_CENT = Decimal("0.01")


def get(store: Store | Tx, account: Account, declaration_id: int) -> Declaration:
    """A declaration of the account's ESAT, or of the agent's Caf (:class:`partner.NotAllowed` otherwise)."""
    condition, value = partner.scope(account)
    # Two plain reads: a filed declaration and its values never change (only its superseded mark).
    row = store.one(f"SELECT * FROM declaration WHERE id = ? AND {condition}", [declaration_id, value])  # noqa: S608
    if row is None:
        raise partner.NotAllowed("déclaration inconnue")
    value_rows = store.all(
        "SELECT field_id, number, day, text FROM declaration_value WHERE declaration_id = ?", [declaration_id]
    )
    return from_row(row, value_rows)


def from_row(row: dict[str, Any], value_rows: list[dict[str, Any]]) -> Declaration:
    """A declaration from its stored row and the rows of its values (field_id, number, day, text)."""
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
        effective_date=row["effective_date"],
        derived=json.loads(row["derived"]) if row["derived"] else None,
        warnings=json.loads(row["warnings"]) if row["warnings"] else [],
        known_before=json.loads(row["known_before"]) if row["known_before"] else None,
        replaces_id=row["replaces_id"],
        superseded_at=to_paris(row["superseded_at"]) if row["superseded_at"] else None,
        superseded_by=row["superseded_by"],
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


def stored_derived(
    store: Store, decl: Declaration, form: FormDefinition, worker: partner.Worker
) -> dict[str, str]:
    """The derived values frozen at filing (id → text). A declaration filed before they were
    stored gets them computed once from the timeline as of its reference date."""
    if decl.derived is not None:
        return {d["id"]: d["value"] for d in decl.derived}
    ref = date(decl.campaign, 11, 30) if decl.campaign is not None else decl.received_at.date()
    return engine.derived(form, decl.values, ref, context(store, worker, ref, (decl.id,)))


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
    return _claim_and_send(store, settings, "outbox", declaration_id)


def deliver_batch(store: Store, settings: Settings, batch_key: str) -> bool:
    """Send the accusé de réception of a batch (table ``batch_ack``), once, like :func:`deliver`."""
    return _claim_and_send(store, settings, "batch_ack", batch_key)


_CLAIM = {  # table → (claim, give back)
    "outbox": (
        "UPDATE outbox SET sent_at = ? WHERE declaration_id = ? AND sent_at IS NULL RETURNING message",
        "UPDATE outbox SET sent_at = NULL WHERE declaration_id = ?",
    ),
    "batch_ack": (
        "UPDATE batch_ack SET sent_at = ? WHERE batch_key = ? AND sent_at IS NULL RETURNING message",
        "UPDATE batch_ack SET sent_at = NULL WHERE batch_key = ?",
    ),
}


def _claim_and_send(store: Store, settings: Settings, table: str, key: int | str) -> bool:
    claim = _CLAIM[table][0]
    try:
        claimed = store.write(lambda tx: tx.one(claim, [now_utc(settings), key]))
    except BaseException:
        _unsent(store)
        raise
    if claimed is None:
        return False
    msg = email.message_from_string(claimed["message"], _class=EmailMessage, policy=email.policy.SMTP)
    return _send(store, settings, msg, table, key)


def _send(store: Store, settings: Settings, msg: EmailMessage, table: str, key: int | str) -> bool:
    """Send a claimed accusé; give it back (not sent) when that fails. True when sent."""
    try:
        mail.deliver(settings, msg)
    except OSError as exc:
        _unsent(store)
        what = f"déclaration {key}" if table == "outbox" else "lot"
        log.warning("accusé de réception non envoyé (%s): %s", what, type(exc).__name__)
        store.execute(_CLAIM[table][1], [key])
        return False
    return True


def deliver_pending(store: Store, settings: Settings, limit: int = 100) -> int:
    """Send the accusés de réception not sent yet, of declarations then of batches (oldest first,
    at most ``limit`` of each); return how many this call sent."""
    _waiting[store] = False  # a send failing from now on sets it again (_unsent)
    pending = store.all(
        "SELECT declaration_id FROM outbox WHERE sent_at IS NULL ORDER BY declaration_id LIMIT ?", [limit]
    )
    sent = sum(deliver(store, settings, row["declaration_id"]) for row in pending)
    batches = store.all(
        "SELECT batch_key FROM batch_ack WHERE sent_at IS NULL ORDER BY created_at, batch_key LIMIT ?",
        [limit],
    )
    sent_batches = sum(deliver_batch(store, settings, row["batch_key"]) for row in batches)
    if not (sent == len(pending) < limit and sent_batches == len(batches) < limit):
        _waiting[store] = True  # some left, or more than ``limit``
    return sent + sent_batches


# Per store: may accusés be waiting? A submission looks for them (deliver_pending) only then: a
# store newly opened (a process killed before sending left some), or a send failed since the last
# look found nothing left.
_waiting: weakref.WeakKeyDictionary[Store, bool] = weakref.WeakKeyDictionary()


def _unsent(store: Store) -> None:
    """An accusé stays waiting: the next submission looks for it (deliver_pending)."""
    _waiting[store] = True
