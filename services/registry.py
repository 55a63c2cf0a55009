"""Registry of partners (Caf administrators): the ESATs of a Caf, their fonctions and their contracts.

Every function takes the administrator's account (role ``admin``, checked against the store, so a
session that outlived a deactivation is refused) and works inside its Caf only: an ESAT whose Caf de
rattachement is another Caf is ``partner.NotAllowed``, the same answer as for an unknown id.

Nothing is ever deleted. An ESAT is deactivated (``set_active``), a contract is ended
(``end_contract``). On ``update_partner`` the fonctions are replaced by rank: the given list is
stored as ranks 1..n in its order (the first is the one the ESAT's Accueil shows) and ranks beyond n
are dropped, which is the only way a fonction goes.

Validation (DOMAIN §5): every field is checked, all errors are reported at once in
``Refused.errors`` (field id → French message) and nothing is written on any error. Error ids are
``legal_name``, ``siret``, ``street``, ``postcode``, ``city``, ``fonctions`` (the list itself) and
``fonctions.<n>.<field>`` where ``<n>`` is the ``rank`` the caller gave the fonction (its row on the
form; the position in the list when the given ranks are not distinct positive numbers); contracts
use ``kind``, ``valid_from`` and ``valid_to``.

- SIRET: ``stdnum.fr.siret`` (14 digits, Luhn; La Poste's exception handled by stdnum), spaces
  ignored; one message for "not 14 digits", another for a wrong check digit; unique among all ESATs.
- FINESS (optional): 9 characters, a department (2 digits, or 2A/2B for Corsica) then 7 digits.
  The 9th digit being a Luhn key is an ASSUMPTION of DOMAIN §5 (no official text). Choice made here:
  a number failing it is refused, with a message that says the key does not match and that the
  field may be left empty, so an administrator holding a real number our assumption rejects is
  never blocked. Corsican 2A/2B numbers are not Luhn-checked.
- Text fields: surrounding blanks removed and inner runs of blanks (tabs, line breaks, no-break
  spaces) made one space; then 1..limit characters, all printable.

Contracts (DOMAIN §1): at most one contract of each kind at a time. Periods are inclusive of both
dates and an open-ended one (no end date) runs for ever, so a new contract whose period meets an
existing one of its kind is refused; one ending on 31/12 and the next starting on 01/01 do not meet.

Every change is audited in its own transaction (``partner_created``, ``partner_updated``,
``partner_deactivated``, ``partner_reactivated``, ``contract_added``, ``contract_ended``) with
``esat:<id>`` or ``esat:<id>:<kind>`` as object reference, never a name. A call that changes
nothing (same values saved again, an ESAT already in that state, the same end date) writes nothing
and is not audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from stdnum import luhn
from stdnum.fr import siret as stdnum_siret

from data.store import Store, Tx
from services import audit, partner
from services.accounts import CONTRACT_LABELS, Account

LEGAL_NAME_MAX = 200
NAME_MAX = 200
STREET_MAX = 200
CITY_MAX = 100
FONCTIONS_MAX = 50
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # contract dates outside: a typing slip

LEGAL_NAME_BAD = (
    f"Saisissez la raison sociale : de 1 à {LEGAL_NAME_MAX} caractères, sans caractère de contrôle."
)
SIRET_FORMAT = (
    "Le SIRET doit compter exactement 14 chiffres (les espaces sont acceptés), par exemple 732 829 320 00074."
)
SIRET_CHECKSUM = (
    "Ce SIRET n'est pas valable : sa clé de contrôle ne correspond pas. Vérifiez les 14 chiffres."
)
SIRET_TAKEN = "Ce SIRET est déjà enregistré pour un autre établissement."
STREET_BAD = (
    f"Saisissez l'adresse (numéro et voie) : de 1 à {STREET_MAX} caractères, sans caractère de contrôle."
)
POSTCODE_BAD = "Le code postal doit compter exactement 5 chiffres, par exemple 44000."
CITY_BAD = f"Saisissez la ville : de 1 à {CITY_MAX} caractères, sans caractère de contrôle."
FONCTION_NAME_BAD = (
    f"Saisissez le nom de la fonction : de 1 à {NAME_MAX} caractères, sans caractère de contrôle."
)
FINESS_FORMAT = (
    "Le numéro FINESS compte 9 caractères : le département sur 2 caractères (2A ou 2B pour la Corse) "
    "puis 7 chiffres, par exemple 440012345. Laissez le champ vide si vous ne le connaissez pas."
)
FINESS_KEY = (
    "Ce numéro FINESS ne passe pas le contrôle de sa clé (le 9e chiffre ne correspond pas aux 8 "
    "premiers) : vérifiez-le, ou laissez le champ vide."
)
NO_FONCTION = (
    "Enregistrez au moins une fonction (établissement) : la première est celle que l'Accueil de "
    "l'ESAT affiche."
)
TOO_MANY_FONCTIONS = f"Un partenaire compte au plus {FONCTIONS_MAX} fonctions."
BAD_FONCTIONS = "La liste des fonctions n'est pas lisible : saisissez-les à nouveau."
KIND_BAD = (
    "Choisissez le document dans la liste : convention d'accès, contrat de services ou bulletin "
    "d'adhésion au service ESAT."
)
VALID_FROM_MISSING = "Saisissez la date de début de validité (JJ/MM/AAAA)."
VALID_TO_MISSING = "Saisissez le dernier jour de validité (JJ/MM/AAAA)."
DATE_RANGE = f"Saisissez une date entre le {FIRST_DAY:%d/%m/%Y} et le {LAST_DAY:%d/%m/%Y}."
ENDS_BEFORE_START = (
    "La fin de validité ({end}) ne peut pas précéder le début de validité ({start}) : "
    "un document est valable au moins un jour."
)
CONTRACT_UNKNOWN = "Ce document n'est pas enregistré pour ce partenaire : choisissez-le dans la liste."

# How each kind is named in a sentence: (subject, object pronoun, "a new one").
_KIND_WORDS = {
    "convention": ("Une convention d'accès", "la", "une nouvelle"),
    "contrat_services": ("Un contrat de services", "le", "un nouveau"),
    "bulletin_esat": ("Un bulletin d'adhésion au service ESAT", "le", "un nouveau"),
}
assert set(_KIND_WORDS) == set(CONTRACT_LABELS)
_SPACES = re.compile(r"\s+")
_POSTCODE = re.compile(r"[0-9]{5}")
_SIRET = re.compile(r"[0-9]{14}")
_FINESS = re.compile(r"(?:[0-9]{2}|2A|2B)[0-9]{7}")


@dataclass(frozen=True)
class Fonction:
    rank: int
    name: str
    finess: str | None
    street: str
    postcode: str
    city: str


@dataclass(frozen=True)
class Contract:
    kind: str  # a key of accounts.CONTRACT_LABELS
    valid_from: date
    valid_to: date | None  # None: no end date


@dataclass(frozen=True)
class Partner:
    id: int
    legal_name: str
    siret: str
    street: str
    postcode: str
    city: str
    caf_code: str
    active: bool
    fonctions: list[Fonction]
    contracts: list[Contract]


@dataclass(frozen=True)
class PartnerSummary:
    id: int
    legal_name: str
    siret: str
    city: str
    active: bool
    access_ok: bool  # the three documents are valid on the day asked


class Refused(ValueError):
    """Nothing was written: ``errors`` maps each field id to its French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


