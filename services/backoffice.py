"""What a Caf agent sees: campaign progress, changes, inbox, processing, avis.

Every function takes the agent's account and only ever reads that account's Caf: the Caf
code comes from the account, never from the request. Figures come from SQL views
(data/migrations/003_backoffice.sql, redefined by 010_backoffice_generic.sql), not from loops
over rows in Python, and never from form or field ids: a certificat is a declaration filed for a
campaign, a start or end of double activity is what its stored effects say. Agents read
declarations and mark them processed; they never change declared content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pandas as pd

from data.store import Store
from forms import fmt, load_all
from rules import calendar, checks
from services import audit, timeline
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


# A certificat is expected only for a worker paid in November N (issue 12, point 9): in the ESAT on
# at least one day of November N on the timeline (services/timeline.py) — entered on or before
# 30 November (an unknown entry date counts as before), and not gone (left or on leave) for the
# whole month: in the ESAT on 1 November, or back during November (a return, or the end of a
# parental leave). A worker who left on 10 December is still expected; one who entered on
# 1 December or left on 31 October is not. SQL-side: the state as of 1 November is the latest
# status change in force on that day (v_status_change), else the worker row (the baseline).
_EXPECTED = (
    "SELECT w.id AS worker_id FROM worker w "
    "LEFT JOIN (SELECT worker_id, status, return_date, "
    "row_number() OVER (PARTITION BY worker_id ORDER BY effective_date DESC, id DESC) AS k "
    "FROM v_status_change WHERE caf_code = ? AND effective_date <= ?) s ON s.worker_id = w.id AND s.k = 1 "
    "WHERE w.caf_code = ? AND (w.entry_date IS NULL OR w.entry_date <= ?) AND ("
    "(CASE WHEN s.worker_id IS NULL THEN coalesce(w.status, 'ACTIVE') ELSE s.status END) = 'ACTIVE' "
    "OR ((CASE WHEN s.worker_id IS NULL THEN w.status ELSE s.status END) = 'ON_LEAVE' "
    "AND (CASE WHEN s.worker_id IS NULL THEN w.return_date ELSE s.return_date END) <= ?) "
    "OR EXISTS (SELECT 1 FROM v_status_change r WHERE r.caf_code = ? AND r.worker_id = w.id AND r.status = 'ACTIVE' "
    "AND r.effective_date > ? AND r.effective_date <= ?))"
)


def expected(caf_code: str, campaign: int) -> tuple[str, list[Any]]:
    """The query of the workers of ``caf_code`` for whom a certificat of ``campaign`` is expected
    (one column, ``worker_id``), and its parameters. The one rule the campaign figures, the list of
    workers without a certificat and any reminder use."""
    first, last = date(campaign, 11, 1), date(campaign, 11, 30)
    return _EXPECTED, [caf_code, first, caf_code, last, last, caf_code, first, last]


def expects_certificat(store: Store, worker_id: int, campaign: int) -> bool:
    """Whether a certificat of ``campaign`` is expected for this worker (e.g. for a reminder)."""
    caf = store.scalar("SELECT caf_code FROM worker WHERE id = ?", [worker_id])
    if caf is None:
        return False
    expected_sql, params = expected(caf, campaign)
    sql = f"SELECT count(*) FROM ({expected_sql}) x WHERE x.worker_id = ?"  # noqa: S608 - a fixed query
    return bool(store.scalar(sql, [*params, worker_id]))


def missing_certificats(store: Store, caf_code: str, campaign: int) -> pd.DataFrame:
    """The workers of the Caf expected for the campaign who have no certificat yet, with their ESAT."""
    expected_sql, params = expected(caf_code, campaign)
    return store.frame(
        f"WITH x AS ({expected_sql}) "  # noqa: S608 - a fixed query; values are parameters
        "SELECT w.id AS worker_id, e.legal_name AS esat, e.siret AS siret, w.last_name AS nom, "
        "w.first_name AS prenom, w.allocataire AS numero_allocataire FROM x "
        "JOIN worker w ON w.id = x.worker_id JOIN esat e ON e.id = w.esat_id "
        "WHERE NOT EXISTS (SELECT 1 FROM v_certificat c WHERE c.worker_id = w.id AND c.campaign = ?) "
        "ORDER BY e.legal_name, w.last_name, w.first_name, w.id",
        [*params, campaign],
    )


@dataclass(frozen=True)
class CampaignTotals:
    campaign: int
    expected: int  # workers paid in November N, for whom a certificat is expected
    received: int  # certificats received for this campaign (expected or not)
    missing: int  # expected workers without a certificat
    late: int  # received after 15 January N+1

    @property
    def share(self) -> float:
        """Share of the expected certificats received."""
        return (self.expected - self.missing) / self.expected if self.expected else 0.0

    @property
    def late_share(self) -> float:
        return self.late / self.received if self.received else 0.0


def _by_esat(caf_code: str, campaign: int) -> tuple[str, list[Any]]:
    expected_sql, params = expected(caf_code, campaign)
    return (
        f"WITH x AS ({expected_sql}) "  # noqa: S608 - a fixed query; values are parameters
        "SELECT e.id AS esat_id, e.legal_name AS esat, count(x.worker_id) AS expected, "
        "count(c.id) AS received, count(c.id) FILTER (WHERE c.late) AS late, "
        "count(x.worker_id) FILTER (WHERE c.id IS NULL) AS missing "
        "FROM worker w JOIN esat e ON e.id = w.esat_id LEFT JOIN x ON x.worker_id = w.id "
        "LEFT JOIN v_certificat c ON c.worker_id = w.id AND c.campaign = ? "
        "WHERE w.caf_code = ? AND (x.worker_id IS NOT NULL OR c.id IS NOT NULL) "
        "GROUP BY e.id, e.legal_name ORDER BY e.legal_name",
        [*params, campaign, caf_code],
    )


def campaign_totals(store: Store, account: Account, campaign: int) -> CampaignTotals:
    frame = store.frame(*_by_esat(caf_of(account), campaign))
    expected, received, missing, late = (
        int(frame[c].sum()) for c in ("expected", "received", "missing", "late")
    )
    return CampaignTotals(campaign, expected, received, missing, late)


def campaign_by_esat(store: Store, account: Account, campaign: int) -> pd.DataFrame:
    """One row per ESAT: expected, received, late, missing, share of the expected received."""
    frame = store.frame(*_by_esat(caf_of(account), campaign))
    done = frame["expected"] - frame["missing"]
    frame["share"] = (done / frame["expected"]).where(frame["expected"] > 0, 0.0)
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
    """Workers of the Caf expected for the campaign with no certificat, to contact their ESAT."""
    return missing_certificats(store, caf_of(account), campaign).drop(columns=["worker_id"])


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
        "count(*) FILTER (WHERE double_activity) AS started, "
        "count(*) FILTER (WHERE NOT double_activity) AS ended "
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
        "effective_date AS date_effet, replaces_receipt AS rectifie, superseded_at AS rectifiee_le, "
        f"processed_at AS traitee_le FROM v_inbox WHERE {clause} ORDER BY received_at DESC LIMIT ? OFFSET ?"
    )
    with store.transaction() as tx:
        total = tx.scalar(f"SELECT count(*) FROM v_inbox WHERE {clause}", params)  # noqa: S608
        frame = tx.frame(select, [*params, max(1, min(limit, 500)), max(0, offset)])
    frame["type"] = frame["form_id"].map(form_titles())
    for column in ("recue_le", "traitee_le"):
        frame[column] = frame[column].map(lambda t: to_paris(t) if t is not None and not pd.isna(t) else None)
    frame["suivi"] = [
        correction_note(None if pd.isna(r) else r, None if pd.isna(t) else to_paris(t))
        for r, t in zip(frame["rectifie"], frame["rectifiee_le"], strict=True)
    ]
    return frame.drop(columns=["rectifie", "rectifiee_le"]), total


def correction_note(replaces_receipt: str | None, superseded_at: datetime | None) -> str:
    """How the corbeille flags a correction (issue 12, point 10): a rectificatif names the
    declaration it replaces; a declaration replaced since says when (Europe/Paris)."""
    notes = []
    if replaces_receipt:
        notes.append(f"Rectificatif du n° {replaces_receipt}")
    if superseded_at is not None:
        notes.append(f"Rectifiée le {superseded_at:%d/%m/%Y}")
    return " — ".join(notes)


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


PERSON_ROLES = {"RESPONSABLE": "Responsable du dossier", "CONJOINT": "Conjoint du responsable du dossier"}
STATUSES = {"ACTIVE": "En activité dans l'ESAT", "LEFT": "Parti de l'ESAT", "ON_LEAVE": "En congé"}
# The AAH resources regime that follows a start or an end of double activity (DOMAIN §3.2).
QUARTERLY = (
    "Les ressources d'activité sont désormais examinées chaque trimestre pour l'AAH "
    "(trimestre de référence, art. R821-4-1 du code de la sécurité sociale)."
)
ANNUAL = (
    "Les revenus d'activité étant de nouveau issus exclusivement d'un travail en ESAT, les ressources "
    "sont examinées sur l'année civile de référence (art. R821-4 du code de la sécurité sociale)."
)


def regime(effects: dict[str, Any]) -> str | None:
    """The AAH resources regime a declaration leads to, read from what it changes (not its form id):
    a start of double activity, or an end that keeps an activity in milieu ordinaire or leaves the
    ESAT, means the quarterly regime (R821-4-1 CSS); an end back to the ESAT only, the annual one
    (R821-4 CSS, ESAT-only earned income). Other declarations: None."""
    flag = effects.get("double_activity")
    if flag is None:
        return None
    outside = (effects.get("rate_mo") or 0) > 0 or effects.get("status") in ("LEFT", "ON_LEAVE")
    return QUARTERLY if flag or outside else ANNUAL


def known_rows(known: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What the Caf knew of the worker before the declaration (its ``known_before``), in French."""
    if not known:
        return []

    def rate(key: str) -> str:
        return fmt.rate(Decimal(known[key])) if known.get(key) is not None else "non connu"

    double = "Non"
    if known.get("double_activity"):
        since = known.get("double_activity_since")
        double = f"Oui, depuis le {fmt.day(date.fromisoformat(since))}" if since else "Oui"
    status = STATUSES.get(known.get("status") or "ACTIVE", known.get("status") or "")
    if known.get("status") == "ON_LEAVE" and known.get("return_date"):
        status += f" (retour prévu le {fmt.day(date.fromisoformat(known['return_date']))})"
    return [
        ("Taux d'activité en ESAT", rate("rate_esat")),
        ("Taux d'activité en milieu ordinaire", rate("rate_mo")),
        ("Double activité", double),
        ("Situation", status),
    ]


