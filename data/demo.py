"""Deterministic synthetic demo data for the pilot (no Streamlit here).

``seed_demo`` fills an empty store with two Cafs, about twenty ESATs, their
sites and partner contracts, the demo accounts, the CGU texts, ~1,900 workers,
three campaigns of past certificats d'emploi and three years of changes of
situation (departures, rate changes, double activities) that the workers' state
follows, ~90 % of the pilot Caf's older declarations marked processed, and avis
on the demo ESAT's declarations. ``seed_national`` does the same at national
scale (101 Cafs, 1,500 ESATs, 120,000 workers) for load and dashboard
benchmarks. Every name, number and address is made up; the same inputs always
give the same rows (fixed ``random.Random`` seeds, no clock reads: ``today`` is
a parameter).

Run ``python -m data.demo`` to seed the database named by ``ESAT_DB``, or
``python -m data.demo --national PATH`` to write a national-scale store to PATH.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from data import cgu
from data.store import Store, Tx, open_or_exit
from data.values import value_rows
from forms import FormDefinition, load_all
from rules import checks, engine
from services import timeline
from services.declarations import derived_json, known_before
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
ADMIN_LOGIN = "admin.caf@example.org"

DEMO_ACCOUNTS: dict[str, str] = {
    DEMO_ESAT_LOGIN: "esat",
    SIMPLE_ESAT_LOGIN: "esat",
    NO_CONTRACT_ESAT_LOGIN: "esat",
    AGENT_LOGIN: "agent",
    REVIEWER_LOGIN: "relecteur",
    ADMIN_LOGIN: "admin",
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
CERTIFICAT_FIELDS = ("remuneration_garantie", "aide_au_poste", "part_esat")

CONTRACT_KINDS = ("convention", "contrat_services", "bulletin_esat")
CONTRACT_FROM = date(2025, 1, 1)
ACCOUNT_CREATED_AT = datetime(2025, 1, 2, 9, 0)

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
    ADMIN_LOGIN: "Yann Trichet",
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
    status: str = "ACTIVE"
    return_date: date | None = None
    changes: list[_Change] = field(default_factory=list)  # its history, in order
    entry_date: date | None = None  # date d'entrée à l'ESAT (None: unknown)
    baseline: dict[str, Any] | None = None  # its state before its history (the worker row)

    def state(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in timeline.STATE}

    def row(self) -> tuple[Any, ...]:
        """The worker row holds the baseline: its changes are read from the declarations."""
        base = self.baseline or self.state()
        return (
            self.id,
            self.caf_code,
            self.allocataire,
            self.person_role,
            self.last_name,
            self.first_name,
            self.birth_date,
            self.esat_id,
            base["rate_esat"],
            base["rate_mo"],
            base["double_activity"],
            base["status"],
            base["double_activity_since"],
            base["return_date"],
            self.entry_date,
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
    "return_date",
    "entry_date",
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
    "effective_date",
    "processed_at",
    "processed_by",
    "effects",
    "known_before",
    "derived",
)
ACCOUNT_COLUMNS = (
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
)
VALUE_COLUMNS = ("declaration_id", "field_id", "number", "day", "text")
FEEDBACK_COLUMNS = ("id", "declaration_id", "account_id", "rating", "comment", "created_at")


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
        caf = PILOT_CAF if role in ("agent", "admin") else None
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


# --------------------------------------------------------------------------------------
# Changes of situation: the last three years of each worker
# --------------------------------------------------------------------------------------

HISTORY_SEED = SEED + 2
PROCESSING_SEED = SEED + 3
FEEDBACK_SEED = SEED + 4
HISTORY_YEARS = 3
# Yearly hazards per worker. DOMAIN §6: ~6 % of the headcount leaves each year; 10-20k rate
# changes a year for 120k workers (ASSUMPTION: 10 %); double activity concerns 1-3 % of the
# workers (ASSUMPTION for its starts, changes and ends).
DEPARTURES_PER_YEAR = 0.06
RATE_CHANGES_PER_YEAR = 0.10
DOUBLE_STARTS_PER_YEAR = 0.008
DOUBLE_CHANGES_PER_YEAR = 0.15  # for a worker in double activity
DOUBLE_ENDS_PER_YEAR = 0.20  # for a worker in double activity
# The demo ESAT keeps at least 95 % of its workers active: its screens are the ones shown.
DEMO_ESAT_DEPARTURES_PER_YEAR = 0.012
# Relative weights of the motifs of rules/listes.yaml (DOMAIN §4: half of the exits go to
# another medico-social establishment, retirement grows; < 1 %/year to milieu ordinaire).
# A motif added to the list later gets weight 1.
MOTIF_WEIGHTS = {
    "admission_autre_esat": 22,
    "fin_prise_en_charge": 18,
    "retraite": 16,
    "demission": 11,
    "fin_periode_essai": 8,
    "emploi_milieu_ordinaire": 7,
    "entreprise_adaptee": 5,
    "deces": 3,
    "conge_parental_education": 4,
    "conge_presence_parentale": 2,
    "autre": 4,
}
LEAVE_MOTIFS = ("conge_parental_education", "conge_presence_parentale")
# A double activity that ends with the ESAT side: the worker keeps the outside job.
DOUBLE_END_MOTIFS = (("emploi_milieu_ordinaire", 70), ("entreprise_adaptee", 20), ("demission", 10))
RATE_STEPS = tuple(Decimal(r).quantize(CENT) for r in (30, 40, 50, 60, 70, 80, 90, 100))
DOUBLE_ESAT_STEPS = tuple(Decimal(r).quantize(CENT) for r in (30, 40, 50, 60, 70, 80))
DOUBLE_MO_STEPS = tuple(Decimal(r).quantize(CENT) for r in (20, 25, 30, 40, 50))
ZERO = Decimal("0.00")

RATE_CHANGE = "modification_activite"
DEPARTURE = "depart_esat"
DOUBLE_START = "debut_double_activite"
DOUBLE_CHANGE = "modification_double_activite"
DOUBLE_END = "fin_double_activite"
CHANGE_FORMS = (RATE_CHANGE, DEPARTURE, DOUBLE_START, DOUBLE_CHANGE, DOUBLE_END)

# Processing by the Caf agents: ~90 % of what is older than 30 days, a few hours to 10 days
# after receipt; the rest (and everything more recent) waits in the inbox.
PROCESSED_PERCENT = 90
PROCESSING_AGE_DAYS = 30

# Avis left right after filing: ~15 % of the demo ESAT's declarations of the last two years.
FEEDBACK_PERCENT = 15
FEEDBACK_DAYS = 730
FEEDBACK_RATING_WEIGHTS = ((5, 50), (4, 32), (3, 10), (2, 5), (1, 3))
FEEDBACK_EMPTY_PERCENT = 40
FEEDBACK_COMMENTS = {
    5: (
        "Simple et rapide.",
        "Très clair, merci.",
        "Rien à redire.",
        "Bien plus rapide que le formulaire papier.",
        "Saisie facile, récapitulatif utile.",
    ),
    4: (
        "Pratique. Un rappel avant le 15 janvier serait utile.",
        "Clair dans l'ensemble.",
        "Bien, mais la liste des travailleurs est longue.",
        "Le justificatif PDF est pratique.",
    ),
    3: (
        "Correct, mais il faut chercher le bon formulaire.",
        "Un peu long quand on a beaucoup de travailleurs.",
    ),
    2: (
        "Je ne savais pas quel motif choisir.",
        "Les taux avant et après prêtent à confusion.",
    ),
    1: (
        "Impossible de corriger une erreur après l'envoi.",
        "Trop d'étapes pour un simple changement.",
    ),
}


@dataclass
class _Change:
    """One filed change of situation, and the worker's state once it applies."""

    worker_id: int
    form_id: str
    effective: date
    received: datetime
    values: dict[str, Any]  # typed values of the visible fields, as ``rules.validate`` returns them
    rate_esat: Decimal | None  # the worker's ESAT rate once applied
    status: str
    return_date: date | None
    effects: dict[str, Any] = field(default_factory=dict)  # what it changes (the form's effects)
    known: dict[str, Any] = field(default_factory=dict)  # the worker's state before it


