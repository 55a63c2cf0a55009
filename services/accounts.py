"""Accounts: login, password change and "mot de passe oublié", sessions, partner contracts
(access prerequisites), CGU acceptance."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import smtplib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from data.store import Store, Tx
from services import audit, mail, password_policy, passwords
from services.clock import now_utc
from services.config import Settings

log = logging.getLogger("espace_esat.auth")  # ids only: never a login, password or address

LOGIN_FAILED = "Identifiant ou mot de passe incorrect."
FREE_FAILURES = 5  # failures within an hour before each attempt must wait
MAX_DELAY_SECONDS = 60  # the wait grows 1, 2, 4… s up to this: at most ~70 failures an hour
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
PROVISIONAL_LIFETIME = timedelta(
    hours=72
)  # AUTH-08: a provisional password not changed by then stops working
CONTRACT_LABELS = {
    "convention": "la convention d'accès à Mon Compte Partenaire",
    "contrat_services": "le contrat de services",
    "bulletin_esat": "le bulletin d'adhésion au service ESAT",
}
INACTIVE_ESAT = "un établissement actif (votre établissement a été désactivé par la Caf)"
RESET_VALIDITY = timedelta(minutes=30)
RESETS_PER_HOUR = 3  # reset links per account and hour; further requests silently do nothing
RESET_INVALID = "Ce lien de réinitialisation n'est pas valable ou a expiré. Demandez-en un nouveau."
WRONG_CURRENT = "Le mot de passe actuel est incorrect."
CHANGE_DELAYED = "Trop d'essais infructueux : réessayez dans {wait} secondes."
CONFIRM_MISMATCH = "Les deux saisies du nouveau mot de passe ne sont pas identiques. Saisissez-le deux fois."
SAME_AS_CURRENT = (
    "Le nouveau mot de passe doit être différent du mot de passe actuel. Choisissez-en un autre."
)
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
    must_change_password: bool = False  # provisional password: the change comes before anything else


@dataclass(frozen=True)
class CguText:
    scope: str  # "mcp" or "esat"
    version: int
    title: str
    body: str


class CguUnavailable(RuntimeError):
    """The CGU texts cannot be read: the UI shows an information message."""


class PasswordRefused(ValueError):
    """A password change or reset refused: ``fields`` maps the form field ("current", "new",
    "confirm") to its French message; ``messages`` lists them. Nothing was written."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = dict(fields)
        self.messages = list(self.fields.values())
        super().__init__(" ".join(self.messages))


class ResetInvalid(ValueError):
    """The reset link is unknown, already used or expired (one answer for the three)."""

    def __init__(self) -> None:
        super().__init__(RESET_INVALID)


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
    usable = (
        row is not None
        and row["active"]
        and (settings.demo or not row["demo"])
        and not _provisional_expired(row, now_utc(settings))  # the clock that dated the password
    )
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
        tx.execute("UPDATE account SET last_login_at = ? WHERE id = ?", [now, row["id"]])
        audit.record(tx, row["id"], "login")

    store.write(succeed)
    log.info("auth login account=%s", row["id"])
    return _account(row)


def _provisional_expired(row: dict, now: datetime) -> bool:
    """AUTH-08: a provisional password works for 72 hours after it was set (the administrator can
    send a new one from « Comptes »)."""
    changed = row.get("password_changed_at")
    return (
        bool(row.get("must_change_password")) and changed is not None and now - changed > PROVISIONAL_LIFETIME
    )


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


def session_valid(store: Store, account_id: int, login_at: datetime | None) -> bool:
    """SESS-03: the account is still active and its password has not changed since ``login_at``
    (naive UTC, the session's login time). After a password change, a reset or a deactivation,
    every session that logged in before it is ended by the router (app.py) at its next check."""
    row = store.one("SELECT active, password_changed_at FROM account WHERE id = ?", [account_id])
    if row is None or not row["active"]:
        return False
    changed = row["password_changed_at"]
    return changed is None or (login_at is not None and changed <= login_at)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _text(value: object) -> str:
    """A form value as text (a missing or non-text value is the empty text)."""
    return value if isinstance(value, str) else ""


