"""Audit trail: one append-only, hash-chained row per security-relevant action (AUD-01).

Each row is chained to the one before it: ``hash = HMAC-SHA256(ESAT_SECRET, prev_hash + row)``, and
``audit_head`` keeps the last number and hash. Any update, deletion (even of the last rows) or
reordering breaks the chain; ``python -m services.audit verify`` finds where.

Appending starts by reading ``audit_head`` ``FOR UPDATE``: on PostgreSQL that row lock orders
concurrent appends, on DuckDB (no row locks) the store runs one transaction at a time. Rows are
written in the action's own transaction, so an action and its audit row commit together or not
at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from data.store import POSTGRESQL, Store, Tx
from services.config import load_settings

GENESIS = "genese"


def record(tx: Tx, account_id: int | None, action: str, object_ref: str | None = None) -> None:
    """Append an audit row. ``object_ref`` is an identifier (never names or declared values)."""
    lock = " FOR UPDATE" if tx.dialect == POSTGRESQL else ""
    head = tx.one(f"SELECT last_id, last_hash FROM audit_head WHERE id = 1{lock}")  # noqa: S608
    assert head is not None, "audit_head is created by migration 006"
    row_id, prev = head["last_id"] + 1, head["last_hash"]
    at = datetime.now(UTC).replace(tzinfo=None)
    digest = _hash(_key(), prev, row_id, at, account_id, action, object_ref)
    tx.execute(
        "INSERT INTO audit_log (id, occurred_at, account_id, action, object_ref, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [row_id, at, account_id, action, object_ref, prev, digest],
    )
    tx.execute("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", [row_id, digest])


def log(store: Store, account_id: int | None, action: str, object_ref: str | None = None) -> None:
    """An audit row in a transaction of its own (for actions that write nothing else)."""
    store.write(lambda tx: record(tx, account_id, action, object_ref))


def _key() -> bytes:
    return load_settings().secret.encode()


def _hash(
    key: bytes,
    prev: str,
    row_id: int,
    at: datetime,
    account_id: int | None,
    action: str,
    object_ref: str | None,
) -> str:
    canonical = json.dumps(
        [prev, row_id, at.isoformat(sep=" ", timespec="microseconds"), account_id, action, object_ref],
        ensure_ascii=True,
    )
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Verdict:
    rows: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store) -> Verdict:
    """Walk the whole chain; every broken link is one French sentence in ``problems``."""
    problems: list[str] = []
    prev_id, prev_hash = 0, GENESIS
    key = _key()
    rows = store.all("SELECT * FROM audit_log ORDER BY id")
    for row in rows:
        if row["id"] != prev_id + 1:
            problems.append(f"ligne {row['id']} : ligne(s) manquante(s) après la ligne {prev_id}")
        if row["prev_hash"] != prev_hash:
            problems.append(f"ligne {row['id']} : ne suit pas la ligne qui la précède")
        digest = _hash(
            key,
            row["prev_hash"],
            row["id"],
            row["occurred_at"],
            row["account_id"],
            row["action"],
            row["object_ref"],
        )
        if not hmac.compare_digest(digest, row["hash"]):
            problems.append(f"ligne {row['id']} : contenu modifié")
        prev_id, prev_hash = row["id"], row["hash"]
    head = store.one("SELECT last_id, last_hash FROM audit_head WHERE id = 1")
    if head is None or (head["last_id"], head["last_hash"]) != (prev_id, prev_hash):
        problems.append(f"fin de la chaîne : la dernière ligne attendue n'est pas la ligne {prev_id}")
    return Verdict(len(rows), problems)


def main(argv: list[str]) -> int:
    """``python -m services.audit verify``: exit 0 when the chain is whole, 1 otherwise."""
    if argv != ["verify"]:
        print("usage : python -m services.audit verify", file=sys.stderr)
        return 2
    store = Store(load_settings().db)
    try:
        verdict = verify(store)
    finally:
        store.close()
    for problem in verdict.problems:
        print(problem)
    print(f"{verdict.rows} lignes d'audit, chaîne {'intacte' if verdict.ok else 'ROMPUE'}.")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