def years_before(day: date, years: int) -> date:
    """Same day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def history_start(today: date) -> date:
    """First day of the change history: three years before ``today``."""
    return years_before(today, HISTORY_YEARS)


def _office_time(rng: random.Random, day: date) -> datetime:
    """Office hours in Paris, stored as naive UTC: 07:00-16:59."""
    return datetime(day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59), rng.randint(0, 59))


def _first_of_month(day: date) -> date:
    """``day`` if it is a first of month, else the first day of the next month."""
    if day.day == 1:
        return day
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _motifs() -> tuple[tuple[str, ...], tuple[int, ...]]:
    values = tuple(o.value for o in checks.reference_list("motifs_depart"))
    return values, tuple(MOTIF_WEIGHTS.get(v, 1) for v in values)


def _rate_change(rng: random.Random, w: _Worker, day: date) -> dict[str, Any]:
    current = w.rate_esat
    up = current < RATE_STEPS[-1] and (current <= RATE_STEPS[0] or rng.randint(1, 100) <= 55)
    new = rng.choice([r for r in RATE_STEPS if (r > current if up else r < current)])
    return {
        "sens": "augmentation" if up else "reduction",
        "date_changement": day,
        "taux_avant": current,
        "nouveau_taux": new,
        "certification": True,
    }


def _departure(
    rng: random.Random, day: date, motifs: tuple[tuple[str, ...], tuple[int, ...]]
) -> dict[str, Any]:
    motif = rng.choices(motifs[0], weights=motifs[1])[0]
    values: dict[str, Any] = {"date_depart": day, "motif_depart": motif}
    if motif in LEAVE_MOTIFS:  # expected return: 4 to 30 months later (at most 3 years)
        values["date_retour_prevue"] = checks.add_months(day, rng.randint(4, 30))
    return values


def _double_start(rng: random.Random, w: _Worker, day: date) -> dict[str, Any] | None:
    mo = rng.choice(DOUBLE_MO_STEPS)
    options = [r for r in DOUBLE_ESAT_STEPS if r + mo <= HUNDRED and r <= w.rate_esat]
    if not options:
        return None
    return {
        "date_debut": day,
        "taux_esat_avant": w.rate_esat,
        "taux_esat_apres": rng.choice(options),
        "taux_milieu_ordinaire": mo,
    }


def _double_change(rng: random.Random, w: _Worker, day: date) -> dict[str, Any]:
    new = rng.choice([r for r in DOUBLE_ESAT_STEPS if r != w.rate_esat])
    return {
        "date_modification": day,
        "taux_esat_avant": w.rate_esat,
        "taux_mo_avant": w.rate_mo,
        "taux_esat_apres": new,
        "taux_mo_apres": rng.choice([m for m in DOUBLE_MO_STEPS if m + new <= HUNDRED]),
        "certification": True,
    }


def _double_end(rng: random.Random, w: _Worker, day: date) -> dict[str, Any]:
    values: dict[str, Any] = {"date_fin": day, "taux_esat_avant": w.rate_esat, "taux_mo_avant": w.rate_mo}
    if rng.randint(1, 100) <= 60:  # the outside job ends: back to the ESAT only
        values["taux_esat_apres"] = rng.choice([r for r in RATE_STEPS if r >= (w.rate_esat or ZERO)])
        values["taux_mo_apres"] = ZERO
    else:  # the worker leaves the ESAT and keeps (or extends) the outside job
        mo = w.rate_mo or DOUBLE_MO_STEPS[0]
        values["taux_esat_apres"] = ZERO
        values["taux_mo_apres"] = rng.choice([r for r in (mo, Decimal("80.00"), RATE_STEPS[-1]) if r >= mo])
        values["motif_depart"] = rng.choices(
            [m for m, _ in DOUBLE_END_MOTIFS], weights=[n for _, n in DOUBLE_END_MOTIFS]
        )[0]
    return values


def visible_values(form: FormDefinition, values: dict[str, Any]) -> dict[str, Any]:
    """What ``rules.validate`` returns for this payload: every visible field (None if empty),
    numbers to the cent (their ``str`` is signed in the verification code)."""
    shown = {f.id: values.get(f.id) for f in engine.visible_fields(form, values)}
    return {k: v.quantize(CENT) if isinstance(v, Decimal) else v for k, v in shown.items()}


def _history(
    rng: random.Random,
    w: _Worker,
    start: date,
    end: date,
    forms: dict[str, FormDefinition],
    motifs: tuple[tuple[str, ...], tuple[int, ...]],
    *,
    departures: float = DEPARTURES_PER_YEAR,
    double_starts: float = DOUBLE_STARTS_PER_YEAR,
) -> None:
    """Draw the worker's changes between ``start`` and ``end`` (excluded) and apply them.

    Events follow yearly hazards that depend on the worker's state; each declaration is
    filed from 25 days before to 45 days after its date of effect, after the previous one,
    and only if received before ``end``. The effects are those of the form (``engine``).
    """
    day = start
    last_received = start - timedelta(days=1)
    if w.baseline is None:
        w.baseline = w.state()
    while w.status == "ACTIVE":
        if w.double_activity:
            hazards = ((DOUBLE_CHANGE, DOUBLE_CHANGES_PER_YEAR), (DOUBLE_END, DOUBLE_ENDS_PER_YEAR))
        else:
            hazards = (
                (DEPARTURE, departures),
                (RATE_CHANGE, RATE_CHANGES_PER_YEAR),
                (DOUBLE_START, double_starts),
            )
        hazards = tuple(h for h in hazards if h[1] > 0)
        day += timedelta(days=1 + int(rng.expovariate(sum(h for _, h in hazards)) * 365.25))
        if day >= end:
            return
        kind = rng.choices([k for k, _ in hazards], weights=[h for _, h in hazards])[0]
        if kind != DEPARTURE:  # rates change on the first of a month
            day = _first_of_month(day)
        if kind == DOUBLE_START:
            day = max(day, date(2023, 1, 1))  # double activity exists since 1 January 2023
        received_day = max(day + timedelta(days=rng.randint(-25, 45)), last_received + timedelta(days=1))
        if received_day >= end:
            return
        if kind == RATE_CHANGE:
            payload = _rate_change(rng, w, day)
        elif kind == DEPARTURE:
            payload = _departure(rng, day, motifs)
        elif kind == DOUBLE_START:
            payload = _double_start(rng, w, day)
        elif kind == DOUBLE_CHANGE:
            payload = _double_change(rng, w, day)
        else:
            payload = _double_end(rng, w, day)
        if payload is None:
            continue
        _apply(w, forms[kind], day, _office_time(rng, received_day), payload)
        last_received = received_day


def _apply(w: _Worker, form: FormDefinition, day: date, received: datetime, payload: dict[str, Any]) -> None:
    """File one change for the worker: its effects (``engine``) move the worker's state."""
    if w.baseline is None:
        w.baseline = w.state()
    values = visible_values(form, payload)
    known, effects = w.state(), engine.state_changes(form, values)
    for column, value in effects.items():
        setattr(w, column, value)
    w.changes.append(
        _Change(w.id, form.id, day, received, values, w.rate_esat, w.status, w.return_date, effects, known)
    )


