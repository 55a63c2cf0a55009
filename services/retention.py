"""PRIV-03: declarations are kept two years, then deleted with everything that carries them.

A declaration received on day D is visible up to D+730 and gone from D+731: from the store (its
values, accusé de réception and avis with it), hence from every screen and every justificatif,
which is only ever rebuilt from the store. The accusé de réception of a batch filed together
(``batch_ack``) goes with the declarations of its day. ``python -m services.retention`` runs the deletion;
schedule it daily (SECURITY.md). Failed-login records older than a day go too.

Batches in progress (services/batches.py) untouched for BATCH_RETENTION_DAYS go as well: their
drafts hold declared amounts that were never filed. 30 days covers a manager's holidays in the
middle of the certificat campaign (1 December – end of February) and any change's preparation,
while keeping unfiled data no longer than the work it serves (RGPD art. 5-1 c and e:
minimisation and limited retention); a batch deleted this way is simply started again.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta

from data.store import Store, Tx
from services import audit
from services.clock import PARIS, today
from services.config import load_settings

RETENTION_DAYS = 730
BATCH_RETENTION_DAYS = 30
CARRIERS = ("declaration_value", "outbox", "feedback")  # rows that belong to one declaration


def kept_since(on: date, days: int = RETENTION_DAYS) -> datetime:
    """Naive UTC instant from which declarations (or what ``days`` is about) are still kept on
    ``on`` (Paris midnight)."""
    first_day = on - timedelta(days=days)
    return datetime.combine(first_day, time(), PARIS).astimezone(UTC).replace(tzinfo=None)


def purge(store: Store, on: date) -> int:
    """Delete what is past retention on ``on``; return how many declarations went."""
    since = kept_since(on)
    batches_since = kept_since(on, BATCH_RETENTION_DAYS)

    def work(tx: Tx) -> int:
        count = tx.scalar("SELECT count(*) FROM declaration WHERE received_at < ?", [since])
        for table in CARRIERS:
            tx.execute(
                f"DELETE FROM {table} WHERE declaration_id IN "  # noqa: S608 (table names are constants)
                "(SELECT id FROM declaration WHERE received_at < ?)",
                [since],
            )
        tx.execute("DELETE FROM declaration WHERE received_at < ?", [since])
        tx.execute("DELETE FROM batch_ack WHERE created_at < ?", [since])  # a batch's one accusé
        tx.execute(
            "DELETE FROM login_failure WHERE failed_at < ?", [since + timedelta(days=RETENTION_DAYS - 1)]
        )
        tx.execute(
            "DELETE FROM batch_worker WHERE batch_id IN (SELECT id FROM batch WHERE updated_at < ?)",
            [batches_since],
        )
        tx.execute("DELETE FROM batch WHERE updated_at < ?", [batches_since])
        audit.record(tx, None, "retention_purge", str(count))
        return count

    return store.write(work)


def main() -> int:
    settings = load_settings()
    store = Store(settings.db)
    try:
        count = purge(store, today(settings))
    finally:
        store.close()
    print(f"{count} déclaration(s) de plus de {RETENTION_DAYS} jours supprimée(s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
