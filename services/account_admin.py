"""Account administration by a Caf administrator (and the first administrator, from the command line).

Every function takes the administrator's account and works inside its Caf only: the accounts whose
``caf_code`` is the administrator's Caf, or whose ESAT is attached to it (``esat.caf_code``); any
other account is ``partner.NotAllowed``, whether it exists or not.

A new account gets a provisional password: generated here, stored as an argon2id hash, e-mailed to
the account's address after the commit, never logged, never returned. The account must choose its
own password at its first login (``must_change_password``). When the e-mail cannot be handed over
the account still exists: ``MailNotSent`` says so, and ``resend_provisional`` sets a new provisional
password and sends it again.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime

from data.store import Store, Tx
from services import audit, mail, partner, password_policy, passwords
from services.accounts import Account
from services.clock import now_utc
from services.config import Settings

log = logging.getLogger("espace_esat.auth")  # ids only: never a login, password or address

ROLE_LABELS = {
    "esat": "Responsable d'ESAT",
    "agent": "Agent de la Caf",
    "admin": "Administrateur de la Caf",
    "relecteur": "Relecteur des formulaires",
}
NAME_MAX = 100
# Provisional passwords: 4 groups of 4 characters, without the look-alikes 0 O 1 l I (≈ 79 bits).
PROVISIONAL_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PROVISIONAL_GROUPS = 4

BAD_EMAIL = "Saisissez une seule adresse e-mail valide, par exemple prenom.nom@etablissement.example.org."
EMAIL_TAKEN = "Un compte existe déjà avec cette adresse e-mail. Choisissez une autre adresse."
BAD_ROLE = "Choisissez le rôle du compte dans la liste."
ESAT_REQUIRED = "Choisissez l'établissement de ce compte."
BAD_ESAT = "Choisissez un établissement actif rattaché à votre Caf."
BAD_NAME = (
    f"Saisissez le nom du titulaire du compte : de 1 à {NAME_MAX} caractères, sans retour à la ligne "
    "ni caractère de contrôle."
)
UNKNOWN_CAF = "Cette Caf n'est pas enregistrée : vérifiez son code à 3 caractères."
SELF_DEACTIVATION = (
    "Vous ne pouvez pas désactiver votre propre compte : demandez-le à un autre administrateur."
)
NO_PROVISIONAL = (
    "Ce compte a déjà choisi son mot de passe ou il est désactivé : il n'y a pas de mot de passe "
    "provisoire à renvoyer. Son titulaire peut utiliser « Mot de passe oublié ? »."
)
PROVISIONAL_SUBJECT = "Espace ESAT — votre compte et son mot de passe provisoire"


@dataclass(frozen=True)
class AccountRow:
    id: int
    login: str
    role: str
    display_name: str
    esat_id: int | None
    esat_name: str | None
    active: bool
    must_change_password: bool
    last_login_at: datetime | None
    created_at: datetime


class Refused(ValueError):
    """Nothing was written: ``errors`` maps the field ("email", "role", "esat_id", "display_name",
    "caf_code", "active", "account") to its French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


class MailNotSent(RuntimeError):
    """The account was written, but the e-mail with its provisional password could not be handed
    over (SMTP server down, outbox folder not writable): the message says what to do."""

    def __init__(self, account_id: int, created: bool) -> None:
        self.account_id = account_id
        done = "Le compte a été créé, mais le" if created else "Le"
        super().__init__(
            f"{done} courriel contenant le mot de passe provisoire n'a pas pu être envoyé. "
            "Renvoyez le mot de passe provisoire depuis la liste des comptes."
        )


def provisional_password(identifiant: str = "") -> str:
    """A random, readable password that passes the policy, e.g. ``k7mq-x3vd-p9tw-h4nc``."""
    while True:
        groups = (
            "".join(secrets.choice(PROVISIONAL_ALPHABET) for _ in range(4)) for _ in range(PROVISIONAL_GROUPS)
        )
        candidate = "-".join(groups)
        if not password_policy.problems(candidate, identifiant):
            return candidate


def identifiant(email: object) -> str | None:
    """The identifiant for an address typed by the administrator: one plain address
    (``mail._recipient``'s rule, with a dot in the domain), lower-cased; None when it is not one."""
    text = email.strip() if isinstance(email, str) else ""
    try:
        address = mail._recipient(text)
    except ValueError:
        return None
    local, _, domain = address.rpartition("@")
    if address != text or not local or "." not in domain or len(address) > 254:
        return None
    return address.lower()


def _display_name(value: object) -> str | None:
    name = value.strip() if isinstance(value, str) else ""
    return name if 1 <= len(name) <= NAME_MAX and name.isprintable() else None


def _esat_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    return None