# ------------------------------------------------------------------------------------------------
# Reading


def list_partners(store: Store, admin: Account, on: date) -> list[PartnerSummary]:
    """The ESATs whose Caf de rattachement is the administrator's Caf, by raison sociale.

    ``city`` is the ESAT's own city, or its first fonction's when none is recorded (ESATs
    registered before addresses were kept). ``access_ok`` says whether the three documents are
    valid on ``on``; whether the ESAT is active is ``active``."""
    caf = partner.admin_caf(store, admin)
    rows = store.all(
        "SELECT e.id, e.legal_name, e.siret, e.active, coalesce(e.city, "
        "(SELECT s.city FROM esat_site s WHERE s.esat_id = e.id ORDER BY s.rank LIMIT 1), '') AS city, "
        "(SELECT count(DISTINCT c.kind) FROM partner_contract c WHERE c.esat_id = e.id "
        "AND c.valid_from <= ? AND (c.valid_to IS NULL OR c.valid_to >= ?)) AS documents "
        "FROM esat e WHERE e.caf_code = ? ORDER BY lower(e.legal_name), e.id",
        [on, on, caf],
    )
    return [
        PartnerSummary(
            id=r["id"],
            legal_name=r["legal_name"],
            siret=r["siret"],
            city=r["city"],
            active=r["active"] is not False,
            access_ok=r["documents"] == len(CONTRACT_LABELS),
        )
        for r in rows
    ]