def change_password(
    store: Store, settings: Settings, account: Account, current: str, new: str, confirm: str
) -> datetime:
    """Replace the password of ``account`` (its provisional one, or its own) and return
    ``password_changed_at`` (naive UTC): the caller's session takes it as its login time, so that
    it stays open while every other session of the account ends (``session_valid``).

    Raises ``PasswordRefused`` (nothing written to the account or the audit trail) when the
    current password is wrong, the new one breaks the policy or equals the current one, or the
    confirmation differs. A wrong current password counts as a login failure of the account for
    the throttle (AUTH-02): a session left open cannot be used to guess the password faster than
    the login page allows, and during the delay the current password is not even checked.
    """
    current, new, confirm = _text(current), _text(new), _text(confirm)
    row = store.one("SELECT id, login, password_hash, active FROM account WHERE id = ?", [account.id])
    if row is None or not row["active"]:
        raise PasswordRefused({"current": WRONG_CURRENT})
    key = _throttle_key(settings, "compte", row["login"])
    real_now = _utc_now()
    wait = _wait(store, key, real_now)
    if wait:
        log.warning("auth password_change_delayed account=%s wait=%ss", row["id"], wait)
        raise PasswordRefused({"current": CHANGE_DELAYED.format(wait=wait)})
    fields: dict[str, str] = {}
    current_ok = passwords.verify_password(row["password_hash"], current[: password_policy.MAX_LENGTH])
    if not current_ok:
        fields["current"] = WRONG_CURRENT
    problems = password_policy.problems(new, row["login"])
    if problems:
        fields["new"] = " ".join(problems)
    elif current_ok and new == current:
        fields["new"] = SAME_AS_CURRENT
    if new != confirm:
        fields["confirm"] = CONFIRM_MISMATCH
    if not current_ok:
        store.write(lambda tx: tx.execute("INSERT INTO login_failure VALUES (?, ?)", [key, real_now]))
        log.warning("auth password_change_failed account=%s", row["id"])
    if fields:
        raise PasswordRefused(fields)

    new_hash = passwords.hash_password(new)  # ~30 ms: outside the transaction
    changed_at = now_utc(settings)

    def change(tx: Tx) -> None:
        # The hash that was checked: a change made meanwhile by another session wins, this one is refused.
        done = tx.one(
            "UPDATE account SET password_hash = ?, must_change_password = FALSE, password_changed_at = ? "
            "WHERE id = ? AND password_hash = ? AND active RETURNING id",
            [new_hash, changed_at, row["id"], row["password_hash"]],
        )
        if done is None:
            raise PasswordRefused({"current": WRONG_CURRENT})
        tx.execute("DELETE FROM password_reset WHERE account_id = ? AND used_at IS NULL", [row["id"]])
        tx.execute("DELETE FROM login_failure WHERE key = ?", [key])
        audit.record(tx, row["id"], "password_changed", f"compte:{row['id']}")

    store.write(change)
    log.info("auth password_changed account=%s", row["id"])
    return changed_at


# -- Mot de passe oublié ----------------------------------------------------------------------

# Reset links are e-mailed by this one background thread, so that asking for a link costs the
# same time whether the address is an account or not (AUTH-03): the caller never waits for SMTP.
_MAILER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espace-esat-courriel")
RESET_SUBJECT = "Espace ESAT — réinitialisation de votre mot de passe"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def reset_link(settings: Settings, token: str) -> str:
    return f"{mail.one_line(settings.base_url, 500)}/reinitialisation?jeton={token}"


def reset_mail_body(link: str) -> str:
    return (
        "Bonjour,\n"
        "\n"
        "Vous avez demandé à réinitialiser le mot de passe de votre compte Espace ESAT. "
        "Pour choisir un nouveau mot de passe, ouvrez ce lien :\n"
        "\n"
        f"{link}\n"
        "\n"
        "Ce lien est valable 30 minutes et ne peut servir qu'une seule fois.\n"
        "\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe "
        "actuel reste valable et personne ne peut l'utiliser sans ce lien.\n"
        "\n"
        "Ce message est envoyé automatiquement ; merci de ne pas y répondre.\n"
        "\n"
        "L’Espace ESAT\n"
    )


_NOBODY = "personne@example.invalid"  # RFC 2606: never delivered


def _send_reset(settings: Settings, account_id: int | None, recipient: str | None, token: str | None) -> None:
    """The background job of ``request_reset``. For an unknown address the same message is built
    and written out, then dropped: the work that follows a request (which slows the next one a
    little) is the same whether the address is an account or not."""
    try:
        msg = mail.build_account_mail(
            settings=settings,
            recipient=recipient or _NOBODY,
            subject=RESET_SUBJECT,
            body=reset_mail_body(reset_link(settings, token or secrets.token_urlsafe(32))),
        )
        if account_id is None or recipient is None or token is None:
            msg.as_bytes()
            return
        mail.deliver(settings, msg)
    except (OSError, smtplib.SMTPException, ValueError) as exc:  # the message may hold the address
        log.warning("auth password_reset_mail_failed account=%s error=%s", account_id, type(exc).__name__)
        return
    log.info("auth password_reset_mail_sent account=%s", account_id)


def wait_for_mail(timeout: float = 30.0) -> None:
    """Wait until the reset e-mails asked so far are handed over (tests, command-line tools)."""
    _MAILER.submit(lambda: None).result(timeout)