def _histories(workers: list[_Worker], today: date) -> None:
    """Changes of the last three years for every worker but the fixed ones of the demo ESAT."""
    rng = random.Random(HISTORY_SEED)
    forms, motifs = load_all(), _motifs()
    start = history_start(today)
    for w in workers:
        if w.esat_id == DEMO_ESAT_ID:
            if w.reference or w.double_activity:
                continue  # the other tests rely on them as they are
            _history(
                rng, w, start, today, forms, motifs, departures=DEMO_ESAT_DEPARTURES_PER_YEAR, double_starts=0
            )
        else:
            _history(rng, w, start, today, forms, motifs)


ENTRY_SEED = SEED + 5
UNKNOWN_ENTRY_PERCENT = 3  # workers whose date d'entrée the Caf's file does not give
DECEMBER_ENTRANTS = 3  # pilot Caf workers entering the ESAT in December of the last campaign
OCTOBER_LEAVERS = 3  # pilot Caf workers who left on 31 October of the last campaign (+ one on 10 December)


def _entries(workers: list[_Worker], today: date) -> None:
    """Entry dates, most long before the history, a few unknown; and the edges of the last
    campaign's November (issue 12, point 9): a few workers entering in December, a few who left
    on 31 October (no certificat expected), one who left on 10 December (still expected)."""
    rng = random.Random(ENTRY_SEED)
    latest = date(today.year - 4, 11, 30)  # before the first demo campaign and the history
    for w in workers:
        if not w.reference and rng.randint(1, 100) <= UNKNOWN_ENTRY_PERCENT:
            continue
        earliest = min(max(date(1990, 1, 1), w.birth_date + timedelta(days=18 * 365)), latest)
        w.entry_date = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
    campaign = demo_campaigns(today)[-1]
    december = date(campaign, 12, 1)
    quiet = [
        w
        for w in workers
        if w.esat_id > NO_CONTRACT_ESAT_ID
        and w.caf_code == PILOT_CAF
        and not w.changes
        and not w.double_activity
    ]
    for i, w in enumerate(quiet[:DECEMBER_ENTRANTS]):
        w.entry_date = min(december + timedelta(days=i), today - timedelta(days=1))
    departure = load_all()[DEPARTURE]
    leavers = [(date(campaign, 10, 31), date(campaign, 10, 15))] * OCTOBER_LEAVERS
    leavers.append((date(campaign, 12, 10), december))
    for w, (day, received) in zip(quiet[DECEMBER_ENTRANTS:], leavers, strict=False):
        _apply(
            w, departure, day, _office_time(rng, received), {"date_depart": day, "motif_depart": "demission"}
        )


