"""Deterministic synthetic demo data for the pilot (no Streamlit here).

``seed_demo`` fills an empty store with two Cafs, about twenty ESATs, their
sites and partner contracts, the demo accounts, the CGU texts, ~1,900 workers
and three campaigns of past certificats d'emploi. Every name, number and
address is made up; the same inputs always give the same rows (one fixed
``random.Random`` seed, no clock reads: ``today`` is a parameter).

Run ``python -m data.demo`` to seed the database named by ``ESAT_DB``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from data.store import Store, Tx
from services.passwords import hash_password
from services.receipts import receipt_number, verification_code

SEED = 20261201

# ASSUMPTION: a Caf code is 3 characters (department + ordinal); the format is not
# confirmed by any source (DOMAIN §5). Only compare codes with the caf table.
PILOT_CAF = "441"
NEIGHBOUR_CAF = "491"
CAF_NAMES = {PILOT_CAF: "Caf de Loire-Atlantique", NEIGHBOUR_CAF: "Caf de Maine-et-Loire"}

# ASSUMPTION: numéros d'allocataire starting with "99" are treated as a range reserved
# for fake files (no public rule says so); every demo number is "99" + 5 digits.
ALLOCATAIRE_FAKE_PREFIX = "99"

DEMO_ESAT_LOGIN = "esat.demo@example.org"
SIMPLE_ESAT_LOGIN = "esat.simple@example.org"
NO_CONTRACT_ESAT_LOGIN = "esat.sans.contrat@example.org"
AGENT_LOGIN = "agent.caf@example.org"
REVIEWER_LOGIN = "relecteur@example.org"

DEMO_ACCOUNTS: dict[str, str] = {
    DEMO_ESAT_LOGIN: "esat",
    SIMPLE_ESAT_LOGIN: "esat",
    NO_CONTRACT_ESAT_LOGIN: "esat",
    AGENT_LOGIN: "agent",
    REVIEWER_LOGIN: "relecteur",
}

# Fixed ESAT ids of the named demo ESATs.
DEMO_ESAT_ID = 1
SIMPLE_ESAT_ID = 2
NO_CONTRACT_ESAT_ID = 3
ESAT_COUNT = 22
NEIGHBOUR_ESAT_COUNT = 5  # ESATs attached to the neighbour Caf (the last ones)

DEMO_WORKERS = 620
SIMPLE_WORKERS = 40
DEMO_COUPLES = 3
DEMO_DOUBLE_ACTIVITY = 6
NEIGHBOUR_SHARE_PERCENT = 15  # share of the demo ESAT's workers on the neighbour Caf
SKIP_PERCENT = 5  # workers without a certificat in a given campaign

FORM_ID = "certificat_emploi"
FORM_VERSION = 1
CERTIFICAT_FIELDS = ("remuneration_garantie", "aide_au_poste", "part_esat")

CONTRACT_KINDS = ("convention", "contrat_services", "bulletin_esat")
CONTRACT_FROM = date(2025, 1, 1)
ACCOUNT_CREATED_AT = datetime(2025, 1, 2, 9, 0)
CGU_PUBLISHED_ON = date(2026, 1, 1)

CENT = Decimal("0.01")
HUNDRED = Decimal(100)

# Monthly gross SMIC (35 h) by effective date, for the generator only; the
# application reads its dated parameters elsewhere. Dates before the first entry
# use the first entry (only reached when ``today`` is before 2026).
SMIC_MONTHLY: tuple[tuple[date, Decimal], ...] = (
    (date(2023, 5, 1), Decimal("1747.20")),
    (date(2024, 1, 1), Decimal("1766.92")),
    (date(2024, 11, 1), Decimal("1801.80")),
    (date(2026, 1, 1), Decimal("1823.03")),
    (date(2026, 6, 1), Decimal("1867.02")),
)
AIDE_AU_POSTE_RATE = Decimal("0.507")  # aide au poste: 50.7 % of the SMIC (full time)
ESAT_PART_FLOOR = Decimal("0.05")  # ESAT-financed part: at least 5 % of the SMIC
# Full-time guaranteed remuneration (RG) drawn in basis points of the SMIC: 55.80 %-70.00 %
# (55.7 % is the legal floor; 55.80 keeps part_esat above 5 % after rounding).
RG_MIN_BP, RG_MAX_BP = 5580, 7000

# Synthetic name lists (invented combinations; stored names are LAST UPPERCASE).
_LAST_NAMES_TEXT = """
Aubertin Audouard Bariteau Beauchene Bellanger Bertaud Blanchard Boisseau
Bonnefoy Bouvard Brossier Caillaud Chabert Charrier Chauvel Cheneau
Clouet Coutant Daguin Delaunay Deniau Dorval Drouet Dubrac
Dufresnel Durivaux Esnault Fauvel Ferrand Fleuriot Fouquet Gaborit
Galliot Garnaud Gautreau Gillardin Girardot Gouraud Guibert Guillemot
Hamelin Hervouet Jadaud Joubard Lambertin Landreau Laurendeau Lebastard
Lecomtois Lemarie Letourneux Loiseau Macquet Marchais Maugendre Menard
Meriau Moinard Morineau Naudin Neau Olivereau Pageot Pasquereau
Pelloquin Perraudeau Piveteau Poirault Praud Quemeneur Raffegeau Renaudin
Rigaudeau Rousselot Sauvaget Simoneau Tessier Thibaudeau Trichet Vaillandet
Verdon Viaud
"""
LAST_NAMES: tuple[str, ...] = tuple(_LAST_NAMES_TEXT.split())
_FIRST_NAMES_TEXT = """
Adèle Adrien Agathe Alexis Alice Amandine Anaïs André
Annabelle Antoine Armelle Arnaud Aurélie Baptiste Bastien Bénédicte
Benoît Bertrand Brigitte Camille Capucine Cédric Céline Charles
Chloé Christophe Claire Clément Colette Corentin Damien Delphine
Denis Dorothée Édouard Élise Émilie Étienne Fabien Fanny
Florian Francine Gaëlle Gaspard Gérald Ghislaine Grégoire Guillaume
Hélène Hugo Inès Isabelle Jacques Jeanne Jérôme Joëlle
Julien Justine Laëtitia Laurent Léa Loïc Louise Lucas
Mathilde Maxime Mélanie Morgane Nathalie Nicolas Noémie Olivier
Pascale Pierre Quentin Romain Sandrine Sébastien Solène Thibault
Valérie Yann
"""
FIRST_NAMES: tuple[str, ...] = tuple(_FIRST_NAMES_TEXT.split())
# The two alphabetically first last names are kept for the two reference workers of
# the demo ESAT (ids 1 and 2), so they come first on the pilot Caf's list.
_REFERENCE_LAST = tuple(sorted(LAST_NAMES)[:2])
_OTHER_LAST = tuple(sorted(LAST_NAMES)[2:])

ESAT_NAMES: tuple[str, ...] = (
    "ESAT Les Ateliers de la Brière Fleurie",
    "ESAT Les Ateliers du Val Clair",
    "ESAT Les Ateliers des Trois Rivages",
    "ESAT Les Ateliers de la Haute Lande",
    "ESAT Les Ateliers du Pré Vert",
    "ESAT Les Ateliers de l'Étang Doré",
    "ESAT Les Ateliers du Moulin Neuf",
    "ESAT Les Ateliers de la Roseraie",
    "ESAT Les Ateliers du Bocage Bleu",
    "ESAT Les Ateliers de la Grande Prée",
    "ESAT Les Ateliers des Quatre Vents",
    "ESAT Les Ateliers du Coteau Vif",
    "ESAT Les Ateliers de la Fontaine Haute",
    "ESAT Les Ateliers du Petit Marais",
    "ESAT Les Ateliers des Genêts d'Or",
    "ESAT Les Ateliers de la Belle Rive",
    "ESAT Les Ateliers du Chêne Vert",
    "ESAT Les Ateliers des Hirondelles",
    "ESAT Les Ateliers de la Source Claire",
    "ESAT Les Ateliers des Vignes Basses",
    "ESAT Les Ateliers du Val de Layon",
    "ESAT Les Ateliers des Ardoisières",
)
# (postcode, city) per department; the streets below are invented.
CITIES = {
    "44": (
        ("44000", "Nantes"),
        ("44600", "Saint-Nazaire"),
        ("44400", "Rezé"),
        ("44800", "Saint-Herblain"),
        ("44110", "Châteaubriant"),
        ("44150", "Ancenis"),
        ("44190", "Clisson"),
        ("44350", "Guérande"),
        ("44130", "Blain"),
        ("44260", "Savenay"),
        ("44210", "Pornic"),
        ("44120", "Vertou"),
    ),
    "49": (
        ("49000", "Angers"),
        ("49300", "Cholet"),
        ("49400", "Saumur"),
        ("49500", "Segré"),
        ("49800", "Trélazé"),
        ("49240", "Avrillé"),
        ("49120", "Chemillé"),
        ("49150", "Baugé"),
    ),
}
STREETS = (
    "rue des Artisans",
    "rue de la Tannerie",
    "allée des Tilleuls",
    "chemin du Halage",
    "rue du Four à Chaux",
    "avenue des Sablières",
    "impasse des Tisserands",
    "rue de l'Atelier",
    "boulevard des Forges",
    "route de la Chapelle",
)
ACCOUNT_NAMES = {
    DEMO_ESAT_LOGIN: "Solène Marchais",
    SIMPLE_ESAT_LOGIN: "Bastien Gaborit",
    NO_CONTRACT_ESAT_LOGIN: "Armelle Chauvel",
    AGENT_LOGIN: "Grégoire Landreau",
    REVIEWER_LOGIN: "Pascale Viaud",
}

CGU_TEXTS = {
    "mcp": (
        "Conditions générales d'utilisation de Mon Compte Partenaire",
        """## Objet

