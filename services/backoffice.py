"""What a Caf agent sees: campaign progress, changes, inbox, processing, avis.

Every function takes the agent's account and only ever reads that account's Caf: the Caf
code comes from the account, never from the request. Figures come from SQL views
(data/migrations/003_backoffice.sql), not from loops over rows in Python. Agents read
declarations and mark them processed; they never change declared content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pandas as pd

from data.store import Store
from forms import load_all
from rules import calendar, checks
from services import audit
from services.accounts import Account
from services.clock import PARIS, now_utc, to_paris
from services.config import Settings
from services.partner import NotAllowed

MILESTONE = (1, 15)  # 15 January N+1: filed later is late (AAH payments may be interrupted)


def caf_of(account: Account) -> str:
    """The agent's Caf; any other role is refused."""
    if account.role != "agent" or not account.caf_code:
        raise NotAllowed("réservé aux agents de la Caf")
    return account.caf_code


def _utc(day: date) -> datetime:
    """Midnight in Paris of ``day``, as the naive UTC timestamps of the store."""
    return datetime.combine(day, time(), PARIS).astimezone(UTC).replace(tzinfo=None)


# -- certificat campaign --------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignTotals:
    campaign: int
    workers: int  # workers the Caf knows, not departed
    received: int  # certificats received for this campaign
    late: int  # received after 15 January N+1

    @property
    def missing(self) -> int:
        return max(self.workers - self.received, 0)

    @property
    def share(self) -> float:
        return self.received / self.workers if self.workers else 0.0

    @property
    def late_share(self) -> float:
        return self.late / self.received if self.received else 0.0


_BY_ESAT = (
    "SELECT e.id AS esat_id, e.legal_name AS esat, count(w.id) AS workers, "
    "count(c.id) AS received, count(c.id) FILTER (WHERE c.late) AS late "
    "FROM worker w JOIN esat e ON e.id = w.esat_id "
    "LEFT JOIN v_certificat c ON c.worker_id = w.id AND c.campaign = ? "
    "WHERE w.caf_code = ? AND (w.status <> 'LEFT' OR c.id IS NOT NULL) "
    "GROUP BY e.id, e.legal_name ORDER BY e.legal_name"
)


def campaign_totals(store: Store, account: Account, campaign: int) -> CampaignTotals:
    row = store.one(
        "SELECT count(w.id) AS workers, count(c.id) AS received, count(c.id) FILTER (WHERE c.late) AS late "
        "FROM worker w LEFT JOIN v_certificat c ON c.worker_id = w.id AND c.campaign = ? "
        "WHERE w.caf_code = ? AND (w.status <> 'LEFT' OR c.id IS NOT NULL)",
        [campaign, caf_of(account)],
    )
    return CampaignTotals(campaign, row["workers"], row["received"], row["late"])


def campaign_by_esat(store: Store, account: Account, campaign: int) -> pd.DataFrame:
    """One row per ESAT: workers, received, missing, % received, late."""
    frame = store.frame(_BY_ESAT, [campaign, caf_of(account)])
    frame["missing"] = frame["workers"] - frame["received"]
    frame["share"] = (frame["received"] / frame["workers"]).where(frame["workers"] > 0, 0.0)
    return frame


def campaign_by_week(store: Store, account: Account, campaign: int) -> pd.DataFrame:
    """Certificats received per week of the campaign, with the running total."""
    frame = store.frame(
        "SELECT date_trunc('week', received_at) AS week, count(*) AS received FROM v_certificat "
        "WHERE caf_code = ? AND campaign = ? GROUP BY 1 ORDER BY 1",
        [caf_of(account), campaign],
    )
    frame["cumulative"] = frame["received"].cumsum()
    return frame


def milestone(campaign: int) -> date:
    return date(campaign + 1, *MILESTONE)


def window_end(campaign: int) -> date:
    return calendar.window_end(campaign)


def undeclared_workers(store: Store, account: Account, campaign: int) -> pd.DataFrame:
    """Workers of the Caf with no certificat for the campaign, to contact their ESAT."""
    return store.frame(
        "SELECT e.legal_name AS esat, e.siret AS siret, w.last_name AS nom, w.first_name AS prenom, "
        "w.allocataire AS numero_allocataire FROM worker w JOIN esat e ON e.id = w.esat_id "
        "WHERE w.caf_code = ? AND w.status <> 'LEFT' AND NOT EXISTS "
        "(SELECT 1 FROM v_certificat c WHERE c.worker_id = w.id AND c.campaign = ?) "
        "ORDER BY e.legal_name, w.last_name, w.first_name",
        [caf_of(account), campaign],
    )


