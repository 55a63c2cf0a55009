"""Batches that survive (issue 12): a selection's progress and each worker's draft, in the store.

A batch is what an ESAT manager declares for a selection of workers: one type (a form, or the
question tree of the changement de situation), the workers in selection order, the current one,
each worker's draft (answers, form, step, what was typed) and, once done, the worker's outcome:
filed (declaration and receipt number) or skipped. The session saves it when it changes
(ui/batch.py), so a manager who logs out, times out or lands on another replica finds it where it
was. One open batch per account, read and written by that account only: never by another account
of the same ESAT, never for another ESAT's workers (:class:`partner.NotAllowed`).

Drafts hold declared amounts (personal data): they are never logged; a batch's rows are deleted
when it is finished or abandoned, and the retention job (services/retention.py) deletes the
batches untouched for ``BATCH_RETENTION_DAYS`` days.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from data.store import Store, Tx
from services import audit, partner
from services.accounts import Account
from services.clock import now_utc
from services.config import Settings


@dataclass
class Draft:
    """One worker's declaration in progress."""

    worker_id: int
    kind: str  # a form id, or a question tree id (the changement de situation)
    form_id: str | None = None  # the form once the questions (if any) are answered
    answers: dict[str, str] = field(default_factory=dict)  # question id → answer value
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    step: str = "saisie"  # questions → saisie → recap → fin
    raw: dict[str, Any] = field(default_factory=dict)  # field id → what the user typed
    errors: dict[str, list[str]] = field(default_factory=dict)  # shown next to each field
    form_errors: list[str] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    declaration_id: int | None = None
    feedback_sent: bool = False
    replaces: int | None = None  # a rectificatif: the declaration it corrects
    replaces_number: str | None = None  # and that declaration's receipt number


# What a draft keeps across sessions; the messages are computed again from the values.
_SAVED = (
    "kind",
    "form_id",
    "answers",
    "idempotency_key",
    "step",
    "raw",
    "declaration_id",
    "feedback_sent",
    "replaces",
    "replaces_number",
)


@dataclass(frozen=True)
class Outcome:
    """How a worker of the batch was done with: filed (with its receipt number) or skipped."""

    declaration_id: int | None = None  # None: skipped without a declaration
    receipt_number: str | None = None


@dataclass
class Batch:
    id: str  # random, chosen when the type is confirmed
    kind: str
    with_questions: bool
    workers: list[int]  # worker ids, in selection order
    index: int = 0  # position of the current worker in ``workers``
    drafts: dict[int, Draft] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """One worker in the summary of a finished batch."""

    worker_id: int
    name: str  # "NOM Prénom"
    allocataire: str
    receipt_number: str | None  # None: skipped


def new_id() -> str:
    return uuid.uuid4().hex


def _esat_id(account: Account) -> int:
    if account.role != "esat" or account.esat_id is None:
        raise partner.NotAllowed("compte sans ESAT")
    return account.esat_id


def _tag(value: Any) -> Any:
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(type(value).__name__)


def _untag(obj: dict[str, Any]) -> Any:
    return date.fromisoformat(obj["$date"]) if obj.keys() == {"$date"} else obj