def request_reset(store: Store, settings: Settings, email: str, now: datetime | None = None) -> None:
    """ "Mot de passe oublié ?": e-mail a single-use link valid 30 minutes to an active account.

    The caller learns nothing (AUTH-03): the same answer and the same work for an unknown or
    inactive address, and when the account already has 3 links of the last hour (the extra
    request silently does nothing). One write transaction on every path (a token row, or a
    statement of the same cost, and an audit row), and the e-mail goes on a background thread.
    Only the SHA-256 of the token is stored. ``now`` is for tests (naive UTC).
    """
    now = now or _utc_now()
    address = _text(email).strip().lower()[:254]
    token = secrets.token_urlsafe(32)
    digest = _token_hash(token)
    row = store.one("SELECT id, email, active, demo FROM account WHERE login = ?", [address])
    usable = row is not None and row["active"] and (settings.demo or not row["demo"])
    account_id = row["id"] if usable and row else None

    def work(tx: Tx) -> str:
        recent = tx.scalar(
            "SELECT count(*) FROM password_reset WHERE account_id = ? AND created_at > ?",
            [account_id or 0, now - timedelta(hours=1)],
        )
        if account_id is not None and recent < RESETS_PER_HOUR:
            tx.execute(
                "INSERT INTO password_reset (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                [digest, account_id, now, now + RESET_VALIDITY],
            )
            audit.record(tx, account_id, "password_reset_requested", f"compte:{account_id}")
            return "password_reset_requested"
        # The same kind of statement as the insert, so that no path is measurably shorter.
        tx.execute("DELETE FROM password_reset WHERE token_hash = ?", [digest])
        action = "password_reset_requested" if account_id is None else "password_reset_throttled"
        audit.record(tx, account_id, action)
        return action

    action = store.write(work)
    issued = account_id is not None and action == "password_reset_requested"
    log.info("auth %s account=%s", action, account_id or "inconnu")
    _MAILER.submit(
        _send_reset,
        settings,
        account_id if issued else None,
        row["email"] if issued and row else None,
        token if issued else None,
    )


_LINK_ACCOUNT_SQL = (
    "SELECT a.id, a.login FROM password_reset r JOIN account a ON a.id = r.account_id "
    "WHERE r.token_hash = ? AND r.used_at IS NULL AND r.expires_at > ? AND a.active"
)


def _token_account(store: Store, token: object, now: datetime) -> dict | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        return None
    return store.one(_LINK_ACCOUNT_SQL, [_token_hash(token), now])


def reset_token_valid(store: Store, token: str, now: datetime | None = None) -> bool:
    """Whether this reset link can still be used (the page asks before showing its form)."""
    return _token_account(store, token, now or _utc_now()) is not None


def reset_password(
    store: Store, settings: Settings, token: str, new: str, confirm: str, now: datetime | None = None
) -> None:
    """Set a new password through a reset link. Raises ``ResetInvalid`` for an unknown, used or
    expired link, ``PasswordRefused`` (the link stays usable) for a password the policy refuses
    or a confirmation that differs. On success the link is used up, the account's other links are
    deleted, and every session of the account ends (``password_changed_at``)."""
    now = now or _utc_now()
    new, confirm = _text(new), _text(confirm)
    row = _token_account(store, token, now)
    if row is None:
        log.warning("auth password_reset_invalid account=inconnu")
        raise ResetInvalid
    fields: dict[str, str] = {}
    problems = password_policy.problems(new, row["login"])
    if problems:
        fields["new"] = " ".join(problems)
    if new != confirm:
        fields["confirm"] = CONFIRM_MISMATCH
    if fields:
        raise PasswordRefused(fields)
    new_hash = passwords.hash_password(new)
    changed_at = now_utc(settings)
    digest = _token_hash(token)
    account_id = row["id"]

    def reset(tx: Tx) -> None:
        claimed = tx.one(
            "UPDATE password_reset SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? "
            "RETURNING account_id",
            [now, digest, now],
        )
        if claimed is None:  # used meanwhile (a second tab): one use only
            raise ResetInvalid
        tx.execute(
            "UPDATE account SET password_hash = ?, must_change_password = FALSE, password_changed_at = ? "
            "WHERE id = ?",
            [new_hash, changed_at, account_id],
        )
        tx.execute(
            "DELETE FROM password_reset WHERE account_id = ? AND token_hash <> ?", [account_id, digest]
        )
        tx.execute(
            "DELETE FROM login_failure WHERE key = ?", [_throttle_key(settings, "compte", row["login"])]
        )
        audit.record(tx, account_id, "password_reset", f"compte:{account_id}")

    try:
        store.write(reset)
    except ResetInvalid:
        log.warning("auth password_reset_invalid account=%s", account_id)
        raise
    log.info("auth password_reset account=%s", account_id)


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
        must_change_password=bool(row.get("must_change_password")),
    )


def missing_contracts(store: Store, account: Account, on: date) -> list[str]:
    """French names of the partner documents not valid on ``on`` (ESAT accounts only)."""
    if account.role != "esat":
        return []
    missing = []
    if store.scalar("SELECT active FROM esat WHERE id = ?", [account.esat_id]) is False:
        missing.append(INACTIVE_ESAT)
    rows = store.all(
        "SELECT DISTINCT kind FROM partner_contract WHERE esat_id = ? "
        "AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?)",
        [account.esat_id, on, on],
    )
    valid = {r["kind"] for r in rows}
    return missing + [label for kind, label in CONTRACT_LABELS.items() if kind not in valid]


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