Mon Compte Partenaire est le portail que la Caf met à la disposition de ses \
partenaires. Il donne accès aux services prévus par la convention d'accès et le \
contrat de services signés par votre structure.

## Accès

L'accès est personnel. Votre identifiant et votre mot de passe ne doivent pas être \
communiqués. Prévenez la Caf sans délai en cas de perte ou d'usage frauduleux.

## Confidentialité des données personnelles

Les informations consultées ou transmises concernent des personnes et sont \
couvertes par le secret professionnel. Elles ne servent qu'aux finalités prévues \
par la convention et ne sont ni copiées ni communiquées à des tiers.

## Responsabilités

Votre structure répond de l'exactitude des informations qu'elle transmet et de \
l'usage fait de ses accès. La Caf peut suspendre un accès en cas de manquement.

## Acceptation

En cochant la case prévue, vous reconnaissez avoir lu ces conditions et vous vous \
engagez à les respecter.
""",
    ),
    "esat": (
        "Conditions générales d'utilisation du service ESAT",
        """## Objet

Le service ESAT permet aux établissements et services d'aide par le travail \
adhérents de déclarer à la Caf la rémunération et les changements de situation \
des travailleurs qu'ils accompagnent.

## Accès

Le service est ouvert aux ESAT ayant signé le bulletin d'adhésion. Chaque \
déclaration est faite sous l'identifiant de la personne connectée.

