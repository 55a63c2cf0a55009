"""Reviewers' comments on the form definitions (reviewers and Caf agents only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from data.store import Store
from forms import load_all
from services import audit
from services.accounts import Account
from services.clock import now_utc, to_paris
from services.config import Settings
from services.free_text import free_text
from services.partner import NotAllowed

REVIEWERS = ("relecteur", "agent")
MAX_LENGTH = 2000


@dataclass(frozen=True)
class Comment:
    id: int
    form_id: str
    form_version: int
    field_id: str | None
    author: str
    body: str
    created_at: datetime  # Europe/Paris
    resolved_at: datetime | None


def _reviewer(account: Account) -> None:
    if account.role not in REVIEWERS:
        raise NotAllowed("réservé aux relecteurs")


def add(
    store: Store, settings: Settings, account: Account, form_id: str, field_id: str | None, body: str
) -> int:
    _reviewer(account)
    form = load_all().get(form_id)
    if form is None or (field_id is not None and field_id not in {f.id for f in form.fields}):
        raise ValueError("formulaire ou champ inconnu")
    text = free_text(body, MAX_LENGTH)
    if not text:
        raise ValueError("commentaire vide")
    with store.transaction() as tx:
        comment_id = tx.scalar("SELECT nextval('review_comment_seq')")
        tx.execute(
            "INSERT INTO review_comment (id, form_id, form_version, field_id, author_id, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [comment_id, form_id, form.version, field_id, account.id, text, now_utc(settings)],
        )
        audit.record(tx, account.id, "review_comment", f"{form_id}:{comment_id}")
    return comment_id


def listing(store: Store, account: Account, form_id: str) -> list[Comment]:
    _reviewer(account)
    rows = store.all(
        "SELECT c.*, a.display_name AS author FROM review_comment c JOIN account a ON a.id = c.author_id "
        "WHERE c.form_id = ? ORDER BY c.resolved_at IS NOT NULL, c.created_at DESC",
        [form_id],
    )
    return [
        Comment(
            id=r["id"],
            form_id=r["form_id"],
            form_version=r["form_version"],
            field_id=r["field_id"],
            author=r["author"],
            body=r["body"],
            created_at=to_paris(r["created_at"]),
            resolved_at=to_paris(r["resolved_at"]) if r["resolved_at"] else None,
        )
        for r in rows
    ]


def resolve(store: Store, settings: Settings, account: Account, comment_id: int) -> None:
    _reviewer(account)
    with store.transaction() as tx:
        tx.execute(
            "UPDATE review_comment SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL",
            [now_utc(settings), account.id, comment_id],
        )
        audit.record(tx, account.id, "review_comment_resolved", str(comment_id))