def encode_draft(draft: Draft) -> str:
    return json.dumps(
        {name: getattr(draft, name) for name in _SAVED},
        default=_tag,
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def decode_draft(worker_id: int, text: str) -> Draft:
    saved = json.loads(text, object_hook=_untag)
    return Draft(worker_id, **{name: saved[name] for name in _SAVED if name in saved})


def head(batch: Batch) -> tuple[Any, ...]:
    """What the batch row holds; all but the last item never change during a batch."""
    return (batch.id, batch.kind, batch.with_questions, tuple(batch.workers), batch.index)


def row(batch: Batch, worker_id: int) -> tuple[Any, ...]:
    """What a worker's row holds: draft (JSON or None), declaration id, receipt number, skipped."""
    draft = batch.drafts.get(worker_id)
    outcome = batch.outcomes.get(worker_id)
    return (
        encode_draft(draft) if draft is not None else None,
        outcome.declaration_id if outcome else None,
        outcome.receipt_number if outcome else None,
        outcome is not None and outcome.declaration_id is None,
    )


def save(
    store: Store,
    settings: Settings,
    account: Account,
    batch: Batch,
    changed: Collection[int] | None = None,
) -> bool:
    """Write the batch: its head, and the rows of the workers in ``changed``.

    ``changed=None`` writes it whole, in place of any other batch of the account (a new batch);
    its workers must all be workers of the account's ESAT. With ``changed``, returns False and
    writes nothing when the batch is no longer in the store (finished or abandoned elsewhere)."""
    esat_id = _esat_id(account)
    now = now_utc(settings)

    def update(tx: Tx) -> bool:
        found = tx.one(
            "UPDATE batch SET current_rank = ?, updated_at = ? WHERE id = ? AND account_id = ? RETURNING id",
            [batch.index, now, batch.id, account.id],
        )
        if found is None:
            return False
        for worker_id in changed or ():
            tx.execute(
                "UPDATE batch_worker SET draft = ?, declaration_id = ?, receipt_number = ?, skipped = ? "
                "WHERE batch_id = ? AND rank = ?",
                [*row(batch, worker_id), batch.id, batch.workers.index(worker_id)],
            )
        return True

    def replace(tx: Tx) -> bool:
        workers = batch.workers
        marks = ", ".join("?" * len(workers))
        known = tx.scalar(
            f"SELECT count(*) FROM worker WHERE esat_id = ? AND id IN ({marks})",  # noqa: S608 (only marks)
            [esat_id, *workers],
        )
        if not workers or len(set(workers)) != len(workers) or known != len(workers):
            raise partner.NotAllowed("travailleur inconnu")
        _delete(tx, account.id)
        tx.execute(
            "INSERT INTO batch (id, account_id, esat_id, kind, with_questions, current_rank, started_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [batch.id, account.id, esat_id, batch.kind, batch.with_questions, batch.index, now, now],
        )
        tx.executemany(
            "INSERT INTO batch_worker (batch_id, rank, worker_id, draft, declaration_id, receipt_number, "
            "skipped) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(batch.id, rank, w, *row(batch, w)) for rank, w in enumerate(workers)],
        )
        return True

    return store.write(replace if changed is None else update)


def load(store: Store, account: Account) -> Batch | None:
    """The account's open batch, if any (only this account's, for its ESAT)."""
    esat_id = _esat_id(account)
    with store.transaction() as tx:
        found = tx.one(
            "SELECT id, kind, with_questions, current_rank FROM batch WHERE account_id = ? AND esat_id = ?",
            [account.id, esat_id],
        )
        if found is None:
            return None
        rows = tx.all(
            "SELECT worker_id, draft, declaration_id, receipt_number, skipped FROM batch_worker "
            "WHERE batch_id = ? ORDER BY rank",
            [found["id"]],
        )
    batch = Batch(
        found["id"],
        found["kind"],
        found["with_questions"],
        [r["worker_id"] for r in rows],
        found["current_rank"],
    )
    for r in rows:
        worker_id = r["worker_id"]
        if r["draft"] is not None:
            batch.drafts[worker_id] = decode_draft(worker_id, r["draft"])
        if r["declaration_id"] is not None or r["skipped"]:
            batch.outcomes[worker_id] = Outcome(r["declaration_id"], r["receipt_number"])
    return batch


def finish(store: Store, account: Account, batch: Batch) -> list[Line]:
    """End the batch: its summary (each worker, filed with its receipt number or skipped), and its
    rows deleted. A worker left without an outcome counts as skipped."""
    esat_id = _esat_id(account)

    def work(tx: Tx) -> list[Line]:
        marks = ", ".join("?" * len(batch.workers))
        names = {
            r["id"]: r
            for r in tx.all(
                f"SELECT id, last_name, first_name, allocataire FROM worker WHERE esat_id = ? AND id IN ({marks})",  # noqa: S608
                [esat_id, *batch.workers],
            )
        }
        _delete(tx, account.id)
        lines = []
        for worker_id in batch.workers:
            known = names.get(worker_id)
            if known is None:  # no longer a worker of this ESAT: nothing of it is shown
                continue
            outcome = batch.outcomes.get(worker_id, Outcome())
            lines.append(
                Line(
                    worker_id,
                    f"{known['last_name']} {known['first_name']}",
                    known["allocataire"],
                    outcome.receipt_number if outcome.declaration_id is not None else None,
                )
            )
        return lines

    return store.write(work) if batch.workers else []


def abandon(store: Store, account: Account) -> None:
    """Delete the account's open batch (the declarations it filed stay); audited when there was one."""
    _esat_id(account)

    def work(tx: Tx) -> None:
        gone = _delete(tx, account.id)
        if gone is not None:
            audit.record(tx, account.id, "batch_abandoned", gone)

    store.write(work)


def _delete(tx: Tx, account_id: int) -> str | None:
    """Delete the account's batch and its rows; return its id (None: there was none)."""
    batch_id = tx.scalar("SELECT id FROM batch WHERE account_id = ?", [account_id])
    if batch_id is not None:
        tx.execute("DELETE FROM batch_worker WHERE batch_id = ?", [batch_id])
        tx.execute("DELETE FROM batch WHERE id = ?", [batch_id])
    return batch_id