def situation_on(initial_rate: Decimal, changes: Sequence[_Change], day: date) -> tuple[Decimal, bool]:
    """The worker's ESAT rate on ``day`` and whether they work in the ESAT that day."""
    rate, present = initial_rate, True
    for c in changes:
        if c.effective > day:
            break
        rate = c.rate_esat if c.rate_esat is not None else rate
        present = c.status == "ACTIVE" or (
            c.status == "ON_LEAVE" and c.return_date is not None and c.return_date <= day
        )
    return rate, present


def stored_values(form: FormDefinition, declaration_id: int, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``declaration_value`` rows exactly as a real filing writes them."""
    return value_rows(form, declaration_id, values)


def _processing_delay(rng: random.Random) -> timedelta:
    """A few hours (same day) to ten days."""
    pick = rng.randint(1, 100)
    if pick <= 45:
        minutes = rng.randint(60, 8 * 60)
    elif pick <= 85:
        minutes = rng.randint(8 * 60, 3 * 24 * 60)
    else:
        minutes = rng.randint(3 * 24 * 60, 10 * 24 * 60)
    return timedelta(minutes=minutes)


def _feedback_comment(rng: random.Random, rating: int) -> str | None:
    if rng.randint(1, 100) <= FEEDBACK_EMPTY_PERCENT:
        return None
    return rng.choice(FEEDBACK_COMMENTS[rating])


def _declarations(
    workers: list[_Worker],
    initial_rates: dict[int, Decimal],
    author: dict[int, int],
    agents: dict[str, int],
    today: date,
    secret: str,
    *,
    campaigns: Sequence[int] | None = None,
    feedback_esats: Set[int] | None = frozenset({DEMO_ESAT_ID}),
    feedback_percent: int = FEEDBACK_PERCENT,
) -> tuple[list[list[Any]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Past certificats and changes, their values and the avis on them; ids in order of receipt.

    Each campaign has its own random stream (independent of ``today``); the receipt time
    is drawn over the whole window and certificats dated on or after ``today`` are dropped,
    so a campaign still open holds the certificats "already sent". A worker who had left the
    ESAT (or was on leave) on 30 November has no certificat for that campaign; the amounts
    follow the rate in force on that day. The two reference workers never miss a closed
    campaign and have none in a campaign still open.
    """
    drafts: list[tuple[datetime, int, int, Any]] = []
    for year in demo_campaigns(today) if campaigns is None else campaigns:
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
            if w.entry_date is not None and w.entry_date > date(year, 11, 30):
                continue  # entered the ESAT after November: no pay of November to certify
            rate, present = situation_on(initial_rates[w.id], w.changes, date(year, 11, 30))
            if present:
                drafts.append((received, w.id, 0, (year, certificat_amounts(smic, rate, rg_bp), rate)))
    for w in workers:
        drafts.extend((c.received, w.id, 1, c) for c in w.changes)
    drafts.sort(key=lambda d: (d[0], d[1], d[2]))
    by_id = {w.id: w for w in workers}
    forms = load_all()
    declarations: list[list[Any]] = []
    values: list[tuple[Any, ...]] = []
    for decl_id, (received, worker_id, kind, draft) in enumerate(drafts, start=1):
        w = by_id[worker_id]
        receipt = receipt_number(decl_id, received)
        if kind == 0:
            year, amounts, rate = draft
            form_id, campaign, effective, key = FORM_ID, year, None, f"{FORM_ID}:{worker_id}:{year}"
            signed: dict[str, Any] = amounts
            effects, known = None, None
            # As filing stores them: computed once, with the rate of 30 November.
            november = engine.derived(forms[FORM_ID], amounts, date(year, 11, 30), {"rate_esat": rate})
            derived = derived_json(forms[FORM_ID], november)
            values.extend((decl_id, f, amounts[f], None, None) for f in CERTIFICAT_FIELDS)
        else:
            change: _Change = draft
            form_id, campaign, effective = change.form_id, None, change.effective
            key = f"{form_id}:{worker_id}:{effective}"
            signed = change.values
            values.extend(stored_values(forms[form_id], decl_id, change.values))
            effects, known = timeline.encode(change.effects), known_before(change.known)
            derived = derived_json(forms[form_id], {})
        declarations.append(
            [
                decl_id,
                receipt,
                form_id,
                forms[form_id].version,
                worker_id,
                w.esat_id,
                w.caf_code,
                author[w.esat_id],
                f"demo-{decl_id}",
                key,
                campaign,
                received,
                verification_code(secret, receipt, worker_id, signed),
                effective,
                None,
                None,
                effects,
                known,
                derived,
            ]
        )
    _mark_processed(declarations, agents, today)
    feedback = _feedback(declarations, feedback_esats, today, feedback_percent)
    return declarations, values, feedback


_RECEIVED, _PROCESSED_AT, _PROCESSED_BY = (
    DECLARATION_COLUMNS.index(c) for c in ("received_at", "processed_at", "processed_by")
)


def _mark_processed(declarations: list[list[Any]], agents: dict[str, int], today: date) -> None:
    """~90 % of the declarations older than 30 days of each Caf that has an agent: processed."""
    rng = random.Random(PROCESSING_SEED)
    limit = datetime.combine(today - timedelta(days=PROCESSING_AGE_DAYS), datetime.min.time())
    caf = DECLARATION_COLUMNS.index("caf_code")
    for d in declarations:
        agent = agents.get(d[caf])
        if agent is None or d[_RECEIVED] >= limit:
            continue
        if rng.randint(1, 100) <= PROCESSED_PERCENT:
            d[_PROCESSED_AT] = d[_RECEIVED] + _processing_delay(rng)
            d[_PROCESSED_BY] = agent


def _feedback(
    declarations: list[list[Any]], esat_ids: Set[int] | None, today: date, percent: int
) -> list[tuple[Any, ...]]:
    """Avis on ``percent`` % of the declarations of the last two years (of ``esat_ids``)."""
    rng = random.Random(FEEDBACK_SEED)
    since = datetime.combine(today - timedelta(days=FEEDBACK_DAYS), datetime.min.time())
    esat, author = DECLARATION_COLUMNS.index("esat_id"), DECLARATION_COLUMNS.index("author_id")
    ratings, weights = zip(*FEEDBACK_RATING_WEIGHTS, strict=True)
    rows: list[tuple[Any, ...]] = []
    for d in declarations:
        if d[_RECEIVED] < since or (esat_ids is not None and d[esat] not in esat_ids):
            continue
        if rng.randint(1, 100) > percent:
            continue
        rating = rng.choices(ratings, weights=weights)[0]
        created = d[_RECEIVED] + timedelta(minutes=rng.randint(1, 15))
        rows.append((len(rows) + 1, d[0], d[author], rating, _feedback_comment(rng, rating), created))
    return rows


def is_empty(store: Store) -> bool:
    """True when the store holds no ESAT yet."""
    return not store.scalar("SELECT count(*) FROM esat")


def seed_demo(store: Store, *, today: date, password: str, secret: str) -> None:
    """Fill an EMPTY store with the demo pilot data.

    Deterministic: fixed seeds (``random.Random(20261201)`` and derived ones); same inputs
    give the same rows (password hashes aside, which are salted).
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
    agents = {row[6]: row[0] for row in accounts if row[4] == "agent"}
    initial_rates = {w.id: w.rate_esat for w in workers}
    _histories(workers, today)
    _entries(workers, today)
    declarations, values, feedback = _declarations(workers, initial_rates, author, agents, today, secret)

    with store.transaction() as tx:
        _insert_all(
            tx,
            cafs=list(CAF_NAMES.items()),
            esats=esats,
            sites=sites,
            contracts=contracts,
            accounts=accounts,
            workers=[w.row() for w in workers],
            declarations=declarations,
            values=values,
            feedback=feedback,
        )


def _insert(tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``Tx.insert_rows`` in chunks, DECIMAL values passed as text.

    ``insert_rows`` hands DuckDB an object-typed DataFrame whose column type DuckDB infers from
    a sample: Decimals 80.00 there make it DECIMAL(4,2) and a later 100.00 fails. Text is cast
    exactly to the column's own DECIMAL type.
    """
    for i in range(0, len(rows), INSERT_CHUNK):
        chunk = [
            tuple(str(v) if isinstance(v, Decimal) else v for v in row) for row in rows[i : i + INSERT_CHUNK]
        ]
        tx.insert_rows(table, columns, chunk)


INSERT_CHUNK = 250_000


def _insert_all(
    tx: Tx,
    *,
    cafs: Sequence[tuple[str, str]],
    esats: Sequence[tuple[Any, ...]],
    sites: Sequence[tuple[Any, ...]],
    contracts: Sequence[tuple[Any, ...]],
    accounts: Sequence[tuple[Any, ...]],
    workers: Sequence[tuple[Any, ...]],
    declarations: Sequence[Sequence[Any]],
    values: Sequence[tuple[Any, ...]],
    feedback: Sequence[tuple[Any, ...]],
) -> None:
    """Every generated row, then the sequences moved past the ids used."""
    _insert(tx, "caf", ("code", "name"), cafs)
    _insert(tx, "esat", ("id", "legal_name", "siret", "caf_code"), esats)
    _insert(tx, "esat_site", ("esat_id", "rank", "finess", "name", "street", "postcode", "city"), sites)
    _insert(tx, "partner_contract", ("esat_id", "kind", "valid_from", "valid_to"), contracts)
    _insert(tx, "account", ACCOUNT_COLUMNS, accounts)
    tx.execute("UPDATE account SET demo = TRUE")  # usable in demo mode only (AUTH-08)
    cgu.publish_defaults(tx)
    _insert(tx, "worker", WORKER_COLUMNS, workers)
    _insert(tx, "declaration", DECLARATION_COLUMNS, declarations)
    _insert(tx, "declaration_value", VALUE_COLUMNS, values)
    _insert(tx, "feedback", FEEDBACK_COLUMNS, feedback)
    _restart_sequence(tx, "declaration_seq", len(declarations) + 1)
    _restart_sequence(tx, "feedback_seq", len(feedback) + 1)


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
        for table in ("caf", "esat", "account", "worker", "declaration", "declaration_value", "feedback")
    }
    return ", ".join(f"{n} {table}" for table, n in counts.items())


