"""Audit trail: one row per security-relevant action, written in the action's transaction."""

from __future__ import annotations

from data.store import Tx


def record(tx: Tx, account_id: int | None, action: str, object_ref: str | None = None) -> None:
    """Append an audit row. ``object_ref`` is an identifier (never names or declared values)."""
    tx.execute(
        "INSERT INTO audit_log (id, occurred_at, account_id, action, object_ref) "
        "VALUES (nextval('audit_seq'), current_timestamp, ?, ?, ?)",
        [account_id, action, object_ref],
    )