@dataclass(frozen=True)
class Detail:
    """A declaration as the partner saw it, what the agent needs to process it, and its processing."""

    declaration_id: int
    receipt_number: str
    form_id: str
    esat: str
    worker: str
    allocataire: str
    received_at: datetime
    processed_at: datetime | None
    processed_by: str | None
    person_role: str = ""  # "Responsable du dossier" or "Conjoint du responsable du dossier"
    effective_date: date | None = None
    derived: list[tuple[str, str]] = field(default_factory=list)  # (label, value) frozen at filing
    known_before: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    warnings: list[str] = field(default_factory=list)  # seen by the ESAT before filing
    regime: str | None = None  # AAH resources regime after a start or end of double activity
    correction: str = ""  # "Rectificatif du n° …", "Rectifiée le …"


def detail(store: Store, account: Account, declaration_id: int) -> Detail:
    row = store.one(
        "SELECT d.id, d.receipt_number, d.form_id, e.legal_name AS esat_name, w.last_name, w.first_name, "
        "w.allocataire, w.person_role, d.received_at, d.processed_at, a.display_name AS agent, d.effective_date, "
        "d.derived, d.known_before, d.warnings, d.effects, d.replaces_id, d.superseded_at "
        "FROM declaration d JOIN esat e ON e.id = d.esat_id JOIN worker w ON w.id = d.worker_id "
        "LEFT JOIN account a ON a.id = d.processed_by "
        "WHERE d.id = ? AND d.caf_code = ?",
        [declaration_id, caf_of(account)],
    )
    if row is None:
        raise NotAllowed("déclaration inconnue")
    effects = timeline.decode(row["effects"]) if row["effects"] else {}
    replaced = row["replaces_id"] and store.scalar(
        "SELECT receipt_number FROM declaration WHERE id = ?", [row["replaces_id"]]
    )
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
        person_role=PERSON_ROLES.get(row["person_role"], row["person_role"] or ""),
        effective_date=row["effective_date"],
        derived=[(d["label"], d["value"]) for d in json.loads(row["derived"] or "[]")],
        known_before=known_rows(json.loads(row["known_before"]) if row["known_before"] else None),
        warnings=[w["message"] for w in json.loads(row["warnings"] or "[]")],
        regime=regime(effects),
        correction=correction_note(
            replaced or None, to_paris(row["superseded_at"]) if row["superseded_at"] else None
        ),
    )