_SCOPED = (
    "SELECT a.*, e.legal_name AS esat_name FROM account a LEFT JOIN esat e ON e.id = a.esat_id "
    "WHERE (a.caf_code = ? OR e.caf_code = ?)"
)


def _scoped_account(store: Store, caf: str, account_id: object) -> dict:
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise partner.NotAllowed("compte inconnu")
    row = store.one(f"{_SCOPED} AND a.id = ?", [caf, caf, account_id])
    if row is None:
        raise partner.NotAllowed("compte inconnu")
    return row


def list_accounts(store: Store, admin: Account) -> list[AccountRow]:
    """The accounts of the administrator's Caf (its own agents, administrators and reviewers, and
    the accounts of the ESATs attached to it), by role then name."""
    caf = partner.admin_caf(store, admin)
    rows = store.all(f"{_SCOPED} ORDER BY a.role, lower(a.display_name), a.id", [caf, caf])
    return [
        AccountRow(
            id=r["id"],
            login=r["login"],
            role=r["role"],
            display_name=r["display_name"],
            esat_id=r["esat_id"],
            esat_name=r["esat_name"],
            active=bool(r["active"]),
            must_change_password=bool(r["must_change_password"]),
            last_login_at=r["last_login_at"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


def create_account(
    store: Store,
    settings: Settings,
    admin: Account,
    *,
    email: str,
    role: str,
    display_name: str,
    esat_id: int | None = None,
) -> int:
    """Open an account in the administrator's Caf and e-mail its provisional password; the new id.

    Raises ``Refused`` (nothing written) for a bad or taken address, an unknown role, a missing
    name, or, for an ESAT account, an ESAT that is not an active one of the Caf; ``MailNotSent``
    when the account was created but the e-mail could not be handed over."""
    caf = partner.admin_caf(store, admin)
    return _create(store, settings, admin.id, caf, email, role, display_name, esat_id, {})


def create_first_admin(
    store: Store, settings: Settings, *, caf_code: str, email: str, display_name: str
) -> int:
    """The command line's administrator of a Caf (``created_by`` NULL); the Caf must exist in
    table caf. Same refusals and e-mail as ``create_account``."""
    code = caf_code.strip() if isinstance(caf_code, str) else ""
    known = bool(code) and bool(store.scalar("SELECT count(*) FROM caf WHERE code = ?", [code]))
    errors = {} if known else {"caf_code": UNKNOWN_CAF}
    return _create(store, settings, None, code, email, "admin", display_name, None, errors)


def _create(
    store: Store,
    settings: Settings,
    actor: int | None,
    caf: str,
    email: object,
    role: object,
    display_name: object,
    esat_id: object,
    errors: dict[str, str],
) -> int:
    login = identifiant(email)
    if login is None:
        errors["email"] = BAD_EMAIL
    elif store.scalar("SELECT count(*) FROM account WHERE login = ?", [login]):
        errors["email"] = EMAIL_TAKEN
    if not isinstance(role, str) or role not in ROLE_LABELS:
        errors["role"] = BAD_ROLE
    name = _display_name(display_name)
    if name is None:
        errors["display_name"] = BAD_NAME
    esat = None
    if role == "esat":
        esat = _esat_id(esat_id)
        if esat_id is None or esat_id == "":
            errors["esat_id"] = ESAT_REQUIRED
        elif esat is None or not store.scalar(
            "SELECT count(*) FROM esat WHERE id = ? AND caf_code = ? AND coalesce(active, TRUE)", [esat, caf]
        ):
            errors["esat_id"] = BAD_ESAT
    if errors:
        raise Refused(errors)
    assert login is not None and name is not None and isinstance(role, str)
    password = provisional_password(login)
    password_hash = passwords.hash_password(password)  # ~30 ms: outside the transaction
    now = now_utc(settings)

    def work(tx: Tx) -> int:
        if tx.scalar("SELECT count(*) FROM account WHERE login = ?", [login]):
            raise Refused({"email": EMAIL_TAKEN})  # taken meanwhile
        new_id = int(tx.scalar("SELECT coalesce(max(id), 0) + 1 FROM account"))
        tx.execute(
            "INSERT INTO account (id, login, email, password_hash, role, esat_id, caf_code, display_name, "
            "active, created_at, demo, must_change_password, password_changed_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, FALSE, TRUE, ?, ?)",
            [new_id, login, login, password_hash, role, esat, caf, name, now, now, actor],
        )
        audit.record(tx, actor, "account_created", f"compte:{new_id}")
        return new_id

    account_id = store.write(work)
    log.info("auth account_created account=%s by=%s", account_id, actor or "ligne-de-commande")
    _send_provisional(settings, store, actor, account_id, login, name, role, password, created=True)
    return account_id


def _provisional_body(settings: Settings, login: str, name: str, role: str, password: str) -> str:
    return (
        f"Bonjour {mail.one_line(name, NAME_MAX)},\n"
        "\n"
        f"La Caf vous a ouvert un compte sur l’Espace ESAT ({ROLE_LABELS.get(role, role)}).\n"
        "\n"
        f"  Adresse du service : {mail.one_line(settings.base_url, 500)}\n"
        f"  Identifiant : {login}\n"
        f"  Mot de passe provisoire : {password}\n"
        "\n"
        "À votre première connexion, vous choisirez votre propre mot de passe ; le mot de passe "
        "provisoire ne sert plus ensuite. Ne le communiquez à personne.\n"
        "\n"
        "Si vous n'attendiez pas ce message, prévenez votre Caf.\n"
        "\n"
        "Ce message est envoyé automatiquement ; merci de ne pas y répondre.\n"
        "\n"
        "L’Espace ESAT\n"
    )


def _send_provisional(
    settings: Settings,
    store: Store,
    actor: int | None,
    account_id: int,
    recipient: str,
    name: str,
    role: str,
    password: str,
    *,
    created: bool,
) -> None:
    """E-mail the provisional password (after the commit), then audit that it was sent."""
    try:
        msg = mail.build_account_mail(
            settings=settings,
            recipient=recipient,
            subject=PROVISIONAL_SUBJECT,
            body=_provisional_body(settings, recipient, name, role, password),
        )
        mail.deliver(settings, msg)
    except (OSError, smtplib.SMTPException, ValueError) as exc:  # its text may hold the address
        log.warning(
            "auth provisional_password_mail_failed account=%s error=%s", account_id, type(exc).__name__
        )
        raise MailNotSent(account_id, created) from None
    audit.log(store, actor, "provisional_password_sent", f"compte:{account_id}")
    log.info("auth provisional_password_sent account=%s", account_id)


def resend_provisional(store: Store, settings: Settings, admin: Account, account_id: int) -> None:
    """A new provisional password for an account that has not chosen its own yet, e-mailed again
    (the previous one stops working, and so do the sessions opened with it). ``Refused`` once
    the account has chosen its password or is deactivated; ``MailNotSent`` if delivery fails."""
    caf = partner.admin_caf(store, admin)
    row = _scoped_account(store, caf, account_id)
    if not row["active"] or not row["must_change_password"]:
        raise Refused({"account": NO_PROVISIONAL})
    password = provisional_password(row["login"])
    password_hash = passwords.hash_password(password)
    now = now_utc(settings)

    def work(tx: Tx) -> None:
        done = tx.one(
            "UPDATE account SET password_hash = ?, password_changed_at = ? "
            "WHERE id = ? AND active AND must_change_password RETURNING id",
            [password_hash, now, row["id"]],
        )
        if done is None:
            raise Refused({"account": NO_PROVISIONAL})
        tx.execute("DELETE FROM password_reset WHERE account_id = ? AND used_at IS NULL", [row["id"]])
        audit.record(tx, admin.id, "provisional_password_renewed", f"compte:{row['id']}")

    store.write(work)
    log.info("auth provisional_password_renewed account=%s by=%s", row["id"], admin.id)
    _send_provisional(
        settings,
        store,
        admin.id,
        row["id"],
        row["email"],
        row["display_name"],
        row["role"],
        password,
        created=False,
    )


def set_active(store: Store, settings: Settings, admin: Account, account_id: int, active: bool) -> None:
    """Deactivate or reactivate an account of the administrator's Caf (nothing is ever deleted).

    A deactivated account cannot log in, its unused reset links are deleted, and its open
    sessions end at their next check; the sessions opened before a deactivation stay ended after
    a reactivation (``password_changed_at`` moves to the deactivation). An administrator cannot
    deactivate itself (``Refused``); doing what is already done writes nothing."""
    caf = partner.admin_caf(store, admin)
    row = _scoped_account(store, caf, account_id)
    active = bool(active)
    if not active and row["id"] == admin.id:
        raise Refused({"active": SELF_DEACTIVATION})
    if bool(row["active"]) == active:
        return
    now = now_utc(settings)
    action = "account_reactivated" if active else "account_deactivated"

    def work(tx: Tx) -> None:
        if active:
            tx.execute("UPDATE account SET active = TRUE WHERE id = ?", [row["id"]])
        else:
            tx.execute(
                "UPDATE account SET active = FALSE, password_changed_at = ? WHERE id = ?",
                [now, row["id"]],
            )
            tx.execute("DELETE FROM password_reset WHERE account_id = ? AND used_at IS NULL", [row["id"]])
        audit.record(tx, admin.id, action, f"compte:{row['id']}")

    store.write(work)
    log.info("auth %s account=%s by=%s", action, row["id"], admin.id)