def current_campaign(on: date) -> int:
    """The campaign in progress, or the last one closed (March to November)."""
    return calendar.campaign_of(on) if calendar.certificat_open(on) else on.year - 1


# -- changes of situation --------------------------------------------------------------------


def form_titles() -> dict[str, str]:
    return {f.id: f.title for f in load_all().values()}


def changes_by_month(store: Store, account: Account, since: date) -> pd.DataFrame:
    frame = store.frame(
        "SELECT date_trunc('month', received_at) AS month, form_id AS form_id, count(*) AS declarations "
        "FROM v_change WHERE caf_code = ? AND received_at >= ? GROUP BY 1, 2 ORDER BY 1, 2",
        [caf_of(account), _utc(since)],
    )
    frame["type"] = frame["form_id"].map(form_titles())
    return frame


def departures_by_motif(store: Store, account: Account, since: date) -> pd.DataFrame:
    labels = {o.value: o.label for o in checks.reference_list("motifs_depart")}
    frame = store.frame(
        "SELECT motif_depart AS motif, count(*) AS departures FROM v_change "
        "WHERE caf_code = ? AND received_at >= ? AND motif_depart IS NOT NULL GROUP BY 1 ORDER BY 2 DESC",
        [caf_of(account), _utc(since)],
    )
    frame["motif"] = frame["motif"].map(labels).fillna(frame["motif"])
    return frame


def double_activity_counts(store: Store, account: Account, since: date) -> pd.DataFrame:
    frame = store.frame(
        "SELECT date_trunc('month', received_at) AS month, "
        "count(*) FILTER (WHERE form_id = 'debut_double_activite') AS started, "
        "count(*) FILTER (WHERE form_id = 'fin_double_activite') AS ended "
        "FROM v_change WHERE caf_code = ? AND received_at >= ? GROUP BY 1 ORDER BY 1",
        [caf_of(account), _utc(since)],
    )
    return frame


def rate_changes(store: Store, account: Account, since: date) -> pd.DataFrame:
    """Distribution of ESAT rate changes (new − old, in points)."""
    return store.frame(
        "SELECT rate_after - rate_before AS change, count(*) AS declarations FROM v_change "
        "WHERE caf_code = ? AND received_at >= ? AND rate_before IS NOT NULL AND rate_after IS NOT NULL "
        "GROUP BY 1 ORDER BY 1",
        [caf_of(account), _utc(since)],
    )


# -- inbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilter:
    form_id: str | None = None
    esat_id: int | None = None
    start: date | None = None
    end: date | None = None  # inclusive
    status: str | None = None  # "a_traiter" or "traitee"


def inbox(
    store: Store, account: Account, f: InboxFilter, limit: int = 50, offset: int = 0
) -> tuple[pd.DataFrame, int]:
    where, params = ["caf_code = ?"], [caf_of(account)]
    if f.form_id:
        where.append("form_id = ?")
        params.append(f.form_id)
    if f.esat_id:
        where.append("esat_id = ?")
        params.append(f.esat_id)
    if f.start:
        where.append("received_at >= ?")
        params.append(_utc(f.start))
    if f.end:
        where.append("received_at < ?")
        params.append(_utc(date.fromordinal(f.end.toordinal() + 1)))
    if f.status == "a_traiter":
        where.append("processed_at IS NULL")
    elif f.status == "traitee":
        where.append("processed_at IS NOT NULL")
    clause = " AND ".join(where)  # fixed fragments only; values are parameters
    select = (
        "SELECT id AS id, receipt_number AS recu, form_id AS form_id, esat_name AS esat, last_name AS nom, "  # noqa: S608
        "first_name AS prenom, allocataire AS numero_allocataire, received_at AS recue_le, "
        f"processed_at AS traitee_le FROM v_inbox WHERE {clause} ORDER BY received_at DESC LIMIT ? OFFSET ?"
    )
    with store.transaction() as tx:
        total = tx.scalar(f"SELECT count(*) FROM v_inbox WHERE {clause}", params)  # noqa: S608
        frame = tx.frame(select, [*params, max(1, min(limit, 500)), max(0, offset)])
    frame["type"] = frame["form_id"].map(form_titles())
    for column in ("recue_le", "traitee_le"):
        frame[column] = frame[column].map(lambda t: to_paris(t) if t is not None and not pd.isna(t) else None)
    return frame, total