def get_partner(store: Store, admin: Account, esat_id: int) -> Partner:
    """One ESAT of the administrator's Caf with its fonctions (by rank) and contracts."""
    caf = partner.admin_caf(store, admin)
    with store.transaction() as tx:
        return _partner(tx, _scoped_esat(tx, caf, esat_id, lock=False))


# ------------------------------------------------------------------------------------------------
# Partners


def create_partner(
    store: Store,
    admin: Account,
    *,
    legal_name: str,
    siret: str,
    street: str,
    postcode: str,
    city: str,
    fonctions: list[Fonction],
) -> int:
    """Register an ESAT attached to the administrator's Caf, active; its new id."""
    caf = partner.admin_caf(store, admin)
    fields, sites = _checked(legal_name, siret, street, postcode, city, fonctions)

    def work(tx: Tx) -> int:
        _refuse_taken_siret(tx, fields["siret"], None)
        esat_id = tx.scalar("SELECT coalesce(max(id), 0) + 1 FROM esat")
        tx.execute(
            "INSERT INTO esat (id, legal_name, siret, caf_code, street, postcode, city, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, TRUE)",
            [
                esat_id,
                fields["legal_name"],
                fields["siret"],
                caf,
                fields["street"],
                fields["postcode"],
                fields["city"],
            ],
        )
        _insert_sites(tx, esat_id, sites)
        audit.record(tx, admin.id, "partner_created", f"esat:{esat_id}")
        return esat_id

    return store.write(work)


def update_partner(
    store: Store,
    admin: Account,
    esat_id: int,
    *,
    legal_name: str,
    siret: str,
    street: str,
    postcode: str,
    city: str,
    fonctions: list[Fonction],
) -> None:
    """Change an ESAT's identity, address and fonctions (replaced by rank, see the module doc)."""
    caf = partner.admin_caf(store, admin)

    def work(tx: Tx) -> None:
        row = _scoped_esat(tx, caf, esat_id, lock=True)  # the scope comes before any validation
        fields, sites = _checked(legal_name, siret, street, postcode, city, fonctions)
        _refuse_taken_siret(tx, fields["siret"], row["id"])
        old = _partner(tx, row)
        old_fields = {k: getattr(old, k) for k in fields}
        if old_fields == fields and old.fonctions == sites:
            return  # nothing changes: nothing written, nothing audited
        if old_fields != fields:
            tx.execute(
                "UPDATE esat SET legal_name = ?, siret = ?, street = ?, postcode = ?, city = ? WHERE id = ?",
                [
                    fields["legal_name"],
                    fields["siret"],
                    fields["street"],
                    fields["postcode"],
                    fields["city"],
                    row["id"],
                ],
            )
        known = {f.rank: f for f in old.fonctions}
        for site in sites:
            if site.rank not in known:
                _insert_sites(tx, row["id"], [site])
            elif known[site.rank] != site:
                tx.execute(
                    "UPDATE esat_site SET finess = ?, name = ?, street = ?, postcode = ?, city = ? "
                    "WHERE esat_id = ? AND rank = ?",
                    [site.finess, site.name, site.street, site.postcode, site.city, row["id"], site.rank],
                )
        if len(known) > len(sites) or any(rank > len(sites) for rank in known):
            tx.execute("DELETE FROM esat_site WHERE esat_id = ? AND rank > ?", [row["id"], len(sites)])
        audit.record(tx, admin.id, "partner_updated", f"esat:{row['id']}")

    store.write(work)


