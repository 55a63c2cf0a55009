"""What the Caf knows of a worker, as of a date: a timeline of declarations over a baseline.

The worker row holds the baseline (what the Caf's file says). Each filed declaration stores the
changes it makes (``declaration.effects``, from its form's ``effects``) and its date of effect. The
state as of a date is the baseline plus every change dated on or before it, in date order (a
later filing for the same date wins). A declaration superseded by a rectificative no longer
counts: its correction does. A departure filed on 1 March for 31 May leaves the worker active
until 31 May; a parental leave ends on its expected return date.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from data.store import Store, Tx
from forms.schema import FormDefinition
from rules import checks

STATE = ("rate_esat", "rate_mo", "double_activity", "double_activity_since", "status", "return_date")
_DATES = ("double_activity_since", "return_date")
_RATES = ("rate_esat", "rate_mo")


@dataclass(frozen=True)
class Event:
    declaration_id: int
    form_id: str
    effective_date: date
    changes: dict[str, Any]  # typed: Decimal rates, dates, bool, str


def encode(changes: dict[str, Any]) -> str:
    """The changes as compact JSON (rates "80.00", dates ISO), as stored in ``declaration.effects``."""

    def plain(key: str, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if key in _RATES:
            return f"{Decimal(value):.2f}"
        if key in _DATES:
            return value.isoformat()
        return value

    return json.dumps({k: plain(k, v) for k, v in changes.items()}, sort_keys=True, separators=(",", ":"))


def decode(text: str) -> dict[str, Any]:
    def typed(key: str, value: Any) -> Any:
        if value is None:
            return None
        if key in _RATES:
            return Decimal(value)
        if key in _DATES:
            return date.fromisoformat(value)
        return value

    return {k: typed(k, v) for k, v in json.loads(text).items()}


def baseline(worker: Any) -> dict[str, Any]:
    """The state the worker row holds (a ``partner.Worker`` or a row dict)."""
    get = worker.get if isinstance(worker, dict) else lambda key: getattr(worker, key)
    return {key: get(key) for key in STATE}


def events(store: Store | Tx, worker_id: int, excluding: Iterable[int] = ()) -> list[Event]:
    """The worker's changes still in force (not superseded), in date order, then filing order."""
    skip = set(excluding)
    return [
        e
        for e in events_of(store, "worker_id = ?", [worker_id]).get(worker_id, [])
        if e.declaration_id not in skip
    ]


def events_of(store: Store | Tx, workers: str, params: list[Any]) -> dict[int, list[Event]]:
    """``events`` of every worker the condition ``workers`` (SQL on ``declaration.worker_id``, a
    constant of the caller) selects, in one query: worker id → its changes in force, in order."""
    rows = store.all(
        f"SELECT id, worker_id, form_id, effective_date, effects FROM declaration WHERE {workers} "  # noqa: S608
        "AND effective_date IS NOT NULL AND superseded_at IS NULL AND effects IS NOT NULL "
        "ORDER BY worker_id, effective_date, id",
        params,
    )
    found: dict[int, list[Event]] = {}
    for r in rows:
        found.setdefault(r["worker_id"], []).append(
            Event(r["id"], r["form_id"], r["effective_date"], decode(r["effects"]))
        )
    return found


def fold(base: dict[str, Any], history: Iterable[Event], on: date) -> dict[str, Any]:
    """The state as of ``on``: ``base`` plus the changes dated on or before it."""
    state = dict(base)
    for event in history:
        if event.effective_date > on:
            break
        if state.get("status") == "ON_LEAVE" and _back(state, event.effective_date):
            state.update(status="ACTIVE", return_date=None)
        state.update(event.changes)
    if state.get("status") == "ON_LEAVE" and _back(state, on):
        state.update(status="ACTIVE", return_date=None)
    return state


def _back(state: dict[str, Any], on: date) -> bool:
    """Back from a parental leave once its expected return date has come."""
    return state.get("return_date") is not None and state["return_date"] <= on


def state(
    store: Store | Tx, worker: Any, on: date, excluding: Iterable[int] = ()
) -> tuple[dict[str, Any], list[Event]]:
    """The state as of ``on`` and the events it was built from (without ``excluding``)."""
    history = events(store, worker.id if not isinstance(worker, dict) else worker["id"], excluding)
    return fold(baseline(worker), history, on), history


def last_change(history: Iterable[Event], on: date) -> date | None:
    """The date of the last change in force on ``on``."""
    dates = [e.effective_date for e in history if e.effective_date <= on]
    return max(dates) if dates else None


def conflicts(
    base: dict[str, Any], history: list[Event], new: Event, forms: dict[str, FormDefinition]
) -> list[tuple[Event, str]]:
    """The later changes that the new one would make impossible: each later change's guards,
    read again on the timeline with the new change inserted (empty: it fits the timeline)."""
    merged = sorted([*history, new], key=lambda e: (e.effective_date, e.declaration_id))
    out = []
    for event in history:
        if event.effective_date <= new.effective_date:
            continue
        form = forms.get(event.form_id)
        if form is None:
            continue
        before = [e for e in merged if e is not event]
        day_before = fold(
            base, [e for e in before if e.effective_date <= event.effective_date], event.effective_date
        )
        for guard in form.guards:
            problem = checks.guard(guard.guard, day_before)
            if problem:
                out.append((event, problem))
                break
    return out


def known_state(store: Store | Tx, worker_id: int, on: date) -> dict[str, Any]:
    """The state of one worker as of ``on`` (no scope check: for services that already hold it)."""
    row = store.one(f"SELECT id, {', '.join(STATE)} FROM worker WHERE id = ?", [worker_id])  # noqa: S608
    return state(store, row, on)[0]