## Confidentialité des données personnelles

Les données des travailleurs sont strictement confidentielles. Elles ne sont \
saisies que pour les besoins des déclarations et ne sont pas réutilisées à \
d'autres fins.

## Responsabilités

L'ESAT certifie l'exactitude des montants et des taux déclarés. Une déclaration \
erronée peut entraîner un rappel ou un indu pour la personne concernée.

## Acceptation

En cochant la case prévue, vous reconnaissez avoir pris connaissance de ces \
conditions et vous vous engagez à les respecter.
""",
    ),
}


# --------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` passes the Luhn check (SIREN, SIRET, FINESS by assumption)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit to append to ``payload`` so that the whole passes Luhn."""
    for digit in "0123456789":
        if luhn_valid(payload + digit):
            return digit
    raise AssertionError("unreachable")  # pragma: no cover


def _siret(rng: random.Random) -> str:
    """A fake SIRET: a Luhn-valid SIREN followed by a NIC making the 14 digits valid."""
    while True:
        body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7))
        if not body.startswith("356"):  # avoid La Poste's special range
            break
    siren = body + luhn_check_digit(body)
    nic = f"{rng.randint(1, 99):04d}"
    return siren + nic + luhn_check_digit(siren + nic)


def _finess(rng: random.Random, department: str) -> str:
    """A fake FINESS ET: department + 6 digits + a Luhn key (ASSUMPTION, DOMAIN §5)."""
    payload = department + "".join(str(rng.randint(0, 9)) for _ in range(6))
    return payload + luhn_check_digit(payload)


