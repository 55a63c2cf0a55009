"""Verifying a justificatif: its receipt number and verification code against the stored record.

Anyone may ask, without an account (pages/verification.py), and the Caf may ask from a shell
(``python -m services.verification ESAT-2026-00000042 1A2B-3C4D-5E6F``): both call :func:`verify`,
which compares the code with the one stored at filing (services/receipts.py derives it) and says
whether the justificatif exists, its type, when it was filed and whether a rectificatif replaced
it. Nothing personal: no worker, no ESAT, no amount (docs/verification.md).

An unknown receipt number and a wrong code get the same answer, so the page cannot be used to
learn which receipt numbers exist. Well-formed lookups are limited per source address (or per
account, for a logged-in Caf agent: a Caf's agents share one address) and each is audited.
"""

from __future__ import annotations

import hmac
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from data.store import Store, Tx, open_or_exit
from forms import FormError
from forms.fmt import timestamp
from forms.versions import load_version
from services import audit, declarations
from services.accounts import _throttle_key
from services.clock import now_utc, to_paris
from services.config import Settings, load_settings

log = logging.getLogger("espace_esat.verification")  # outcomes only: never a number or a code

LOOKUPS = 10  # well-formed lookups per source address (or agent account) …
WINDOW = timedelta(minutes=10)  # … within this sliding window
MAX_INPUT = 100  # characters of a field looked at (the page allows fewer)

RECEIPT_FORMAT = "Le numéro de reçu a la forme ESAT-2026-00000042."
CODE_FORMAT = (
    "Le code de vérification comporte 12 caractères (chiffres et lettres A à F), par exemple 1A2B-3C4D-5E6F."
)
NOT_FOUND = (
    "Aucun justificatif ne correspond à ce numéro de reçu et à ce code de vérification. Vérifiez "
    "votre saisie : les deux figurent sur le justificatif. Un justificatif de plus de deux ans ne "
    "peut plus être vérifié."
)
THROTTLED = (
    "Trop de vérifications en peu de temps. Réessayez à partir de {at} (heure de Paris), "
    "dans {minutes} minute(s)."
)

_RECEIPT = re.compile(r"ESAT-[0-9]{4}-[0-9]{8}", re.ASCII)
_CODE = re.compile(r"[0-9A-F]{12}", re.ASCII)
# Compared with when the receipt number is unknown, so both failures do the same work.
_NO_CODE = "0000-0000-0000"


@dataclass(frozen=True)
class Result:
    """The answer to one verification. ``message`` is the French text to show."""

    outcome: str  # "verified", "not_found", "invalid" (malformed input), "throttled"
    message: str
    errors: dict[str, str] = field(default_factory=dict)  # "receipt" / "code" → French message
    receipt: str | None = None  # the normalised receipt number, when well-formed
    form_title: str | None = None  # found: the type of declaration
    received_at: datetime | None = None  # found: when it was filed (Europe/Paris)
    replaces: str | None = None  # found, a rectificatif: the receipt number it replaced
    superseded_at: datetime | None = None  # found and replaced since: when (Europe/Paris)
    superseded_by: str | None = None  # … and the receipt number of the rectificatif
    retry_at: datetime | None = None  # throttled: from when a lookup is allowed again (Europe/Paris)

    @property
    def verified(self) -> bool:
        return self.outcome == "verified"


def normalise_receipt(text: str) -> str | None:
    """``ESAT-2026-00000042`` from what was typed (case, spaces), or None when malformed."""
    receipt = "".join((text or "")[:MAX_INPUT].split()).upper()
    return receipt if _RECEIPT.fullmatch(receipt) else None