def esats(store: Store, account: Account) -> dict[int, str]:
    """ESATs with at least one worker of the Caf (for the inbox filter)."""
    rows = store.all(
        "SELECT DISTINCT e.id, e.legal_name FROM esat e JOIN worker w ON w.esat_id = e.id "
        "WHERE w.caf_code = ? ORDER BY e.legal_name",
        [caf_of(account)],
    )
    return {r["id"]: r["legal_name"] for r in rows}


def mark_processed(store: Store, settings: Settings, account: Account, declaration_id: int) -> bool:
    """Record who processed the declaration and when; False if it already was (nothing changes)."""
    caf = caf_of(account)
    with store.transaction() as tx:
        row = tx.one(
            "SELECT processed_at FROM declaration WHERE id = ? AND caf_code = ?", [declaration_id, caf]
        )
        if row is None:
            raise NotAllowed("déclaration inconnue")
        if row["processed_at"] is not None:
            return False
        tx.execute(
            "UPDATE declaration SET processed_at = ?, processed_by = ? WHERE id = ?",
            [now_utc(settings), account.id, declaration_id],
        )
        audit.record(tx, account.id, "declaration_processed", str(declaration_id))
    return True


def processing_delays(store: Store, account: Account) -> pd.DataFrame:
    """Per declaration type: processed count, median and 90th percentile delay in hours."""
    frame = store.frame(
        "SELECT form_id AS form_id, count(processed_at) AS processed, count(*) - count(processed_at) AS waiting, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY delay_minutes) / 60.0 AS median_hours, "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY delay_minutes) / 60.0 AS p90_hours "
        "FROM v_inbox WHERE caf_code = ? GROUP BY 1 ORDER BY 1",
        [caf_of(account)],
    )
    frame["type"] = frame["form_id"].map(form_titles())
    return frame


# -- avis -----------------------------------------------------------------------------------


def feedback(store: Store, account: Account) -> pd.DataFrame:
    """Avis left by ESAT managers on declarations of the Caf (rating 1–5, comment)."""
    frame = store.frame(
        "SELECT f.created_at AS date, f.rating AS note, f.comment AS commentaire, d.form_id AS form_id "
        "FROM feedback f JOIN declaration d ON d.id = f.declaration_id WHERE d.caf_code = ? "
        "ORDER BY f.created_at DESC",
        [caf_of(account)],
    )
    frame["date"] = frame["date"].map(to_paris)
    return frame


def feedback_trend(store: Store, account: Account) -> pd.DataFrame:
    """Average rating and count per month."""
    return store.frame(
        "SELECT date_trunc('month', f.created_at) AS month, avg(CAST(f.rating AS DOUBLE PRECISION)) AS average, count(*) AS count "
        "FROM feedback f JOIN declaration d ON d.id = f.declaration_id WHERE d.caf_code = ? GROUP BY 1 ORDER BY 1",
        [caf_of(account)],
    )


@dataclass(frozen=True)
class Detail:
    """A declaration as the partner saw it, plus its processing."""

    declaration_id: int
    receipt_number: str
    form_id: str
    esat: str
    worker: str
    allocataire: str
    received_at: datetime
    processed_at: datetime | None
    processed_by: str | None


def detail(store: Store, account: Account, declaration_id: int) -> Detail:
    row = store.one(
        "SELECT d.id, d.receipt_number, d.form_id, e.legal_name AS esat_name, w.last_name, w.first_name, "
        "w.allocataire, d.received_at, d.processed_at, a.display_name AS agent FROM declaration d "
        "JOIN esat e ON e.id = d.esat_id JOIN worker w ON w.id = d.worker_id "
        "LEFT JOIN account a ON a.id = d.processed_by WHERE d.id = ? AND d.caf_code = ?",
        [declaration_id, caf_of(account)],
    )
    if row is None:
        raise NotAllowed("déclaration inconnue")
    return Detail(
        declaration_id=row["id"],
        receipt_number=row["receipt_number"],
        form_id=row["form_id"],
        esat=row["esat_name"],
        worker=f"{row['last_name']} {row['first_name']}",
        allocataire=row["allocataire"],
        received_at=to_paris(row["received_at"]),
        processed_at=to_paris(row["processed_at"]) if row["processed_at"] else None,
        processed_by=row["agent"],
    )
