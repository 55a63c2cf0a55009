"""AUTHZ-01 for the Caf administrator: an administrator of one Caf reaches nothing of another Caf's
partners, accounts, workers or hand-over; ESAT managers, agents and reviewers reach no
administration function; a refusal reached through a page is audited (AUTHZ-03)."""

from __future__ import annotations

from datetime import date

import pytest

from data.demo import AGENT_LOGIN, DEMO_ESAT_LOGIN, NEIGHBOUR_CAF, PILOT_CAF, REVIEWER_LOGIN
from services import account_admin, accounts, handover, partner, passwords, registry, worker_import
from tests.apptest import accept_cgu, login, no_legacy_pages, start, titles
from tests.conftest import PASSWORD, TODAY
from tests.test_authz_matrix import account
from ui.layout import ACCESS_DENIED

__all__ = ["no_legacy_pages"]

ADMIN_PASSWORD = "Une phrase de passe pour administrer le pilote"
SAMPLE_ROW = (
    "numero_allocataire;personne;nom;prenom;date_naissance;siret_esat;taux_activite_esat;"
    "double_activite;date_debut_double_activite;taux_milieu_ordinaire;statut\n"
    "9912345;RESPONSABLE;NOUVEAU;Test;01/02/1990;{siret};80;non;;;ACTIF\n"
)
FONCTION = registry.Fonction(1, "Fonction", None, "1 rue A", "44000", "Nantes")


def make_admin(store, env, caf: str) -> accounts.Account:
    account_id = account_admin.create_first_admin(
        store, env, caf_code=caf, email=f"admin.{caf}@caf.example.org", display_name=f"Admin {caf}"
    )
    found = accounts.get(store, account_id)
    assert found is not None
    return found


def admin_functions(store, env, esat_id: int, account_id: int, siret: str) -> dict:
    """Every administration function, called on one ESAT and one account."""
    file = SAMPLE_ROW.format(siret=siret).encode()
    return {
        "list_partners": lambda who: registry.list_partners(store, who, TODAY),
        "get_partner": lambda who: registry.get_partner(store, who, esat_id),
        "update_partner": lambda who: registry.update_partner(
            store,
            who,
            esat_id,
            legal_name="X",
            siret=siret,
            street="1 rue A",
            postcode="44000",
            city="Nantes",
            fonctions=[FONCTION],
        ),
        "set_partner_active": lambda who: registry.set_active(store, who, esat_id, False),
        "add_contract": lambda who: registry.add_contract(
            store, who, esat_id, "convention", date(2031, 1, 1), None
        ),
        "end_contract": lambda who: registry.end_contract(
            store, who, esat_id, "convention", date(2025, 1, 1), date(2026, 12, 31)
        ),
        "list_accounts": lambda who: account_admin.list_accounts(store, who),
        "create_account": lambda who: account_admin.create_account(
            store, env, who, email="nouveau@esat.example.org", role="esat", display_name="N", esat_id=esat_id
        ),
        "set_account_active": lambda who: account_admin.set_active(store, env, who, account_id, False),
        "resend_provisional": lambda who: account_admin.resend_provisional(store, env, who, account_id),
        "import_dry_run": lambda who: worker_import.dry_run(store, who, file, "travailleurs.csv"),
        "import_apply": lambda who: worker_import.apply(store, who, file, "travailleurs.csv"),
    }


def snapshot(store) -> list:
    """Row counts of everything administration writes, and how many ESATs and accounts are active."""
    tables = ("esat", "esat_site", "partner_contract", "account", "worker", "export_batch", "audit_log")
    counts = [store.scalar(f"SELECT count(*) FROM {table}") for table in tables]
    active = [store.scalar(f"SELECT count(*) FROM {t} WHERE active") for t in ("esat", "account")]
    return counts + active


@pytest.mark.parametrize("login", [DEMO_ESAT_LOGIN, AGENT_LOGIN, REVIEWER_LOGIN])
def test_no_other_role_reaches_an_administration_function(env, store, login):
    who = account(store, login)
    esat = store.one("SELECT id, siret FROM esat ORDER BY id LIMIT 1")
    other = store.scalar("SELECT max(id) FROM account")
    before = snapshot(store)
    calls = admin_functions(store, env, esat["id"], other, esat["siret"])
    for name, call in calls.items():
        with pytest.raises(partner.NotAllowed):
            call(who)
            pytest.fail(name)
    assert snapshot(store) == before