# --------------------------------------------------------------------------------------
# Amounts and calendar
# --------------------------------------------------------------------------------------


def smic_monthly(on: date) -> Decimal:
    """Monthly SMIC in force on ``on`` (generator table above)."""
    value = SMIC_MONTHLY[0][1]
    for start, amount in SMIC_MONTHLY:
        if on >= start:
            value = amount
    return value


def certificat_amounts(smic: Decimal, rate: Decimal, rg_bp: int) -> dict[str, Decimal]:
    """The three certificat values for a worker at ``rate`` % with RG = ``rg_bp`` bp of SMIC."""
    share = rate / HUNDRED
    rg = (smic * Decimal(rg_bp) / Decimal(10000) * share).quantize(CENT, ROUND_HALF_UP)
    aide = (smic * AIDE_AU_POSTE_RATE * share).quantize(CENT, ROUND_HALF_UP)
    floor = (smic * ESAT_PART_FLOOR * share).quantize(CENT, ROUND_HALF_UP)
    rg = max(rg, aide + floor)  # keeps part_esat above the 5 % floor whatever the rounding
    return {"remuneration_garantie": rg, "aide_au_poste": aide, "part_esat": rg - aide}


def campaign_window(year: int) -> tuple[date, date]:
    """First and last day of certificat campaign ``year`` (1 Dec N to end of Feb N+1)."""
    return date(year, 12, 1), date(year + 1, 3, 1) - timedelta(days=1)


def demo_campaigns(today: date) -> list[int]:
    """Campaigns with past certificats: year(today) - 3 up to the last one opened before today."""
    last = today.year if date(today.year, 12, 1) < today else today.year - 1
    return list(range(today.year - 3, last + 1))


def _received_at(rng: random.Random, year: int) -> datetime:
    """A receipt time in campaign ``year``, skewed before the 15 January deadline (UTC)."""
    first, last = campaign_window(year)
    deadline = date(year + 1, 1, 15)
    if rng.randint(1, 100) <= 75:
        day = first + timedelta(days=rng.randint(0, (deadline - first).days - 1))
    else:
        day = deadline + timedelta(days=rng.randint(0, (last - deadline).days))
    # Office hours in Paris, stored as naive UTC: 07:00-16:59.
    return datetime(day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59), rng.randint(0, 59))


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------


@dataclass
class _Worker:
    id: int
    caf_code: str
    allocataire: str
    person_role: str
    last_name: str
    first_name: str
    birth_date: date
    esat_id: int
    rate_esat: Decimal
    rate_mo: Decimal | None = None
    double_activity: bool = False
    double_activity_since: date | None = None
    reference: bool = False  # one of the two fixed, ordinary workers of the demo ESAT

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.caf_code,
            self.allocataire,
            self.person_role,
            self.last_name,
            self.first_name,
            self.birth_date,
            self.esat_id,
            self.rate_esat,
            self.rate_mo,
            self.double_activity,
            "ACTIVE",
            self.double_activity_since,
        )


WORKER_COLUMNS = (
    "id",
    "caf_code",
    "allocataire",
    "person_role",
    "last_name",
    "first_name",
    "birth_date",
    "esat_id",
    "rate_esat",
    "rate_mo",
    "double_activity",
    "status",
    "double_activity_since",
)
DECLARATION_COLUMNS = (
    "id",
    "receipt_number",
    "form_id",
    "form_version",
    "worker_id",
    "esat_id",
    "caf_code",
    "author_id",
    "idempotency_key",
    "natural_key",
    "campaign",
    "received_at",
    "verification_code",
)


