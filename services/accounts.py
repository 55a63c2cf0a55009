"""Accounts: login, partner contracts (access prerequisites), CGU acceptance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from data.store import Store
from services import audit, passwords
from services.clock import now_utc
from services.config import Settings

LOGIN_FAILED = "Identifiant ou mot de passe incorrect."
CONTRACT_LABELS = {
    "convention": "la convention d'accès à Mon Compte Partenaire",
    "contrat_services": "le contrat de services",
    "bulletin_esat": "le bulletin d'adhésion au service ESAT",
}
# Verified when the login is unknown, so that both failures cost the same time.
_DUMMY_HASH = passwords.hash_password("compte-inexistant-pour-egaliser-le-temps")


@dataclass(frozen=True)
class Account:
    id: int
    login: str
    email: str
    role: str
    esat_id: int | None
    caf_code: str | None
    display_name: str


@dataclass(frozen=True)
class CguText:
    scope: str  # "mcp" or "esat"
    version: int
    title: str
    body: str


class CguUnavailable(RuntimeError):
    """The CGU texts cannot be read: the UI shows an information message."""


def authenticate(store: Store, login: str, password: str) -> Account | None:
    """The account for these credentials, or None (one outcome for every kind of failure)."""
    row = store.one("SELECT * FROM account WHERE login = ?", [login.strip().lower()[:254]])
    ok = passwords.verify_password(row["password_hash"] if row else _DUMMY_HASH, password[:1024])
    if not row or not ok or not row["active"]:
        with store.transaction() as tx:
            audit.record(tx, row["id"] if row else None, "login_failed")
        return None
    with store.transaction() as tx:
        if passwords.needs_rehash(row["password_hash"]):
            tx.execute(
                "UPDATE account SET password_hash = ? WHERE id = ?",
                [passwords.hash_password(password), row["id"]],
            )
        audit.record(tx, row["id"], "login")
    return _account(row)


def get(store: Store, account_id: int) -> Account | None:
    row = store.one("SELECT * FROM account WHERE id = ? AND active", [account_id])
    return _account(row) if row else None


def _account(row: dict) -> Account:
    return Account(
        id=row["id"],
        login=row["login"],
        email=row["email"],
        role=row["role"],
        esat_id=row["esat_id"],
        caf_code=row["caf_code"],
        display_name=row["display_name"],
    )


def missing_contracts(store: Store, account: Account, on: date) -> list[str]:
    """French names of the partner documents not valid on ``on`` (ESAT accounts only)."""
    if account.role != "esat":
        return []
    rows = store.all(
        "SELECT DISTINCT kind FROM partner_contract WHERE esat_id = ? "
        "AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?)",
        [account.esat_id, on, on],
    )
    valid = {r["kind"] for r in rows}
    return [label for kind, label in CONTRACT_LABELS.items() if kind not in valid]


def current_cgu(store: Store) -> list[CguText]:
    """The latest published version of each CGU (MCP first, then Espace ESAT)."""
    try:
        rows = store.all(
            "SELECT scope, version, title, body FROM cgu_version c WHERE version = "
            "(SELECT max(version) FROM cgu_version WHERE scope = c.scope) ORDER BY scope = 'esat', scope"
        )
    except Exception as exc:  # the store itself failed: say so without detail
        raise CguUnavailable from exc
    texts = [CguText(**r) for r in rows]
    if {t.scope for t in texts} != {"mcp", "esat"} or any(not t.body.strip() for t in texts):
        raise CguUnavailable
    return texts


def pending_cgu(store: Store, account: Account) -> list[CguText]:
    """The current CGU versions this account has not accepted yet."""
    accepted = {
        (r["scope"], r["version"])
        for r in store.all("SELECT scope, version FROM cgu_acceptance WHERE account_id = ?", [account.id])
    }
    return [t for t in current_cgu(store) if (t.scope, t.version) not in accepted]


def accept_cgu(store: Store, settings: Settings, account: Account, texts: list[CguText]) -> None:
    at = now_utc(settings)
    with store.transaction() as tx:
        for t in texts:
            if tx.scalar(
                "SELECT count(*) FROM cgu_acceptance WHERE account_id = ? AND scope = ? AND version = ?",
                [account.id, t.scope, t.version],
            ):
                continue
            tx.execute("INSERT INTO cgu_acceptance VALUES (?, ?, ?, ?)", [account.id, t.scope, t.version, at])
            audit.record(tx, account.id, "cgu_accepted", f"{t.scope}:v{t.version}")
