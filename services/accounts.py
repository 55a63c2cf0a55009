"""Accounts: login, partner contracts (access prerequisites), CGU acceptance."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from data.store import Store, Tx
from services import audit, passwords
from services.clock import now_utc
from services.config import Settings

log = logging.getLogger("espace_esat.auth")  # ids only: never a login, password or address

LOGIN_FAILED = "Identifiant ou mot de passe incorrect."
FREE_FAILURES = 5  # failures within an hour before each attempt must wait
MAX_DELAY_SECONDS = 60  # the wait grows 1, 2, 4… s up to this: at most ~70 failures an hour
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
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


def authenticate(
    store: Store,
    settings: Settings,
    login: str,
    password: str,
    source: str | None = None,
    now: datetime | None = None,
) -> Account | None:
    """The account for these credentials, or None: one outcome for every kind of failure.

    Unknown identifiant, wrong password, inactive or demo account outside demo mode, and an attempt
    during the growing delay (AUTH-02) all cost one argon2 verification and say nothing more.
    ``source`` is the client address; ``now`` is for tests (naive UTC).
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    login = login.strip().lower()[:254]
    keys = [_throttle_key(settings, "compte", login), _throttle_key(settings, "source", source or "inconnue")]
    row = store.one("SELECT * FROM account WHERE login = ?", [login])
    wait = max(_wait(store, key, now) for key in keys)
    checked_hash = row["password_hash"] if row and not wait else _DUMMY_HASH
    ok = passwords.verify_password(checked_hash, password[:1024])
    usable = row is not None and row["active"] and (settings.demo or not row["demo"])
    account_id = row["id"] if row else None
    if wait:
        audit.log(store, account_id, "login_delayed")
        log.warning("auth login_delayed account=%s wait=%ss", account_id or "inconnu", wait)
        return None
    if not (ok and usable):

        def fail(tx: Tx) -> None:
            tx.executemany("INSERT INTO login_failure VALUES (?, ?)", [[key, now] for key in keys])
            audit.record(tx, account_id, "login_failed")

        store.write(fail)
        log.warning("auth login_failed account=%s", account_id or "inconnu")
        return None
    assert row is not None

    def succeed(tx: Tx) -> None:
        if passwords.needs_rehash(row["password_hash"]):
            tx.execute(
                "UPDATE account SET password_hash = ? WHERE id = ?",
                [passwords.hash_password(password), row["id"]],
            )
        tx.execute("DELETE FROM login_failure WHERE key = ?", [keys[0]])
        audit.record(tx, row["id"], "login")

    store.write(succeed)
    log.info("auth login account=%s", row["id"])
    return _account(row)


def delay_after(failures: int) -> timedelta:
    """How long to wait after ``failures`` failures within the hour (none for the first 5)."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS))


def _wait(store: Store, key: str, now: datetime) -> int:
    """Whole seconds still to wait for this key (0: an attempt is allowed)."""
    row = store.one(
        "SELECT count(*) AS n, max(failed_at) AS last FROM login_failure WHERE key = ? AND failed_at > ?",
        [key, now - timedelta(hours=1)],
    )
    if not row or not row["n"]:
        return 0
    remaining = row["last"] + delay_after(row["n"]) - now
    return max(0, math.ceil(remaining.total_seconds()))


def _throttle_key(settings: Settings, kind: str, value: str) -> str:
    digest = hmac.new(settings.secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:32]}"


def logout(store: Store, account: Account, reason: str = "logout") -> None:
    """Record the end of a session (``logout`` or ``session_expired``); the UI forgets the state."""
    audit.log(store, account.id, reason)
    log.info("auth %s account=%s", reason, account.id)


def session_expired(login_at: datetime, seen_at: datetime, now: datetime) -> bool:
    """SESS-01: 30 minutes without activity, or 12 hours since login."""
    return now - seen_at >= IDLE_TIMEOUT or now - login_at >= ABSOLUTE_TIMEOUT


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

    def accept(tx: Tx) -> None:
        for t in texts:
            if tx.scalar(
                "SELECT count(*) FROM cgu_acceptance WHERE account_id = ? AND scope = ? AND version = ?",
                [account.id, t.scope, t.version],
            ):
                continue
            tx.execute("INSERT INTO cgu_acceptance VALUES (?, ?, ?, ?)", [account.id, t.scope, t.version, at])
            audit.record(tx, account.id, "cgu_accepted", f"{t.scope}:v{t.version}")

    store.write(accept)