class _People:
    """Draws names, birth dates and unique numéros d'allocataire."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, str]] = set()
        self.next_id = 1

    def allocataire(self, caf_code: str) -> str:
        while True:
            number = ALLOCATAIRE_FAKE_PREFIX + f"{self.rng.randint(0, 99999):05d}"
            if (caf_code, number) not in self.used:
                self.used.add((caf_code, number))
                return number

    def birth_date(self) -> date:
        start = date(1962, 1, 1)
        return start + timedelta(days=self.rng.randint(0, (date(2004, 12, 31) - start).days))

    def rate(self) -> Decimal:
        pick = self.rng.randint(1, 100)
        return Decimal("100.00") if pick <= 75 else Decimal("80.00") if pick <= 90 else Decimal("50.00")

    def worker(
        self,
        esat_id: int,
        caf_code: str,
        *,
        last_names: Sequence[str] = LAST_NAMES,
        allocataire: str | None = None,
        person_role: str | None = None,
        last_name: str | None = None,
    ) -> _Worker:
        if person_role is None:
            # A few workers are the conjoint on a file whose responsable is not an ESAT worker.
            person_role = "CONJOINT" if self.rng.randint(1, 100) <= 8 else "RESPONSABLE"
        w = _Worker(
            id=self.next_id,
            caf_code=caf_code,
            allocataire=allocataire or self.allocataire(caf_code),
            person_role=person_role,
            last_name=(last_name or self.rng.choice(last_names)).upper(),
            first_name=self.rng.choice(FIRST_NAMES),
            birth_date=self.birth_date(),
            esat_id=esat_id,
            rate_esat=self.rate(),
        )
        self.next_id += 1
        return w


def _demo_esat_workers(people: _People) -> list[_Worker]:
    """620 workers: 2 reference ones, 3 couples, 6 double activities, ~15 % neighbour Caf."""
    rng = people.rng
    workers = []
    # Two ordinary reference workers, alphabetically first on the pilot Caf.
    for last, rate in zip(_REFERENCE_LAST, (Decimal("100.00"), Decimal("80.00")), strict=True):
        w = people.worker(DEMO_ESAT_ID, PILOT_CAF, last_names=(last,), person_role="RESPONSABLE")
        w.rate_esat, w.reference = rate, True
        workers.append(w)
    # Couples: one file (Caf + numéro), a responsable and a conjoint sharing a last name.
    for i in range(DEMO_COUPLES):
        caf = NEIGHBOUR_CAF if i == DEMO_COUPLES - 1 else PILOT_CAF
        number = people.allocataire(caf)
        last = rng.choice(_OTHER_LAST)
        for role in ("RESPONSABLE", "CONJOINT"):
            workers.append(
                people.worker(DEMO_ESAT_ID, caf, allocataire=number, person_role=role, last_name=last)
            )
    while len(workers) < DEMO_WORKERS:
        caf = NEIGHBOUR_CAF if rng.randint(1, 100) <= NEIGHBOUR_SHARE_PERCENT else PILOT_CAF
        workers.append(people.worker(DEMO_ESAT_ID, caf, last_names=_OTHER_LAST))
    # Double activity on single, ordinary workers: part-time ESAT + part-time milieu ordinaire.
    singles = workers[2 + 2 * DEMO_COUPLES :]
    for w in rng.sample(singles, DEMO_DOUBLE_ACTIVITY):
        mo = rng.choice((20, 25, 30, 40, 50))
        esat = rng.choice([r for r in (30, 40, 50, 60, 70, 80) if r + mo <= 100])
        w.rate_mo, w.rate_esat, w.double_activity = (
            Decimal(mo).quantize(CENT),
            Decimal(esat).quantize(CENT),
            True,
        )
        # Known start of the double activity: the first day of a month of 2024 (no extra draw).
        w.double_activity_since = date(2024, 1 + w.id % 12, 1)
    return workers


def _esat_workers(
    people: _People, esat_id: int, caf_code: str, count: int, other_caf_share: int
) -> list[_Worker]:
    rng = people.rng
    other = NEIGHBOUR_CAF if caf_code == PILOT_CAF else PILOT_CAF
    return [
        people.worker(esat_id, other if rng.randint(1, 100) <= other_caf_share else caf_code)
        for _ in range(count)
    ]


def _esat_rows(
    rng: random.Random,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of esat, esat_site and partner_contract."""
    esats, sites, contracts = [], [], []
    sirets: set[str] = set()
    for esat_id in range(1, ESAT_COUNT + 1):
        caf = NEIGHBOUR_CAF if esat_id > ESAT_COUNT - NEIGHBOUR_ESAT_COUNT else PILOT_CAF
        department = caf[:2]
        siret = _siret(rng)
        while siret in sirets:
            siret = _siret(rng)
        sirets.add(siret)
        name = ESAT_NAMES[esat_id - 1]
        esats.append((esat_id, name, siret, caf))
        cities = rng.sample(CITIES[department], 2)
        for rank in range(1, (2 if rng.randint(1, 100) <= 40 else 1) + 1):
            postcode, city = cities[rank - 1]
            site_name = name if rank == 1 else f"{name} – site de {city}"
            street = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
            sites.append((esat_id, rank, _finess(rng, department), site_name, street, postcode, city))
        for kind in CONTRACT_KINDS:
            if esat_id == NO_CONTRACT_ESAT_ID and kind == "bulletin_esat":
                continue  # this ESAT has not joined the ESAT service
            contracts.append((esat_id, kind, CONTRACT_FROM, None))
    return esats, sites, contracts