# --------------------------------------------------------------------------------------
# National scale (load and dashboard benchmarks)
# --------------------------------------------------------------------------------------

NATIONAL_SEED = SEED + 100
# 101 Cafs (DOMAIN §5): one per department, two for the Pyrénées-Atlantiques, none for
# Mayotte (served by the CSSM). Codes: department + "1" (ASSUMPTION, see PILOT_CAF).
_DEPARTMENTS_TEXT = """
01 Ain|02 Aisne|03 Allier|04 Alpes-de-Haute-Provence|05 Hautes-Alpes|06 Alpes-Maritimes
07 Ardèche|08 Ardennes|09 Ariège|10 Aube|11 Aude|12 Aveyron|13 Bouches-du-Rhône|14 Calvados
15 Cantal|16 Charente|17 Charente-Maritime|18 Cher|19 Corrèze|2A Corse-du-Sud|2B Haute-Corse
21 Côte-d'Or|22 Côtes-d'Armor|23 Creuse|24 Dordogne|25 Doubs|26 Drôme|27 Eure|28 Eure-et-Loir
29 Finistère|30 Gard|31 Haute-Garonne|32 Gers|33 Gironde|34 Hérault|35 Ille-et-Vilaine|36 Indre
37 Indre-et-Loire|38 Isère|39 Jura|40 Landes|41 Loir-et-Cher|42 Loire|43 Haute-Loire
44 Loire-Atlantique|45 Loiret|46 Lot|47 Lot-et-Garonne|48 Lozère|49 Maine-et-Loire|50 Manche
51 Marne|52 Haute-Marne|53 Mayenne|54 Meurthe-et-Moselle|55 Meuse|56 Morbihan|57 Moselle
58 Nièvre|59 Nord|60 Oise|61 Orne|62 Pas-de-Calais|63 Puy-de-Dôme|64 Pyrénées-Atlantiques
65 Hautes-Pyrénées|66 Pyrénées-Orientales|67 Bas-Rhin|68 Haut-Rhin|69 Rhône|70 Haute-Saône
71 Saône-et-Loire|72 Sarthe|73 Savoie|74 Haute-Savoie|75 Paris|76 Seine-Maritime
77 Seine-et-Marne|78 Yvelines|79 Deux-Sèvres|80 Somme|81 Tarn|82 Tarn-et-Garonne|83 Var
84 Vaucluse|85 Vendée|86 Vienne|87 Haute-Vienne|88 Vosges|89 Yonne|90 Territoire de Belfort
91 Essonne|92 Hauts-de-Seine|93 Seine-Saint-Denis|94 Val-de-Marne|95 Val-d'Oise
971 Guadeloupe|972 Martinique|973 Guyane|974 La Réunion
"""
NATIONAL_OTHER_CAF_ESATS = 10  # % of ESATs with some workers on another Caf (DOMAIN §6: 5-15 %)
NATIONAL_DOUBLE_ACTIVITY = 2  # % of workers in double activity at the start (DOMAIN §6: 1-3 %)
NATIONAL_FEEDBACK_PERCENT = 3  # avis on 3 % of the declarations of the last two years