def normalise_code(text: str) -> str | None:
    """``1A2B-3C4D-5E6F`` from what was typed (case, spaces, with or without dashes), or None."""
    raw = "".join((text or "")[:MAX_INPUT].split()).replace("-", "").upper()
    if not _CODE.fullmatch(raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def verify(
    store: Store,
    settings: Settings,
    receipt: str,
    code: str,
    source: str | None,
    *,
    account_id: int | None = None,
    now: datetime | None = None,
) -> Result:
    """Check a receipt number and its verification code.

    ``source`` is the client address (None when unknown: all such lookups share one limit);
    ``account_id`` a logged-in Caf agent, limited and audited as that account instead;
    ``now`` (naive UTC) is for tests. A malformed field gives its French message and touches
    nothing (no lookup, no count, no audit row).
    """
    number, checked = normalise_receipt(receipt), normalise_code(code)
    errors: dict[str, str] = {}
    if number is None:
        errors["receipt"] = RECEIPT_FORMAT
    if checked is None:
        errors["code"] = CODE_FORMAT
    if errors:
        return Result("invalid", " ".join(errors.values()), errors, receipt=number)
    assert number is not None and checked is not None
    now = now or now_utc(settings)
    key = (
        _throttle_key(settings, "verification-compte", str(account_id))
        if account_id is not None
        else _throttle_key(settings, "verification", source or "inconnue")
    )

    def work(tx: Tx) -> Result:
        recent = tx.one(
            "SELECT count(*) AS n, min(failed_at) AS first FROM login_failure WHERE key = ? AND failed_at > ?",
            [key, now - WINDOW],
        )
        if recent and recent["n"] >= LOOKUPS:
            audit.record(tx, account_id, "verification_throttled", number)
            return _throttled(recent["first"] + WINDOW, now)
        tx.execute("INSERT INTO login_failure VALUES (?, ?)", [key, now])
        result = _lookup(tx, number, checked)
        audit.record(tx, account_id, f"justificatif_{result.outcome}", number)
        return result

    result = store.write(work)
    log.info("verification %s account=%s", result.outcome, account_id or "-")
    return result


def _lookup(tx: Tx, number: str, code: str) -> Result:
    row = tx.one(
        "SELECT d.form_id, d.form_version, d.received_at, d.verification_code, d.superseded_at, "
        "n.receipt_number AS superseded_by, r.receipt_number AS replaces "
        "FROM declaration d "
        "LEFT JOIN declaration n ON n.id = d.superseded_by "
        "LEFT JOIN declaration r ON r.id = d.replaces_id "
        "WHERE d.receipt_number = ?",
        [number],
    )
    stored = row["verification_code"] if row else _NO_CODE
    matches = hmac.compare_digest(stored.encode(), code.encode())
    if row is None or not matches:
        return Result("not_found", NOT_FOUND, receipt=number)
    received = to_paris(row["received_at"])
    superseded = to_paris(row["superseded_at"]) if row["superseded_at"] else None
    title = form_title(row["form_id"], row["form_version"])
    if row["replaces"]:
        title = f"{title} (rectificatif)"
    text = [
        f"Ce justificatif est authentique : la Caf a bien reçu la déclaration n° {number}.",
        f"Type : {title}.",
        f"Déposée le {timestamp(received)} (heure de Paris).",
    ]
    if row["replaces"]:
        text.append(f"Elle remplace la déclaration n° {row['replaces']}.")
    if superseded is not None:
        text.append(
            f"Attention : elle a été remplacée le {timestamp(superseded)} par un rectificatif, "
            f"reçu n° {row['superseded_by']} ; c'est ce rectificatif qui fait foi."
        )
    return Result(
        "verified",
        " ".join(text),
        receipt=number,
        form_title=title,
        received_at=received,
        replaces=row["replaces"],
        superseded_at=superseded,
        superseded_by=row["superseded_by"],
    )


def _throttled(retry: datetime, now: datetime) -> Result:
    minutes = max(1, -(-int((retry - now).total_seconds()) // 60))
    at = to_paris(retry)
    return Result("throttled", THROTTLED.format(at=f"{at:%H:%M}", minutes=minutes), retry_at=at)


def form_title(form_id: str, version: int) -> str:
    """The title of the form a declaration was filed under (its frozen version when older)."""
    current = declarations.forms().get(form_id)
    if current is not None and current.version == version:
        return current.title
    try:
        return load_version(form_id, version).title
    except FormError:
        return current.title if current is not None else form_id


def main(argv: list[str]) -> int:
    """``python -m services.verification RECU CODE``: the page's answer, printed.

    Exit 0 when the justificatif is verified, 1 when not (or too many lookups), 2 when malformed.
    """
    if len(argv) != 2:
        print("usage : python -m services.verification NUMERO_DE_RECU CODE_DE_VERIFICATION", file=sys.stderr)
        return 2
    settings = load_settings()
    store = open_or_exit(settings.db)
    try:
        result = verify(store, settings, argv[0], argv[1], "ligne de commande")
    finally:
        store.close()
    print(result.message)
    return {"verified": 0, "invalid": 2}.get(result.outcome, 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