def set_active(store: Store, admin: Account, esat_id: int, active: bool) -> None:
    """Deactivate (its accounts lose access to the ESAT service) or reactivate an ESAT."""
    caf = partner.admin_caf(store, admin)
    wanted = bool(active)

    def work(tx: Tx) -> None:
        row = _scoped_esat(tx, caf, esat_id, lock=True)
        if (row["active"] is not False) == wanted:
            return  # already so
        tx.execute("UPDATE esat SET active = ? WHERE id = ?", [wanted, row["id"]])
        action = "partner_reactivated" if wanted else "partner_deactivated"
        audit.record(tx, admin.id, action, f"esat:{row['id']}")

    store.write(work)


# ------------------------------------------------------------------------------------------------
# Contracts


def add_contract(
    store: Store, admin: Account, esat_id: int, kind: str, valid_from: date, valid_to: date | None
) -> None:
    """Record a contract (``valid_to`` None: no end date); refused when it meets one of its kind."""
    caf = partner.admin_caf(store, admin)

    def work(tx: Tx) -> None:
        row = _scoped_esat(tx, caf, esat_id, lock=True)
        errors: dict[str, str] = {}
        if kind not in CONTRACT_LABELS:
            errors["kind"] = KIND_BAD
        start = _day(valid_from, "valid_from", VALID_FROM_MISSING, errors)
        end = _day(valid_to, "valid_to", None, errors)
        if start and end and end < start:
            errors["valid_to"] = ENDS_BEFORE_START.format(start=f"{start:%d/%m/%Y}", end=f"{end:%d/%m/%Y}")
        if errors:
            raise Refused(errors)
        assert start is not None
        for other in _contracts(tx, row["id"], kind):
            if _overlap(start, end, other.valid_from, other.valid_to):
                raise Refused({"valid_from": _active_message(other)})
        tx.execute(
            "INSERT INTO partner_contract (esat_id, kind, valid_from, valid_to) VALUES (?, ?, ?, ?)",
            [row["id"], kind, start, end],
        )
        audit.record(tx, admin.id, "contract_added", f"esat:{row['id']}:{kind}")

    store.write(work)


def end_contract(
    store: Store, admin: Account, esat_id: int, kind: str, valid_from: date, valid_to: date
) -> None:
    """Set the last day of validity of the contract of ``kind`` starting on ``valid_from``."""
    caf = partner.admin_caf(store, admin)

    def work(tx: Tx) -> None:
        row = _scoped_esat(tx, caf, esat_id, lock=True)
        errors: dict[str, str] = {}
        end = _day(valid_to, "valid_to", VALID_TO_MISSING, errors)
        contracts = _contracts(tx, row["id"], kind) if kind in CONTRACT_LABELS else []
        start = valid_from.date() if isinstance(valid_from, datetime) else valid_from
        contract = next((c for c in contracts if c.valid_from == start), None)
        if contract is None:
            errors = {"valid_from": CONTRACT_UNKNOWN}
        elif end and end < contract.valid_from:
            errors["valid_to"] = ENDS_BEFORE_START.format(
                start=f"{contract.valid_from:%d/%m/%Y}", end=f"{end:%d/%m/%Y}"
            )
        if errors:
            raise Refused(errors)
        assert contract is not None and end is not None
        if contract.valid_to == end:
            return  # already ends that day
        for other in contracts:
            if other != contract and _overlap(contract.valid_from, end, other.valid_from, other.valid_to):
                words = _KIND_WORDS[kind]
                raise Refused(
                    {
                        "valid_to": f"{words[0]} est déjà enregistré{'e' if words[1] == 'la' else ''} "
                        f"{_period(other)} : choisissez une fin de validité antérieure à son début."
                    }
                )
        tx.execute(
            "UPDATE partner_contract SET valid_to = ? WHERE esat_id = ? AND kind = ? AND valid_from = ?",
            [end, row["id"], kind, contract.valid_from],
        )
        audit.record(tx, admin.id, "contract_ended", f"esat:{row['id']}:{kind}")

    store.write(work)