def _account_rows(password: str) -> tuple[list[tuple[Any, ...]], dict[int, int]]:
    """Account rows and the account id that authored each ESAT's past declarations."""
    named_esat = {
        DEMO_ESAT_LOGIN: DEMO_ESAT_ID,
        SIMPLE_ESAT_LOGIN: SIMPLE_ESAT_ID,
        NO_CONTRACT_ESAT_LOGIN: NO_CONTRACT_ESAT_ID,
    }
    rows: list[tuple[Any, ...]] = []
    author: dict[int, int] = {}
    for account_id, (login, role) in enumerate(DEMO_ACCOUNTS.items(), start=1):
        esat_id = named_esat.get(login)
        caf = PILOT_CAF if role == "agent" else None
        rows.append(
            (
                account_id,
                login,
                login,
                hash_password(password),
                role,
                esat_id,
                caf,
                ACCOUNT_NAMES[login],
                True,
                ACCOUNT_CREATED_AT,
            )
        )
        if esat_id is not None:
            author[esat_id] = account_id
    # The other ESATs get one account each, sharing one hash of the
    # same password (hashing each would cost ~35 ms per account).
    shared = hash_password(password)
    rng = random.Random(SEED + 1)
    for esat_id in range(1, ESAT_COUNT + 1):
        if esat_id in author:
            continue
        account_id = len(rows) + 1
        login = f"esat.{esat_id}@example.org"
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        rows.append((account_id, login, login, shared, "esat", esat_id, None, name, True, ACCOUNT_CREATED_AT))
        author[esat_id] = account_id
    return rows, author


