"""Everything the partner journey keeps between reruns, in one object per browser session.

Pages read and change this object only; they never invent their own session-state keys.
Drafts are plain data (not widget keys), so values survive page changes. The batch in progress
(selection, type, current worker, drafts, outcomes) is also saved in the store by ui/batch.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import streamlit as st

from data.store import Store
from services import accounts, batches
from services.accounts import Account
from services.batches import Draft, Outcome

__all__ = ["Draft", "Session", "Table", "reset", "session"]

T = TypeVar("T")

_KEY = "espace_esat"


@dataclass
class Table:
    """The certificats typed in a table or read from a file, filed together (pages/campagne.py)."""

    workers: list[int]  # the table's rows (worker ids), in order
    people: dict[int, Any]  # worker id → services.campaign.Candidate (every candidate of the ESAT)
    raw: dict[int, dict[str, str]] = field(default_factory=dict)  # worker id → field id → typed text
    lines: dict[int, int] = field(default_factory=dict)  # worker id → line of the uploaded file
    step: str = "saisie"  # saisie → recap → fin
    page: int = 0
    only_errors: bool = False  # the table shows only the rows in error
    generation: int = 0  # bumped when the values change outside the inputs (an upload)
    checks: dict[int, Any] = field(default_factory=dict)  # worker id → services.campaign.RowCheck
    upload: Any = None  # the last upload's report (services.spreadsheet.Upload)
    batch_key: str | None = None  # chosen on the recap: every row's idempotency key derives from it
    filed: list[Any] = field(default_factory=list)  # services.campaign.Filed, once filed


@dataclass
class Session:
    account: Account | None = None
    login_at: datetime | None = None  # naive UTC, for the 12 h limit (SESS-01)
    seen_at: datetime | None = None  # last rerun, for the 30 min idle limit
    session_checked_at: datetime | None = None  # last check that the account still holds (app.py)
    cgu_ok: bool = False
    caf_code: str | None = None
    query: str = ""
    page: int = 0
    selected: list[int] = field(default_factory=list)  # worker ids, in selection order
    kind: str | None = None  # declaration type chosen for the selection (form or question tree)
    with_questions: bool = False  # the kind is a question tree: each worker answers it
    index: int = 0  # position of the current worker in ``selected``
    drafts: dict[int, Draft] = field(default_factory=dict)
    batch_id: str | None = None  # the batch in the store (set when the type is confirmed)
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # workers filed or skipped
    saved: tuple[Any, dict[int, Any]] | None = None  # what the store holds: head, worker rows
    batch_restored: bool = False  # this login looked for a batch in the store (ui/batch.py)
    abandoned: bool = False  # the batch was abandoned by a callback: ui/batch.save drops it from the store
    summary: list[batches.Line] | None = None  # the last finished batch, on Mes travailleurs
    dialog: str | None = None  # which confirmation dialog is open
    flash: str | None = None  # one-shot information shown on the next page
    memo: dict[Any, Any] = field(default_factory=dict)  # this session's reads, never shared
    screen: str | None = None  # the page of the last run (see ``enter``)
    screen_memo: dict[Any, Any] = field(default_factory=dict)  # reads of the current screen visit
    inbox_page: int = 0  # Caf agents: page of the corbeille
    field_errors: dict[str, str] = field(default_factory=dict)  # field id → French message, this screen
    reset_token: str | None = None  # "Mot de passe oublié": the link's token, taken out of the URL
    admin_esat: int | None = None  # Caf administrators: the partner being edited (None: a new one)
    admin_fonctions: int = 1  # how many fonctions the partner form shows
    import_checked: str | None = None  # SHA-256 of the worker file whose dry run passed
    review_drafts: dict[str, Draft] = field(default_factory=dict)  # reviewers: dry runs, per form
    review_reports: dict[str, Any] = field(default_factory=dict)  # reviewers: last dry-run report, per form
    table: Table | None = None  # ESAT managers: the certificats of a table entry or an upload

    # -- selection ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A batch is open: the selection cannot change, no other type can be chosen."""
        return self.kind is not None

    def toggle(self, worker_id: int) -> None:
        if self.busy:
            return
        if worker_id in self.selected:
            self.selected.remove(worker_id)
        else:
            self.selected.append(worker_id)

    def current_worker(self) -> int | None:
        if self.kind and 0 <= self.index < len(self.selected):
            return self.selected[self.index]
        return None

    def start(self, kind: str, with_questions: bool) -> None:
        self.kind, self.with_questions, self.index, self.drafts = kind, with_questions, 0, {}
        self.batch_id, self.outcomes, self.saved, self.summary = batches.new_id(), {}, None, None

    def advance(self) -> bool:
        """Move to the next selected worker; False after the last (the batch is then ended by
        ui/batch.py, which shows its summary)."""
        self.index = min(self.index + 1, len(self.selected))
        return self.index < len(self.selected)

    def skip(self) -> bool:
        """Pass the current worker without a declaration (one already filed stays filed); advance."""
        worker_id = self.current_worker()
        if worker_id is not None and worker_id not in self.outcomes:
            self.outcomes[worker_id] = Outcome()
        return self.advance()

    def filed(self, worker_id: int, declaration_id: int, receipt_number: str) -> None:
        self.outcomes[worker_id] = Outcome(declaration_id, receipt_number)

    def finish(self) -> None:
        """Forget the batch (and the selection) in this session."""
        self.selected, self.kind, self.index, self.drafts, self.dialog = [], None, 0, {}, None
        self.batch_id, self.outcomes, self.saved = None, {}, None

    def batch(self) -> batches.Batch | None:
        """The batch in progress as the store keeps it (sharing this session's drafts)."""
        if self.kind is None or self.batch_id is None:
            return None
        return batches.Batch(
            self.batch_id,
            self.kind,
            self.with_questions,
            self.selected,
            self.index,
            self.drafts,
            self.outcomes,
        )

    def resume(self, batch: batches.Batch) -> None:
        """Take up a batch found in the store, where it was."""
        self.selected, self.kind, self.with_questions = list(batch.workers), batch.kind, batch.with_questions
        self.index, self.drafts, self.outcomes = batch.index, batch.drafts, batch.outcomes
        self.batch_id, self.dialog = batch.id, None

    def draft(self) -> Draft | None:
        """The current worker's draft, created on first use."""
        worker_id = self.current_worker()
        if worker_id is None or self.kind is None:
            return None
        if worker_id not in self.drafts:
            if self.with_questions:
                self.drafts[worker_id] = Draft(worker_id, self.kind, step="questions")
            else:
                self.drafts[worker_id] = Draft(worker_id, self.kind, form_id=self.kind)
        return self.drafts[worker_id]

    def remember(self, key: Any, compute: Callable[[], T]) -> T:
        """Per-session memo: a screen does not reload what it already read.

        ``key`` names everything the value depends on. Never shared between sessions (ST-07).
        """
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def enter(self, screen: str) -> None:
        """Called by app.py on every run with the page about to run: a new page starts a new visit."""
        if screen != self.screen:
            self.screen, self.screen_memo, self.field_errors = screen, {}, {}

    def remember_on_screen(self, key: Any, compute: Callable[[], T]) -> T:
        """Like ``remember``, for the current visit of a page only: the reruns of a screen (a click
        that stays on it) reuse the read; coming back to the page reads it again, so what another
        session or a submission changed meanwhile is seen. An exception is not remembered."""
        if key not in self.screen_memo:
            self.screen_memo[key] = compute()
        return self.screen_memo[key]

    def missing_contracts(self, store: Store, on: date) -> list[str]:
        """The partner documents the account lacks on ``on``, read once per login and day (app.py
        asks on every run): a contract signed or ended meanwhile counts from the next login or day."""
        account = self.account
        assert account is not None
        return self.remember(
            ("missing_contracts", account.id, self.login_at, on),
            lambda: accounts.missing_contracts(store, account, on),
        )

    def pop_flash(self) -> str | None:
        text, self.flash = self.flash, None
        return text


def session() -> Session:
    if _KEY not in st.session_state:
        st.session_state[_KEY] = Session()
    return st.session_state[_KEY]


def reset() -> None:
    """Forget everything about this browser session (logout)."""
    st.session_state.clear()