def _departments() -> list[tuple[str, str]]:
    items = (i.strip() for i in _DEPARTMENTS_TEXT.replace("\n", "|").split("|"))
    return [(i.split(" ", 1)[0], i.split(" ", 1)[1]) for i in items if i]


def national_cafs() -> list[tuple[str, str]]:
    """The 101 (code, name) of the national reference table; 441 and 491 as in the demo."""
    cafs = []
    for department, name in _departments():
        if department == "64":
            cafs += [("641", f"Caf des {name} (Pau)"), ("642", f"Caf des {name} (Bayonne)")]
            continue
        (code,) = _caf_codes(department)
        elided = "l'" if name[0] in "AEIOUYÉÈ" else ""
        cafs.append((code, CAF_NAMES.get(code) or f"Caf de {elided}{name}"))
    return cafs


def _caf_codes(department: str) -> tuple[str, ...]:
    if department == "64":
        return ("641", "642")
    return (department if len(department) == 3 else department + "1",)


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Positive integers summing to ``total``, in proportion to ``weights``."""
    count = len(weights)
    scale = (total - count) / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    for i in range(total - sum(sizes)):  # the rounding remainder, one each
        sizes[i % count] += 1
    return sizes


def _national_site(
    rng: random.Random, esat_id: int, name: str, caf: str, department_name: str
) -> tuple[Any, ...]:
    department = caf[:2]
    if department in ("2A", "2B"):  # Corsica: no Luhn key assumed (DOMAIN §5)
        finess = department + "".join(str(rng.randint(0, 9)) for _ in range(7))
        postcode = "20" + f"{rng.randint(0, 999):03d}"
    else:
        finess = _finess(rng, department)
        postcode = (
            caf if len(caf) == 3 and caf.startswith("97") else department + "0"
        ) + f"{rng.randint(0, 99):02d}"
    city = CITIES[department][0][1] if department in CITIES else department_name
    street = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
    return (esat_id, 1, finess, name, street, postcode, city)


def seed_national(
    store: Store,
    *,
    today: date,
    secret: str,
    esats: int = 1500,
    workers: int = 120_000,
    years: int = 3,
    password: str | None = None,
) -> dict[str, float]:
    """Fill an EMPTY store at national scale: ~101 Cafs, ``esats`` ESATs, ``workers`` workers,
    ``years`` of certificats and changes, processing and avis. Returns the seconds per step.

    Same rules as ``seed_demo`` (the change history, certificats, processing and avis come
    from the same functions); every Caf has one agent (``agent.<code>@example.org``) and
    every ESAT one account, all sharing one password hash (argon2 is too slow for 1,600).
    Without ``password`` nobody can log in. Deterministic apart from that hash.
    """
    if not is_empty(store):
        raise ValueError("seed_national needs an empty store")
    if esats < 2 or workers < esats or years < 1:
        raise ValueError("seed_national needs esats >= 2, workers >= esats, years >= 1")
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    rng = random.Random(NATIONAL_SEED)
    cafs = national_cafs()
    department_names = {code: name for department, name in _departments() for code in _caf_codes(department)}
    others = [c for c, _ in cafs if c not in (PILOT_CAF, NEIGHBOUR_CAF)]
    used = [PILOT_CAF, NEIGHBOUR_CAF, *sorted(rng.sample(others, min(len(cafs), max(2, esats // 3)) - 2))]
    caf_weights = [rng.lognormvariate(0.0, 0.5) for _ in used]
    # The pilot Caf is a large one (Loire-Atlantique: ~2 % of the population, twice the mean).
    caf_weights[0] = 2 * sum(caf_weights) / len(caf_weights)
    per_caf = _allocate(esats, caf_weights)

    esat_rows, sites, contracts, esat_caf = [], [], [], {}
    sirets: set[str] = set()
    esat_id = 0
    for caf, count in zip(used, per_caf, strict=True):
        for _ in range(count):
            esat_id += 1
            siret = _siret(rng)
            while siret in sirets:
                siret = _siret(rng)
            sirets.add(siret)
            name = f"{ESAT_NAMES[(esat_id - 1) % len(ESAT_NAMES)]} n° {esat_id}"
            esat_rows.append((esat_id, name, siret, caf))
            esat_caf[esat_id] = caf
            sites.append(_national_site(rng, esat_id, name, caf, department_names[caf]))
            contracts += [(esat_id, kind, CONTRACT_FROM, None) for kind in CONTRACT_KINDS]

    shared = hash_password(password or secrets.token_urlsafe(24))
    accounts: list[tuple[Any, ...]] = []
    agents: dict[str, int] = {}
    for code, _name in cafs:
        login = f"agent.{code}@example.org"
        agents[code] = len(accounts) + 1
        person = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        accounts.append(
            (agents[code], login, login, shared, "agent", None, code, person, True, ACCOUNT_CREATED_AT)
        )
    author: dict[int, int] = {}
    for esat_id in esat_caf:
        login = f"esat.{esat_id}@example.org"
        author[esat_id] = len(accounts) + 1
        person = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        accounts.append(
            (author[esat_id], login, login, shared, "esat", esat_id, None, person, True, ACCOUNT_CREATED_AT)
        )

    people = _People(rng)
    staff: list[_Worker] = []
    neighbour = {caf: used[(i + 1) % len(used)] for i, caf in enumerate(used)}
    for esat_id, size in zip(
        esat_caf, _allocate(workers, [rng.lognormvariate(0.0, 0.45) for _ in range(esats)]), strict=True
    ):
        caf = esat_caf[esat_id]
        share = rng.randint(5, 15) if rng.randint(1, 100) <= NATIONAL_OTHER_CAF_ESATS else 0
        for _ in range(size):
            staff.append(people.worker(esat_id, neighbour[caf] if rng.randint(1, 100) <= share else caf))
    start = years_before(today, years)
    # Double activities known before the history starts (since: a first of month from 2023 on).
    since_from = date(2023, 1, 1).toordinal()
    for w in rng.sample(staff, len(staff) * NATIONAL_DOUBLE_ACTIVITY // 100):
        mo = rng.choice(DOUBLE_MO_STEPS)
        w.rate_mo, w.double_activity = mo, True
        w.rate_esat = rng.choice([r for r in DOUBLE_ESAT_STEPS if r + mo <= HUNDRED])
        if start.toordinal() > since_from:
            w.double_activity_since = date.fromordinal(rng.randint(since_from, start.toordinal())).replace(
                day=1
            )
    timings["reference data and workers"] = time.perf_counter() - clock

    clock = time.perf_counter()
    initial_rates = {w.id: w.rate_esat for w in staff}
    history_rng, forms, motifs = random.Random(NATIONAL_SEED + 1), load_all(), _motifs()
    for w in staff:
        _history(history_rng, w, start, today, forms, motifs)
    timings["change history"] = time.perf_counter() - clock

    clock = time.perf_counter()
    last = today.year if date(today.year, 12, 1) < today else today.year - 1
    declarations, values, feedback = _declarations(
        staff,
        initial_rates,
        author,
        agents,
        today,
        secret,
        campaigns=list(range(today.year - years, last + 1)),
        feedback_esats=None,
        feedback_percent=NATIONAL_FEEDBACK_PERCENT,
    )
    timings["declarations"] = time.perf_counter() - clock

    clock = time.perf_counter()
    with store.transaction() as tx:
        _insert_all(
            tx,
            cafs=cafs,
            esats=esat_rows,
            sites=sites,
            contracts=contracts,
            accounts=accounts,
            workers=[w.row() for w in staff],
            declarations=declarations,
            values=values,
            feedback=feedback,
        )
    timings["insert"] = time.perf_counter() - clock
    return timings


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def _seed_national_file(path: Path, esats: int, workers: int, years: int) -> int:
    from services.config import load_settings

    if path.exists() and (path.is_dir() or path.stat().st_size > 0):
        print(f"Refused: {path} exists and is not empty.", file=sys.stderr)
        return 2
    path.unlink(missing_ok=True)
    settings = load_settings()
    started = time.perf_counter()
    store = Store(str(path))
    try:
        timings = seed_national(
            store,
            today=settings.today or date.today(),
            secret=settings.secret,
            esats=esats,
            workers=workers,
            years=years,
            password=settings.demo_password,
        )
        elapsed = time.perf_counter() - started
        steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
        print(f"National store seeded in {elapsed:.1f} s ({steps}): {summary(store)}")
    finally:
        store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m data.demo``: seed the configured database when it is empty;
    ``python -m data.demo --national PATH``: write a national-scale store to PATH."""
    parser = argparse.ArgumentParser(prog="python -m data.demo", description=main.__doc__)
    parser.add_argument("--national", metavar="PATH", type=Path, help="write a national-scale store to PATH")
    parser.add_argument("--esats", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=120_000)
    parser.add_argument("--years", type=int, default=3)
    args = parser.parse_args(list(argv or []))
    if args.national is not None:
        return _seed_national_file(args.national, args.esats, args.workers, args.years)

    from services.config import load_settings

    settings = load_settings()
    if not settings.demo:
        print(
            "Les données de démonstration ne s'installent qu'en mode démonstration (ESAT_DEMO=1).",
            file=sys.stderr,
        )
        return 2
    store = open_or_exit(settings.db)  # French message, no traceback, when the store is held or down
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