# ------------------------------------------------------------------------------------------------
# Checks


def parse_siret(text: str) -> str:
    """The 14 digits of a SIRET typed with or without spaces; ``Refused({"siret": …})`` otherwise."""
    digits = _SPACES.sub("", text) if isinstance(text, str) else ""
    if not _SIRET.fullmatch(digits):
        raise Refused({"siret": SIRET_FORMAT})
    if not stdnum_siret.is_valid(digits):
        raise Refused({"siret": SIRET_CHECKSUM})
    return digits


def parse_finess(text: str | None) -> str | None:
    """A FINESS number (upper case, blanks removed), None when empty; ``Refused({"finess": …})``."""
    if text is None:
        return None
    value = _SPACES.sub("", text).upper() if isinstance(text, str) else "?"
    if not value:
        return None
    if not _FINESS.fullmatch(value):
        raise Refused({"finess": FINESS_FORMAT})
    if value[:2] not in ("2A", "2B") and not luhn.is_valid(value):  # ASSUMPTION (DOMAIN §5)
        raise Refused({"finess": FINESS_KEY})
    return value


def _text(value: object, limit: int) -> str | None:
    """The text with its blanks tidied, or None when empty, too long or not printable."""
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", value).strip()
    return text if 1 <= len(text) <= limit and text.isprintable() else None


def _postcode(value: object) -> str | None:
    text = _SPACES.sub("", value) if isinstance(value, str) else ""
    return text if _POSTCODE.fullmatch(text) else None


def _checked(
    legal_name: object, siret: object, street: object, postcode: object, city: object, fonctions: object
) -> tuple[dict[str, str], list[Fonction]]:
    """The partner's fields and fonctions (ranks 1..n) as stored, or ``Refused`` with every error."""
    errors: dict[str, str] = {}
    fields: dict[str, str] = {}

    def keep(field: str, value: str | None, message: str, prefix: str = "") -> str:
        if value is None:
            errors[prefix + field] = message
        return value or ""

    fields["legal_name"] = keep("legal_name", _text(legal_name, LEGAL_NAME_MAX), LEGAL_NAME_BAD)
    try:
        fields["siret"] = parse_siret(siret)  # type: ignore[arg-type]
    except Refused as exc:
        errors.update(exc.errors)
    fields["street"] = keep("street", _text(street, STREET_MAX), STREET_BAD)
    fields["postcode"] = keep("postcode", _postcode(postcode), POSTCODE_BAD)
    fields["city"] = keep("city", _text(city, CITY_MAX), CITY_BAD)

    sites: list[Fonction] = []
    given = list(fonctions) if isinstance(fonctions, list | tuple) else None
    if given is None or not all(isinstance(f, Fonction) for f in given):
        errors["fonctions"] = BAD_FONCTIONS
        given = []
    elif not given:
        errors["fonctions"] = NO_FONCTION
    elif len(given) > FONCTIONS_MAX:
        errors["fonctions"] = TOO_MANY_FONCTIONS
        given = []
    ranks = [f.rank for f in given]
    by_rank = len(set(ranks)) == len(ranks) and all(
        isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in ranks
    )
    for position, f in enumerate(given, start=1):
        prefix = f"fonctions.{f.rank if by_rank else position}."
        finess = None
        try:
            finess = parse_finess(f.finess)
        except Refused as exc:
            errors[prefix + "finess"] = exc.errors["finess"]
        sites.append(
            Fonction(
                rank=position,
                name=keep("name", _text(f.name, NAME_MAX), FONCTION_NAME_BAD, prefix),
                finess=finess,
                street=keep("street", _text(f.street, STREET_MAX), STREET_BAD, prefix),
                postcode=keep("postcode", _postcode(f.postcode), POSTCODE_BAD, prefix),
                city=keep("city", _text(f.city, CITY_MAX), CITY_BAD, prefix),
            )
        )
    if errors:
        raise Refused(errors)
    return fields, sites