def test_an_administrator_reaches_nothing_of_another_caf(env, store):
    theirs = make_admin(store, env, NEIGHBOUR_CAF)
    mine = make_admin(store, env, PILOT_CAF)
    pilot_esats = store.all("SELECT id, siret FROM esat WHERE caf_code = ? ORDER BY id", [PILOT_CAF])
    pilot_accounts = [
        r["id"]
        for r in store.all(
            "SELECT id FROM account WHERE role = 'esat' AND esat_id = ?", [pilot_esats[0]["id"]]
        )
    ]
    targets = [(e["id"], e["siret"]) for e in (pilot_esats[0], pilot_esats[-1])] + [
        (10_000_000, "99900001100018")
    ]
    before = snapshot(store)
    tried = 0
    for esat_id, siret in targets:
        calls = admin_functions(store, env, esat_id, pilot_accounts[0], siret)
        for name in ("get_partner", "update_partner", "set_partner_active", "add_contract", "end_contract"):
            tried += 1
            with pytest.raises(partner.NotAllowed):
                calls[name](theirs)
        for name in ("set_account_active", "resend_provisional"):
            tried += 1
            with pytest.raises(partner.NotAllowed):
                calls[name](theirs)
    with pytest.raises(partner.NotAllowed):
        account_admin.set_active(store, env, theirs, mine.id, False)
    assert tried == 21 and snapshot(store) == before
    # Lists hold only the administrator's own Caf.
    assert {p.id for p in registry.list_partners(store, theirs, TODAY)}.isdisjoint(
        {e["id"] for e in pilot_esats}
    )
    assert mine.id not in {r.id for r in account_admin.list_accounts(store, theirs)}
    assert theirs.id in {r.id for r in account_admin.list_accounts(store, theirs)}
    # The hand-over is an agent's function, never an administrator's.
    with pytest.raises(partner.NotAllowed):
        handover.export_day(store, env, theirs, TODAY)


def test_an_import_by_one_caf_never_touches_the_other_cafs_workers(env, store):
    theirs = make_admin(store, env, NEIGHBOUR_CAF)
    pilot = store.all("SELECT * FROM worker WHERE caf_code = ? ORDER BY id", [PILOT_CAF])
    siret = store.scalar("SELECT siret FROM esat WHERE caf_code = ? ORDER BY id LIMIT 1", [PILOT_CAF])
    report = worker_import.apply(store, theirs, SAMPLE_ROW.format(siret=siret).encode(), "travailleurs.csv")
    assert report.applied and report.new == 1
    assert store.all("SELECT * FROM worker WHERE caf_code = ? ORDER BY id", [PILOT_CAF]) == pilot
    assert store.scalar("SELECT caf_code FROM worker WHERE allocataire = '9912345'") == NEIGHBOUR_CAF


def admin_session(store, env, caf: str):
    """An administrator of ``caf`` logged in through the welcome page, CGU accepted."""
    who = make_admin(store, env, caf)
    store.execute(
        "UPDATE account SET password_hash = ?, must_change_password = FALSE WHERE id = ?",
        [passwords.hash_password(PASSWORD), who.id],
    )
    at = accept_cgu(login(start(), who.login))
    return at, at.session_state["espace_esat"]


def test_a_forged_partner_of_another_caf_on_the_page_is_refused_and_audited(env, store):
    at, state = admin_session(store, env, NEIGHBOUR_CAF)
    assert titles(at) == ["Partenaires"]
    foreign = store.one("SELECT id, legal_name FROM esat WHERE caf_code = ? ORDER BY id LIMIT 1", [PILOT_CAF])
    state.admin_esat = foreign["id"]
    at.run()
    assert [e.value for e in at.error] == [ACCESS_DENIED]
    assert foreign["legal_name"] not in str([m.value for m in at.markdown] + [t.value for t in at.text_input])
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'access_denied'") == 1


@pytest.mark.parametrize("login_name", [DEMO_ESAT_LOGIN, AGENT_LOGIN, REVIEWER_LOGIN])
def test_other_roles_never_see_an_administration_page(env, store, login_name):
    at = accept_cgu(login(start(), login_name))
    for page in ("pages/admin_partenaires.py", "pages/admin_comptes.py", "pages/admin_travailleurs.py"):
        try:
            at.switch_page(page).run()
        except ValueError:  # AppTest: the page is not in this role's navigation at all
            continue
        assert not {"Partenaires", "Comptes", "Fichier des travailleurs"} & set(titles(at)), (
            login_name,
            page,
        )
