"""What an ESAT manager sees of their ESAT: home page, workers, worker card, history.

Every function takes the logged-in account and only ever reads that account's ESAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from data.store import Store
from services import retention
from services.accounts import Account
from services.clock import to_paris


class NotAllowed(LookupError):
    """The object does not exist for this account (same answer whether it exists elsewhere or not)."""


@dataclass(frozen=True)
class CafChoice:
    code: str
    name: str
    workers: int


@dataclass(frozen=True)
class EsatHome:
    esat_id: int
    name: str  # name of the first registered fonction
    address: str
    legal_name: str
    siret: str
    default_caf: str  # Caf de rattachement
    cafs: list[CafChoice]  # Cafs with at least one worker, plus the Caf de rattachement


@dataclass(frozen=True)
class Worker:
    id: int
    caf_code: str
    allocataire: str
    person_role: str
    last_name: str
    first_name: str
    birth_date: date
    rate_esat: Decimal | None
    rate_mo: Decimal | None
    double_activity: bool
    status: str
    double_activity_since: date | None = None
    return_date: date | None = None

    @property
    def full_name(self) -> str:
        return f"{self.last_name} {self.first_name}"


@dataclass(frozen=True)
class HistoryItem:
    declaration_id: int
    receipt_number: str
    form_id: str
    received_at: datetime  # Europe/Paris
    replaces_id: int | None = None  # a rectificatif: the declaration it corrects
    superseded_at: datetime | None = None  # Europe/Paris: "rectifiée le …"


def _esat_id(account: Account) -> int:
    if account.role != "esat" or account.esat_id is None:
        raise NotAllowed("compte sans ESAT")
    return account.esat_id


def scope(account: Account) -> tuple[str, str | int]:
    """The SQL condition (on a table with esat_id and caf_code) limiting what an account reads."""
    if account.role == "esat" and account.esat_id is not None:
        return "esat_id = ?", account.esat_id
    if account.role == "agent" and account.caf_code:
        return "caf_code = ?", account.caf_code
    raise NotAllowed("compte sans périmètre")


def admin_caf(store: Store, account: Account) -> str:
    """The Caf of a Caf administrator, checked against the store (a session may outlive a
    deactivation); any other role is refused (every administration function starts with it)."""
    caf = account.caf_code
    if account.role != "admin" or not caf:
        raise NotAllowed("réservé aux administrateurs de la Caf")
    row = store.one("SELECT role, caf_code, active FROM account WHERE id = ?", [account.id])
    if row is None or not row["active"] or row["role"] != "admin" or row["caf_code"] != caf:
        raise NotAllowed("réservé aux administrateurs de la Caf")
    return caf


@dataclass(frozen=True)
class EsatIdentity:
    legal_name: str
    siret: str
    caf_code: str  # Caf de rattachement
    name: str  # name of the first registered fonction
    address: str


def esat_identity(store: Store, esat_id: int) -> EsatIdentity:
    """Name and address of an ESAT's first registered fonction (callers check the scope)."""
    esat = store.one("SELECT * FROM esat WHERE id = ?", [esat_id])
    if esat is None:
        raise NotAllowed("ESAT inconnu")
    site = store.one("SELECT * FROM esat_site WHERE esat_id = ? ORDER BY rank LIMIT 1", [esat_id])
    return EsatIdentity(
        legal_name=esat["legal_name"],
        siret=esat["siret"],
        caf_code=esat["caf_code"],
        name=site["name"] if site else esat["legal_name"],
        address=f"{site['street']}, {site['postcode']} {site['city']}" if site else "",
    )


def home(store: Store, account: Account) -> EsatHome:
    esat_id = _esat_id(account)
    esat = esat_identity(store, esat_id)
    rows = store.all(
        "SELECT c.code, c.name, count(w.id) AS workers FROM caf c "
        "LEFT JOIN worker w ON w.caf_code = c.code AND w.esat_id = ? "
        "GROUP BY c.code, c.name HAVING count(w.id) > 0 OR c.code = ? "
        "ORDER BY c.code = ? DESC, c.code",
        [esat_id, esat.caf_code, esat.caf_code],
    )
    return EsatHome(
        esat_id=esat_id,
        name=esat.name,
        address=esat.address,
        legal_name=esat.legal_name,
        siret=esat.siret,
        default_caf=esat.caf_code,
        cafs=[CafChoice(r["code"], r["name"], r["workers"]) for r in rows],
    )


def _worker(row: dict) -> Worker:
    return Worker(**{k: row[k] for k in Worker.__dataclass_fields__})


_WORKER_COLS = (
    "id, caf_code, allocataire, person_role, last_name, first_name, birth_date, "
    "rate_esat, rate_mo, double_activity, status, double_activity_since, return_date"
)


def list_workers(
    store: Store, account: Account, caf_code: str, query: str = "", offset: int = 0, limit: int = 24
) -> tuple[list[Worker], int]:
    """One page of the ESAT's workers for a Caf, filtered on "NOM Prénom" or the allocataire number."""
    esat_id = _esat_id(account)
    where = "esat_id = ? AND caf_code = ?"
    params: list = [esat_id, caf_code]
    words = query.strip()[:100]
    if words:
        where += " AND (allocataire LIKE ? OR (last_name || ' ' || first_name) ILIKE ? OR (first_name || ' ' || last_name) ILIKE ?)"
        like = "%" + words.replace("\\", "").replace("%", "").replace("_", "") + "%"
        params += [like, like, like]
    with store.transaction() as tx:
        total = tx.scalar(f"SELECT count(*) FROM worker WHERE {where}", params)  # noqa: S608
        rows = tx.all(
            f"SELECT {_WORKER_COLS} FROM worker WHERE {where} "  # noqa: S608
            "ORDER BY last_name, first_name, allocataire, person_role LIMIT ? OFFSET ?",
            [*params, max(1, min(limit, 100)), max(0, offset)],
        )
    return [_worker(r) for r in rows], total


def workers_in_scope(store: Store, account: Account) -> dict[int, Worker]:
    """Every worker of the account's ESAT (or, for a Caf agent, of the agent's Caf), by id."""
    condition, value = scope(account)
    rows = store.all(f"SELECT {_WORKER_COLS} FROM worker WHERE {condition}", [value])  # noqa: S608
    return {r["id"]: _worker(r) for r in rows}


def get_worker(store: Store, account: Account, worker_id: int) -> Worker:
    """A worker of the account's ESAT (or, for a Caf agent, of the agent's Caf)."""
    condition, value = scope(account)
    row = store.one(
        f"SELECT {_WORKER_COLS} FROM worker WHERE id = ? AND {condition}",  # noqa: S608
        [worker_id, value],
    )
    if row is None:
        raise NotAllowed("travailleur inconnu")
    return _worker(row)


def history(store: Store, account: Account, worker_id: int, today: date) -> list[HistoryItem]:
    """Declarations of this worker received over the last 2 rolling years, newest first."""
    get_worker(store, account, worker_id)
    since = retention.kept_since(today)  # what the retention job keeps, from Paris midnight
    rows = store.all(
        "SELECT id, receipt_number, form_id, received_at, replaces_id, superseded_at FROM declaration "
        "WHERE worker_id = ? AND esat_id = ? AND received_at >= ? ORDER BY received_at DESC",
        [worker_id, account.esat_id, since],
    )
    return [
        HistoryItem(
            r["id"],
            r["receipt_number"],
            r["form_id"],
            to_paris(r["received_at"]),
            r["replaces_id"],
            to_paris(r["superseded_at"]) if r["superseded_at"] else None,
        )
        for r in rows
    ]
