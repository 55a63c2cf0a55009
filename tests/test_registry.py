"""The partner registry (services/registry.py): ESATs, their fonctions and their three contracts,
kept by a Caf administrator inside its own Caf, validated field by field, audited change by change."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from stdnum import luhn

from data.demo import ADMIN_LOGIN, NEIGHBOUR_CAF, NO_CONTRACT_ESAT_ID, PILOT_CAF
from data.store import Store
from services import accounts, partner, registry
from services.accounts import Account
from services.registry import Contract, Fonction, Refused
from tests.conftest import TODAY

TABLES = ("esat", "esat_site", "partner_contract", "audit_log")
ADMIN_441 = Account(
    id=1, login="admin441@caf.example.org", email="admin441@caf.example.org", role="admin",
    esat_id=None, caf_code="441", display_name="Admin 441",
)  # fmt: skip
ADMIN_491 = Account(
    id=2, login="admin491@caf.example.org", email="admin491@caf.example.org", role="admin",
    esat_id=None, caf_code="491", display_name="Admin 491",
)  # fmt: skip
OTHERS = [
    Account(id=3, login="agent@caf.example.org", email="agent@caf.example.org", role="agent",
            esat_id=None, caf_code="441", display_name="Agent"),
    Account(id=4, login="relecteur@caf.example.org", email="relecteur@caf.example.org", role="relecteur",
            esat_id=None, caf_code=None, display_name="Relecteur"),
]  # fmt: skip
ESAT_ACCOUNT_ID = 5
SITE_1 = Fonction(1, "ESAT Les Ateliers – Nantes", "440000016", "12 rue des Ateliers", "44000", "Nantes")
SITE_2 = Fonction(2, "ESAT Les Ateliers – Rezé", None, "3 allée du Port", "44400", "Rezé")


def make_siret(n: int) -> str:
    """A valid SIRET (SIREN 999xxxxx + key, NIC 0001 + key) for each small number ``n``."""
    body = f"999{n:05d}"
    siren = body + luhn.calc_check_digit(body)
    return siren + "0001" + luhn.calc_check_digit(siren + "0001")


def fields(n: int = 1, **changes):
    values = {
        "legal_name": "Association Les Ateliers",
        "siret": make_siret(n),
        "street": "12 rue des Ateliers",
        "postcode": "44000",
        "city": "Nantes",
        "fonctions": [SITE_1, SITE_2],
    }
    return values | changes


def insert_account(store: Store, who: Account, active: bool = True) -> None:
    store.execute(
        "INSERT INTO account (id, login, email, password_hash, role, esat_id, caf_code, display_name, "
        "active, created_at) VALUES (?, ?, ?, 'x', ?, ?, ?, ?, ?, ?)",
        [who.id, who.login, who.email, who.role, who.esat_id, who.caf_code, who.display_name, active,
         datetime(2026, 1, 1)],
    )  # fmt: skip


@pytest.fixture
def reg(empty_db):
    """An empty store with Cafs 441 and 491, an administrator of each, an agent and a reviewer."""
    store = Store(empty_db)
    store.execute("INSERT INTO caf VALUES ('441','Caf de Loire-Atlantique'), ('491','Caf de Maine-et-Loire')")
    for who in (ADMIN_441, ADMIN_491, *OTHERS):
        insert_account(store, who)
    yield store
    store.close()


def counts(store: Store) -> list[int]:
    return [store.scalar(f"SELECT count(*) FROM {table}") for table in TABLES]


def audit_rows(store: Store) -> list[tuple]:
    rows = store.all("SELECT account_id, action, object_ref FROM audit_log ORDER BY id")
    return [(r["account_id"], r["action"], r["object_ref"]) for r in rows]


def esat_account(store: Store, esat_id: int) -> Account:
    who = Account(
        id=ESAT_ACCOUNT_ID, login="esat@ateliers.example.org", email="esat@ateliers.example.org",
        role="esat", esat_id=esat_id, caf_code=None, display_name="Responsable",
    )  # fmt: skip
    insert_account(store, who)
    return who


# ------------------------------------------------------------------------------------------------
# Create, read, edit, deactivate


def test_create_registers_an_esat_of_the_admins_caf_with_its_fonctions_and_one_audit_row(reg):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    assert esat_id == 1
    got = registry.get_partner(reg, ADMIN_441, esat_id)
    assert got == registry.Partner(
        id=1,
        legal_name="Association Les Ateliers",
        siret=make_siret(1),
        street="12 rue des Ateliers",
        postcode="44000",
        city="Nantes",
        caf_code="441",
        active=True,
        fonctions=[SITE_1, SITE_2],
        contracts=[],
    )
    assert audit_rows(reg) == [(ADMIN_441.id, "partner_created", "esat:1")]
    # The Accueil of the ESAT shows its first fonction.
    identity = partner.esat_identity(reg, esat_id)
    assert (identity.name, identity.address) == (SITE_1.name, "12 rue des Ateliers, 44000 Nantes")
    assert identity.caf_code == "441"
    # The next one takes the next id.
    assert registry.create_partner(reg, ADMIN_441, **fields(2)) == 2
    summaries = registry.list_partners(reg, ADMIN_441, TODAY)
    assert [(p.id, p.city, p.active, p.access_ok) for p in summaries] == [
        (1, "Nantes", True, False),
        (2, "Nantes", True, False),
    ]
    assert registry.list_partners(reg, ADMIN_491, TODAY) == []


def test_input_is_tidied_before_it_is_stored(reg):
    esat_id = registry.create_partner(
        reg,
        ADMIN_441,
        **fields(
            legal_name="  Association\u00a0Les   Ateliers \n",
            siret=" 999 000 01 " + make_siret(1)[8:],
            postcode=" 44000 ",
            fonctions=[Fonction(7, "Atelier\tbois", " 2a0001234 ", "1 rue A", "20000", "Ajaccio")],
        ),
    )
    got = registry.get_partner(reg, ADMIN_441, esat_id)
    assert (got.legal_name, got.siret, got.postcode) == ("Association Les Ateliers", make_siret(1), "44000")
    # Ranks are 1..n whatever was given; a Corsican FINESS is kept without the Luhn check.
    assert got.fonctions == [Fonction(1, "Atelier bois", "2A0001234", "1 rue A", "20000", "Ajaccio")]


def test_update_replaces_fonctions_by_rank_and_a_save_without_change_writes_nothing(reg):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    new_first = Fonction(1, "Blanchisserie de Rezé", "750712184", "3 allée du Port", "44400", "Rezé")
    registry.update_partner(
        reg, ADMIN_441, esat_id, **fields(legal_name="Les Ateliers (nouveau nom)", fonctions=[new_first])
    )
    got = registry.get_partner(reg, ADMIN_441, esat_id)
    assert got.legal_name == "Les Ateliers (nouveau nom)"
    assert got.fonctions == [new_first]
    assert reg.scalar("SELECT count(*) FROM esat_site WHERE esat_id = ?", [esat_id]) == 1
    assert partner.esat_identity(reg, esat_id).name == "Blanchisserie de Rezé"
    assert audit_rows(reg)[1:] == [(ADMIN_441.id, "partner_updated", f"esat:{esat_id}")]

    # Order given = order stored: the one given first is rank 1, shown on the Accueil.
    registry.update_partner(
        reg, ADMIN_441, esat_id, **fields(legal_name=got.legal_name, fonctions=[SITE_2, SITE_1, new_first])
    )
    got = registry.get_partner(reg, ADMIN_441, esat_id)
    assert [(f.rank, f.name) for f in got.fonctions] == [
        (1, SITE_2.name),
        (2, SITE_1.name),
        (3, new_first.name),
    ]
    assert partner.esat_identity(reg, esat_id).address == "3 allée du Port, 44400 Rezé"
    assert len(audit_rows(reg)) == 3

    before = counts(reg)
    registry.update_partner(
        reg, ADMIN_441, esat_id, **fields(legal_name=got.legal_name, fonctions=[SITE_2, SITE_1, new_first])
    )
    assert counts(reg) == before
    # Keeping its own SIRET is not a duplicate.
    registry.update_partner(reg, ADMIN_441, esat_id, **fields(city="Saint-Herblain", fonctions=[SITE_1]))
    got = registry.get_partner(reg, ADMIN_441, esat_id)
    assert (got.city, got.siret, got.fonctions) == ("Saint-Herblain", make_siret(1), [SITE_1])
    assert len(audit_rows(reg)) == 4


def test_deactivate_and_reactivate_never_delete_and_are_audited_once(reg):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    who = esat_account(reg, esat_id)
    registry.set_active(reg, ADMIN_441, esat_id, False)
    registry.set_active(reg, ADMIN_441, esat_id, False)  # already inactive: nothing more
    assert registry.get_partner(reg, ADMIN_441, esat_id).active is False
    assert [p.active for p in registry.list_partners(reg, ADMIN_441, TODAY)] == [False]
    assert accounts.INACTIVE_ESAT in accounts.missing_contracts(reg, who, TODAY)
    assert counts(reg)[:2] == [1, 2]
    registry.set_active(reg, ADMIN_441, esat_id, True)
    assert registry.get_partner(reg, ADMIN_441, esat_id).active is True
    assert accounts.INACTIVE_ESAT not in accounts.missing_contracts(reg, who, TODAY)
    assert [a for _, a, _ in audit_rows(reg)] == [
        "partner_created",
        "partner_deactivated",
        "partner_reactivated",
    ]
    assert {ref for *_, ref in audit_rows(reg)} == {f"esat:{esat_id}"}


# ------------------------------------------------------------------------------------------------
# Validation: a French message per field, nothing written


BAD_PARTNERS = {
    "empty legal name": ({"legal_name": "  "}, "legal_name", registry.LEGAL_NAME_BAD),
    "legal name too long": ({"legal_name": "A" * 201}, "legal_name", registry.LEGAL_NAME_BAD),
    "control character": ({"legal_name": "Les\x00Ateliers"}, "legal_name", registry.LEGAL_NAME_BAD),
    "legal name not text": ({"legal_name": None}, "legal_name", registry.LEGAL_NAME_BAD),
    "SIRET too short": ({"siret": "123 456 789"}, "siret", registry.SIRET_FORMAT),
    "SIRET with a letter": ({"siret": "9990000100001A"}, "siret", registry.SIRET_FORMAT),
    "SIRET with 15 digits": ({"siret": make_siret(1) + "0"}, "siret", registry.SIRET_FORMAT),
    "SIRET checksum": ({"siret": make_siret(1)[:-1] + str((int(make_siret(1)[-1]) + 1) % 10)}, "siret",
                       registry.SIRET_CHECKSUM),
    "La Poste number failing its rule": ({"siret": "35600000000011"}, "siret", registry.SIRET_CHECKSUM),
    "postcode of 4 digits": ({"postcode": "4400"}, "postcode", registry.POSTCODE_BAD),
    "postcode with letters": ({"postcode": "2A000"}, "postcode", registry.POSTCODE_BAD),
    "empty street": ({"street": ""}, "street", registry.STREET_BAD),
    "empty city": ({"city": "\n"}, "city", registry.CITY_BAD),
    "no fonction": ({"fonctions": []}, "fonctions", registry.NO_FONCTION),
    "fonctions not a list": ({"fonctions": "ESAT"}, "fonctions", registry.BAD_FONCTIONS),
    "too many fonctions": ({"fonctions": [SITE_1] * 51}, "fonctions", registry.TOO_MANY_FONCTIONS),
    "fonction without name": ({"fonctions": [SITE_1, Fonction(2, "", None, "1 rue A", "44000", "Nantes")]},
                              "fonctions.2.name", registry.FONCTION_NAME_BAD),
    "fonction postcode": ({"fonctions": [SITE_1, Fonction(2, "B", None, "1 rue A", "440", "Nantes")]},
                          "fonctions.2.postcode", registry.POSTCODE_BAD),
    "fonction street": ({"fonctions": [Fonction(1, "A", None, " ", "44000", "Nantes")]},
                        "fonctions.1.street", registry.STREET_BAD),
    "fonction city": ({"fonctions": [Fonction(1, "A", None, "1 rue A", "44000", "")]},
                      "fonctions.1.city", registry.CITY_BAD),
    "FINESS of 8 characters": ({"fonctions": [Fonction(1, "A", "44000001", "1 rue A", "44000", "Nantes")]},
                               "fonctions.1.finess", registry.FINESS_FORMAT),
    "FINESS with a letter": ({"fonctions": [Fonction(1, "A", "4400A0014", "1 rue A", "44000", "Nantes")]},
                             "fonctions.1.finess", registry.FINESS_FORMAT),
    "FINESS failing Luhn": ({"fonctions": [Fonction(1, "A", "750712185", "1 rue A", "44000", "Nantes")]},
                            "fonctions.1.finess", registry.FINESS_KEY),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_PARTNERS))
def test_every_bad_field_is_refused_with_its_message_and_nothing_is_written(reg, case):
    changes, field, message = BAD_PARTNERS[case]
    existing = registry.create_partner(reg, ADMIN_441, **fields(9))
    before = counts(reg)
    with pytest.raises(Refused) as refused:
        registry.create_partner(reg, ADMIN_441, **fields(1, **changes))
    assert refused.value.errors == {field: message}
    with pytest.raises(Refused) as refused:
        registry.update_partner(reg, ADMIN_441, existing, **fields(9, **changes))
    assert refused.value.errors == {field: message}
    assert counts(reg) == before
    assert registry.get_partner(reg, ADMIN_441, existing).fonctions == [SITE_1, SITE_2]


def test_a_duplicate_siret_is_refused_on_create_and_update_even_from_another_caf(reg):
    first = registry.create_partner(reg, ADMIN_441, **fields(1))
    second = registry.create_partner(reg, ADMIN_441, **fields(2))
    before = counts(reg)
    for call in (
        lambda: registry.create_partner(reg, ADMIN_441, **fields(1)),
        lambda: registry.create_partner(reg, ADMIN_491, **fields(1, siret=" " + make_siret(1))),
        lambda: registry.update_partner(reg, ADMIN_441, second, **fields(1)),
    ):
        with pytest.raises(Refused) as refused:
            call()
        assert refused.value.errors == {"siret": "Ce SIRET est déjà enregistré pour un autre établissement."}
    assert counts(reg) == before
    assert registry.get_partner(reg, ADMIN_441, first).siret == make_siret(1)


def test_every_error_is_reported_at_once_keyed_by_the_rank_the_form_gave(reg):
    # The page skips an empty row 2: the rows given are 1 and 3, stored as ranks 1 and 2.
    bad = Fonction(3, "", "12", "1 rue A", "4", "Nantes")
    with pytest.raises(Refused) as refused:
        registry.create_partner(reg, ADMIN_441, **fields(siret="12", postcode="", fonctions=[SITE_1, bad]))
    assert refused.value.errors == {
        "siret": registry.SIRET_FORMAT,
        "postcode": registry.POSTCODE_BAD,
        "fonctions.3.name": registry.FONCTION_NAME_BAD,
        "fonctions.3.finess": registry.FINESS_FORMAT,
        "fonctions.3.postcode": registry.POSTCODE_BAD,
    }
    assert str(refused.value).startswith(registry.SIRET_FORMAT)
    assert counts(reg) == [0, 0, 0, 0]
    third = Fonction(3, SITE_2.name, SITE_2.finess, SITE_2.street, SITE_2.postcode, SITE_2.city)
    esat_id = registry.create_partner(reg, ADMIN_441, **fields(fonctions=[SITE_1, third]))
    assert [f.rank for f in registry.get_partner(reg, ADMIN_441, esat_id).fonctions] == [1, 2]


def test_parse_siret_tells_length_from_checksum_and_knows_la_poste():
    assert registry.parse_siret("732 829 320 00074") == "73282932000074"
    assert registry.parse_siret("35600000000048") == "35600000000048"  # La Poste, head office
    assert registry.parse_siret("35600000000010") == "35600000000010"  # La Poste: digit sum / 5, not Luhn
    for text, message in (
        ("", registry.SIRET_FORMAT),
        ("7328293200007", registry.SIRET_FORMAT),
        ("73282932000074 1", registry.SIRET_FORMAT),
        ("73282932000075", registry.SIRET_CHECKSUM),
    ):
        with pytest.raises(Refused) as refused:
            registry.parse_siret(text)
        assert refused.value.errors == {"siret": message}
    assert registry.SIRET_FORMAT != registry.SIRET_CHECKSUM


def test_finess_rules():
    assert registry.parse_finess("") is None and registry.parse_finess(None) is None
    assert registry.parse_finess(" 750 712 184 ") == "750712184"
    assert registry.parse_finess("2b1234567") == "2B1234567"  # Corsica: no Luhn check (DOMAIN §5)
    with pytest.raises(Refused, match="contrôle de sa clé"):
        registry.parse_finess("130786048")
    with pytest.raises(Refused, match="9 caractères"):
        registry.parse_finess("2C1234567")


# ------------------------------------------------------------------------------------------------
# Contracts


def test_the_three_contracts_open_access_and_missing_ones_are_named(reg):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    who = esat_account(reg, esat_id)
    assert accounts.missing_contracts(reg, who, TODAY) == list(accounts.CONTRACT_LABELS.values())
    registry.add_contract(reg, ADMIN_441, esat_id, "convention", date(2026, 1, 1), None)
    registry.add_contract(reg, ADMIN_441, esat_id, "contrat_services", date(2026, 1, 1), date(2026, 12, 31))
    assert accounts.missing_contracts(reg, who, TODAY) == [accounts.CONTRACT_LABELS["bulletin_esat"]]
    assert registry.list_partners(reg, ADMIN_441, TODAY)[0].access_ok is False
    registry.add_contract(reg, ADMIN_441, esat_id, "bulletin_esat", TODAY, TODAY)  # one day is enough
    assert accounts.missing_contracts(reg, who, TODAY) == []
    assert registry.list_partners(reg, ADMIN_441, TODAY)[0].access_ok is True
    # The day after, the bulletin has ended.
    after = date(2026, 12, 11)
    assert accounts.missing_contracts(reg, who, after) == [accounts.CONTRACT_LABELS["bulletin_esat"]]
    assert registry.list_partners(reg, ADMIN_441, after)[0].access_ok is False
    assert registry.get_partner(reg, ADMIN_441, esat_id).contracts == [
        Contract("convention", date(2026, 1, 1), None),
        Contract("contrat_services", date(2026, 1, 1), date(2026, 12, 31)),
        Contract("bulletin_esat", TODAY, TODAY),
    ]
    assert audit_rows(reg)[1:] == [
        (ADMIN_441.id, "contract_added", f"esat:{esat_id}:convention"),
        (ADMIN_441.id, "contract_added", f"esat:{esat_id}:contrat_services"),
        (ADMIN_441.id, "contract_added", f"esat:{esat_id}:bulletin_esat"),
    ]


ACTIVE = {
    "convention": "Une convention d'accès est déjà active du 01/01/2025 au 31/12/2025 : "
    "terminez-la avant d'en enregistrer une nouvelle.",
    "contrat_services": "Un contrat de services est déjà actif du 01/01/2025 au 31/12/2025 : "
    "terminez-le avant d'en enregistrer un nouveau.",
    "bulletin_esat": "Un bulletin d'adhésion au service ESAT est déjà actif du 01/01/2025 au 31/12/2025 : "
    "terminez-le avant d'en enregistrer un nouveau.",
}


@pytest.mark.parametrize("kind", list(accounts.CONTRACT_LABELS))
def test_an_overlapping_contract_of_the_same_kind_is_refused_an_adjacent_one_accepted(reg, kind):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    registry.add_contract(reg, ADMIN_441, esat_id, kind, date(2025, 1, 1), date(2025, 12, 31))
    before = counts(reg)
    for start, end in (
        (date(2025, 12, 31), date(2026, 12, 31)),  # shares the last day (periods are inclusive)
        (date(2024, 1, 1), date(2025, 1, 1)),  # shares the first day
        (date(2025, 3, 1), date(2025, 4, 30)),  # inside
        (date(2024, 1, 1), None),  # open-ended, starting before
        (date(2025, 1, 1), None),  # same start
    ):
        with pytest.raises(Refused) as refused:
            registry.add_contract(reg, ADMIN_441, esat_id, kind, start, end)
        assert refused.value.errors == {"valid_from": ACTIVE[kind]}, (start, end)
    assert counts(reg) == before
    # The other kinds are not affected.
    for other in set(accounts.CONTRACT_LABELS) - {kind}:
        registry.add_contract(reg, ADMIN_441, esat_id, other, date(2025, 6, 1), None)
    # Ends 31/12, the next starts 01/01: accepted; and the one before it too.
    registry.add_contract(reg, ADMIN_441, esat_id, kind, date(2026, 1, 1), None)
    registry.add_contract(reg, ADMIN_441, esat_id, kind, date(2024, 1, 1), date(2024, 12, 31))
    # An open-ended contract meets everything after its start.
    with pytest.raises(Refused) as refused:
        registry.add_contract(reg, ADMIN_441, esat_id, kind, date(2040, 1, 1), date(2040, 1, 31))
    assert "depuis le 01/01/2026, sans date de fin" in refused.value.errors["valid_from"]
    assert len(audit_rows(reg)) == before[3] + 4


def test_contract_dates_and_kind_are_checked(reg):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    before = counts(reg)
    cases = [
        (("convention", date(2026, 2, 1), date(2026, 1, 31)), "valid_to", "ne peut pas précéder"),
        (("convention", None, None), "valid_from", registry.VALID_FROM_MISSING),
        (("convention", "2026-01-01", None), "valid_from", registry.VALID_FROM_MISSING),
        (("convention", date(1999, 12, 31), None), "valid_from", registry.DATE_RANGE),
        (("convention", date(2026, 1, 1), date(2206, 1, 1)), "valid_to", registry.DATE_RANGE),
        (("adhesion", date(2026, 1, 1), None), "kind", registry.KIND_BAD),
    ]
    for args, field, text in cases:
        with pytest.raises(Refused) as refused:
            registry.add_contract(reg, ADMIN_441, esat_id, *args)
        assert list(refused.value.errors) == [field] and text in refused.value.errors[field], args
    assert counts(reg) == before
    # A datetime counts as its day.
    registry.add_contract(reg, ADMIN_441, esat_id, "convention", datetime(2026, 1, 1, 9, 30), None)
    assert registry.get_partner(reg, ADMIN_441, esat_id).contracts == [
        Contract("convention", date(2026, 1, 1), None)
    ]


def test_ending_a_contract(reg):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    who = esat_account(reg, esat_id)
    for kind in accounts.CONTRACT_LABELS:
        registry.add_contract(reg, ADMIN_441, esat_id, kind, date(2025, 1, 1), None)
    assert accounts.missing_contracts(reg, who, TODAY) == []
    before = counts(reg)
    for args, field, text in (
        (("convention", date(2025, 1, 1), date(2024, 12, 31)), "valid_to", "ne peut pas précéder le début"),
        (("convention", date(2025, 1, 2), date(2025, 12, 31)), "valid_from", registry.CONTRACT_UNKNOWN),
        (("adhesion", date(2025, 1, 1), date(2025, 12, 31)), "valid_from", registry.CONTRACT_UNKNOWN),
        (("convention", date(2025, 1, 1), None), "valid_to", registry.VALID_TO_MISSING),
    ):
        with pytest.raises(Refused) as refused:
            registry.end_contract(reg, ADMIN_441, esat_id, *args)
        assert list(refused.value.errors) == [field] and text in refused.value.errors[field], args
    assert counts(reg) == before

    registry.end_contract(reg, ADMIN_441, esat_id, "convention", date(2025, 1, 1), date(2026, 12, 9))
    registry.end_contract(reg, ADMIN_441, esat_id, "convention", date(2025, 1, 1), date(2026, 12, 9))  # same
    assert accounts.missing_contracts(reg, who, TODAY) == [accounts.CONTRACT_LABELS["convention"]]
    assert audit_rows(reg)[-1] == (ADMIN_441.id, "contract_ended", f"esat:{esat_id}:convention")
    assert len(audit_rows(reg)) == before[3] + 1
    # Once ended, a new convention can start the next day, and the old one cannot be stretched over it.
    registry.add_contract(reg, ADMIN_441, esat_id, "convention", date(2026, 12, 10), None)
    assert accounts.missing_contracts(reg, who, TODAY) == []
    with pytest.raises(Refused) as refused:
        registry.end_contract(reg, ADMIN_441, esat_id, "convention", date(2025, 1, 1), date(2026, 12, 10))
    assert refused.value.errors == {
        "valid_to": "Une convention d'accès est déjà enregistrée depuis le 10/12/2026, sans date de fin : "
        "choisissez une fin de validité antérieure à son début."
    }
    # Ending on its first day is allowed (one day of validity).
    registry.end_contract(reg, ADMIN_441, esat_id, "bulletin_esat", date(2025, 1, 1), date(2025, 1, 1))
    assert (
        Contract("bulletin_esat", date(2025, 1, 1), date(2025, 1, 1))
        in registry.get_partner(reg, ADMIN_441, esat_id).contracts
    )
    assert [a for _, a, _ in audit_rows(reg)].count("contract_ended") == 2


# ------------------------------------------------------------------------------------------------
# Who may do it


def every_call(store: Store, esat_id: int, siret: str) -> dict:
    return {
        "list_partners": lambda who: registry.list_partners(store, who, TODAY),
        "get_partner": lambda who: registry.get_partner(store, who, esat_id),
        "create_partner": lambda who: registry.create_partner(store, who, **fields(5)),
        "update_partner": lambda who: registry.update_partner(store, who, esat_id, **fields(siret=siret)),
        "set_active": lambda who: registry.set_active(store, who, esat_id, False),
        "add_contract": lambda who: registry.add_contract(
            store, who, esat_id, "convention", date(2031, 1, 1), None
        ),
        "end_contract": lambda who: registry.end_contract(
            store, who, esat_id, "convention", date(2025, 1, 1), date(2026, 1, 1)
        ),
    }


def test_an_admin_of_another_caf_gets_not_allowed_for_an_esat_of_441_and_for_an_unknown_id(reg):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    registry.add_contract(reg, ADMIN_441, esat_id, "convention", date(2025, 1, 1), None)
    before, esat = counts(reg), reg.one("SELECT * FROM esat")
    tried = 0
    for target in (esat_id, 999, -1, "1", True, None):
        calls = every_call(reg, target, make_siret(1))
        for name in ("get_partner", "update_partner", "set_active", "add_contract", "end_contract"):
            for who in (ADMIN_491,) if target is esat_id else (ADMIN_491, ADMIN_441):
                with pytest.raises(partner.NotAllowed):
                    calls[name](who)
                tried += 1
    assert tried == 5 + 5 * 5 * 2
    assert counts(reg) == before and reg.one("SELECT * FROM esat") == esat
    assert registry.list_partners(reg, ADMIN_491, TODAY) == []


@pytest.mark.parametrize(
    "role", ["esat", "agent", "relecteur", "admin sans Caf", "admin désactivé", "inconnu"]
)
def test_no_one_but_an_active_admin_reaches_any_function(reg, role):
    esat_id = registry.create_partner(reg, ADMIN_441, **fields())
    registry.add_contract(reg, ADMIN_441, esat_id, "convention", date(2025, 1, 1), None)
    if role == "esat":
        who = esat_account(reg, esat_id)
    elif role == "agent":
        who = OTHERS[0]
    elif role == "relecteur":
        who = OTHERS[1]
    elif role == "admin sans Caf":
        who = Account(10, "a@caf.example.org", "a@caf.example.org", "admin", None, None, "A")
        insert_account(reg, who)
    elif role == "admin désactivé":
        who = Account(11, "b@caf.example.org", "b@caf.example.org", "admin", None, "441", "B")
        insert_account(reg, who, active=False)
    else:  # an admin Account the store does not know (a forged or outdated session)
        who = Account(12, "c@caf.example.org", "c@caf.example.org", "admin", None, "441", "C")
    before = counts(reg)
    for name, call in every_call(reg, esat_id, make_siret(1)).items():
        with pytest.raises(partner.NotAllowed):
            call(who)
            pytest.fail(name)
    assert counts(reg) == before


def test_concurrent_creations_get_distinct_ids(reg):
    ids: list[int] = []
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            ids.append(registry.create_partner(reg, ADMIN_441, **fields(100 + n)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(ids) == [1, 2, 3, 4, 5, 6]
    assert counts(reg) == [6, 12, 0, 6]


# ------------------------------------------------------------------------------------------------
# On the demo store (22 ESATs in Cafs 441 and 491)


def test_on_the_demo_store(store):
    admin = accounts.get(store, store.scalar("SELECT id FROM account WHERE login = ?", [ADMIN_LOGIN]))
    assert admin is not None and admin.caf_code == PILOT_CAF
    mine = registry.list_partners(store, admin, TODAY)
    pilot = store.scalar("SELECT count(*) FROM esat WHERE caf_code = ?", [PILOT_CAF])
    assert len(mine) == pilot == 17
    assert [p.access_ok for p in mine if p.id == NO_CONTRACT_ESAT_ID] == [False]
    assert all(p.access_ok and p.active and p.city for p in mine if p.id != NO_CONTRACT_ESAT_ID)
    neighbour = store.scalar("SELECT min(id) FROM esat WHERE caf_code = ?", [NEIGHBOUR_CAF])
    with pytest.raises(partner.NotAllowed):
        registry.get_partner(store, admin, neighbour)

    # An ESAT seeded before addresses were kept: empty address, fonctions and contracts as seeded.
    seeded = registry.get_partner(store, admin, NO_CONTRACT_ESAT_ID)
    assert seeded.street == "" and seeded.fonctions and len(seeded.contracts) == 2
    audits = store.scalar("SELECT count(*) FROM audit_log")
    registry.update_partner(
        store,
        admin,
        seeded.id,
        legal_name=seeded.legal_name,
        siret=seeded.siret,
        street="5 rue Neuve",
        postcode="44000",
        city="Nantes",
        fonctions=seeded.fonctions,
    )
    registry.add_contract(store, admin, seeded.id, "bulletin_esat", TODAY, None)
    who = accounts.Account(99, "x", "x", "esat", seeded.id, None, "X")
    assert accounts.missing_contracts(store, who, TODAY) == []
    assert store.scalar("SELECT count(*) FROM audit_log") == audits + 2

    # A new partner takes the next id; a seeded SIRET is a duplicate.
    with pytest.raises(Refused) as refused:
        registry.create_partner(store, admin, **fields(siret=seeded.siret))
    assert refused.value.errors == {"siret": registry.SIRET_TAKEN}
    assert registry.create_partner(store, admin, **fields()) == 23
    assert partner.esat_identity(store, 23).name == SITE_1.name