def _declarations(
    workers: list[_Worker], author: dict[int, int], today: date, secret: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Past certificats d'emploi and their values, ids in order of receipt.

    Each campaign has its own random stream (independent of ``today``); the receipt time
    is drawn over the whole window and certificats dated on or after ``today`` are dropped,
    so a campaign still open holds the certificats "already sent". The two reference
    workers never miss a closed campaign and have none in a campaign still open.
    """
    drafts: list[tuple[datetime, int, int, dict[str, Decimal]]] = []
    for year in demo_campaigns(today):
        rng = random.Random(SEED * 10000 + year)
        smic = smic_monthly(date(year, 11, 1))
        still_open = campaign_window(year)[1] >= today
        for w in workers:
            skipped = rng.randint(1, 100) <= SKIP_PERCENT
            received = _received_at(rng, year)
            rg_bp = (rng.randint(RG_MIN_BP, RG_MAX_BP) + rng.randint(RG_MIN_BP, RG_MAX_BP)) // 2
            if w.reference:
                skipped = still_open
            if skipped or received.date() >= today:
                continue
            drafts.append((received, w.id, year, certificat_amounts(smic, w.rate_esat, rg_bp)))
    drafts.sort(key=lambda d: (d[0], d[1]))
    by_id = {w.id: w for w in workers}
    declarations, values = [], []
    for decl_id, (received, worker_id, year, amounts) in enumerate(drafts, start=1):
        w = by_id[worker_id]
        receipt = receipt_number(decl_id, received)
        code = verification_code(secret, receipt, worker_id, amounts)
        declarations.append(
            (
                decl_id,
                receipt,
                FORM_ID,
                FORM_VERSION,
                worker_id,
                w.esat_id,
                w.caf_code,
                author[w.esat_id],
                f"demo-{decl_id}",
                f"{FORM_ID}:{worker_id}:{year}",
                year,
                received,
                code,
            )
        )
        values.extend((decl_id, field, amounts[field]) for field in CERTIFICAT_FIELDS)
    return declarations, values


def is_empty(store: Store) -> bool:
    """True when the store holds no ESAT yet."""
    return not store.scalar("SELECT count(*) FROM esat")


def seed_demo(store: Store, *, today: date, password: str, secret: str) -> None:
    """Fill an EMPTY store with the demo pilot data.

    Deterministic: fixed seed (``random.Random(20261201)``); same inputs give the same rows
    (password hashes aside, which are salted).
    """
    if not is_empty(store):
        raise ValueError("seed_demo needs an empty store")
    rng = random.Random(SEED)
    esats, sites, contracts = _esat_rows(rng)
    people = _People(rng)
    workers = _demo_esat_workers(people)
    workers += _esat_workers(people, SIMPLE_ESAT_ID, PILOT_CAF, SIMPLE_WORKERS, other_caf_share=0)
    for esat_id, _name, _siret, caf in esats[SIMPLE_ESAT_ID:]:
        # A few ESATs (~1 in 10) have some workers attached to the other Caf.
        share = 10 if rng.randint(1, 100) <= 10 else 0
        workers += _esat_workers(people, esat_id, caf, rng.randint(30, 90), share)
    accounts, author = _account_rows(password)
    declarations, values = _declarations(workers, author, today, secret)

    with store.transaction() as tx:
        tx.insert_rows("caf", ("code", "name"), list(CAF_NAMES.items()))
        tx.insert_rows("esat", ("id", "legal_name", "siret", "caf_code"), esats)
        tx.insert_rows(
            "esat_site", ("esat_id", "rank", "finess", "name", "street", "postcode", "city"), sites
        )
        tx.insert_rows("partner_contract", ("esat_id", "kind", "valid_from", "valid_to"), contracts)
        tx.insert_rows(
            "account",
            (
                "id",
                "login",
                "email",
                "password_hash",
                "role",
                "esat_id",
                "caf_code",
                "display_name",
                "active",
                "created_at",
            ),
            accounts,
        )
        tx.insert_rows(
            "cgu_version",
            ("scope", "version", "title", "body", "published_on"),
            [(scope, 1, title, body, CGU_PUBLISHED_ON) for scope, (title, body) in CGU_TEXTS.items()],
        )
        tx.insert_rows("worker", WORKER_COLUMNS, [w.row() for w in workers])
        tx.insert_rows("declaration", DECLARATION_COLUMNS, declarations)
        tx.insert_rows("declaration_value", ("declaration_id", "field_id", "number"), values)
        _restart_sequence(tx, "declaration_seq", len(declarations) + 1)


def _restart_sequence(tx: Tx, name: str, start: int) -> None:
    """Make ``nextval(name)`` return ``start`` (DuckDB cannot ALTER a sequence's value).

    Dropping fails if a column default ever uses the sequence; none does (001_initial.sql).
    """
    tx.execute(f"DROP SEQUENCE {name}")
    tx.execute(f"CREATE SEQUENCE {name} START {int(start)}")


def summary(store: Store) -> str:
    """One line of counts (never names)."""
    counts = {
        table: store.scalar(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant names
        for table in ("caf", "esat", "account", "worker", "declaration", "declaration_value")
    }
    return ", ".join(f"{n} {table}" for table, n in counts.items())


def main() -> None:
    """``python -m data.demo``: seed the configured database when it is empty."""
    from services.config import load_settings

    settings = load_settings()
    store = Store(settings.db)
    try:
        if is_empty(store):
            started = time.perf_counter()
            seed_demo(
                store,
                today=settings.today or date.today(),
                password=settings.demo_password,
                secret=settings.secret,
            )
            elapsed = time.perf_counter() - started
            print(f"Demo data seeded in {elapsed:.1f} s: {summary(store)}")
        else:
            print(f"Store not empty, nothing seeded: {summary(store)}")
    finally:
        store.close()


if __name__ == "__main__":
    main()