def _day(value: object, field: str, missing: str | None, errors: dict[str, str]) -> date | None:
    """A contract date (a datetime counts as its day); an error when absent and required."""
    if value is None:
        if missing:
            errors[field] = missing
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        errors[field] = missing or DATE_RANGE
        return None
    if not FIRST_DAY <= value <= LAST_DAY:
        errors[field] = DATE_RANGE
        return None
    return value


def _overlap(start: date, end: date | None, other_start: date, other_end: date | None) -> bool:
    """Whether two inclusive periods share a day (None: no end)."""
    return (end is None or other_start <= end) and (other_end is None or start <= other_end)


def _period(contract: Contract) -> str:
    if contract.valid_to is None:
        return f"depuis le {contract.valid_from:%d/%m/%Y}, sans date de fin"
    return f"du {contract.valid_from:%d/%m/%Y} au {contract.valid_to:%d/%m/%Y}"


def _active_message(existing: Contract) -> str:
    subject, pronoun, new = _KIND_WORDS[existing.kind]
    agreement = "e" if pronoun == "la" else ""
    return (
        f"{subject} est déjà acti{'ve' if agreement else 'f'} {_period(existing)} : "
        f"terminez-{pronoun} avant d'en enregistrer {new}."
    )


# ------------------------------------------------------------------------------------------------
# Store


def _scoped_esat(tx: Tx, caf: str, esat_id: object, *, lock: bool) -> dict:
    """The ESAT row when it is attached to ``caf``; ``lock`` also takes its row lock on PostgreSQL
    (a no-op update, the same SQL on both stores), so that concurrent changes of one ESAT queue."""
    if isinstance(esat_id, bool) or not isinstance(esat_id, int):
        raise partner.NotAllowed("ESAT inconnu")
    if lock:
        tx.execute("UPDATE esat SET active = active WHERE id = ? AND caf_code = ?", [esat_id, caf])
    row = tx.one("SELECT * FROM esat WHERE id = ? AND caf_code = ?", [esat_id, caf])
    if row is None:
        raise partner.NotAllowed("ESAT inconnu")
    return row


def _refuse_taken_siret(tx: Tx, siret: str, esat_id: int | None) -> None:
    taken = tx.scalar("SELECT id FROM esat WHERE siret = ? AND id <> ?", [siret, esat_id or 0])
    if taken is not None:
        raise Refused({"siret": SIRET_TAKEN})


def _insert_sites(tx: Tx, esat_id: int, sites: list[Fonction]) -> None:
    tx.executemany(
        "INSERT INTO esat_site (esat_id, rank, finess, name, street, postcode, city) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [[esat_id, s.rank, s.finess, s.name, s.street, s.postcode, s.city] for s in sites],
    )


def _contracts(tx: Tx, esat_id: int, kind: str | None = None) -> list[Contract]:
    rows = tx.all(
        "SELECT kind, valid_from, valid_to FROM partner_contract WHERE esat_id = ? ORDER BY valid_from",
        [esat_id],
    )
    order = list(CONTRACT_LABELS)
    contracts = [Contract(r["kind"], r["valid_from"], r["valid_to"]) for r in rows]
    contracts.sort(key=lambda c: (order.index(c.kind), c.valid_from))
    return [c for c in contracts if kind is None or c.kind == kind]


def _partner(tx: Tx, row: dict) -> Partner:
    sites = tx.all("SELECT * FROM esat_site WHERE esat_id = ? ORDER BY rank", [row["id"]])
    return Partner(
        id=row["id"],
        legal_name=row["legal_name"],
        siret=row["siret"],
        street=row["street"] or "",
        postcode=row["postcode"] or "",
        city=row["city"] or "",
        caf_code=row["caf_code"],
        active=row["active"] is not False,
        fonctions=[
            Fonction(s["rank"], s["name"], s["finess"], s["street"], s["postcode"], s["city"]) for s in sites
        ],
        contracts=_contracts(tx, row["id"]),
    )
