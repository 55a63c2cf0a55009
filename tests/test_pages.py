"""AppTest of every page of the partner journey (no browser; dialogs are state-driven)."""

from __future__ import annotations

from datetime import date

import pytest

from data.demo import PILOT_CAF
from data.store import Store
from tests.apptest import accept_cgu, button, login, no_legacy_pages, start, texts, titles

__all__ = ["no_legacy_pages"]

DEMO = "esat.demo@example.org"
SIMPLE = "esat.simple@example.org"
VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}


def count(store: Store, sql: str, params=()) -> int:
    return store.scalar(sql, params)


def logged_in(login_name: str = DEMO):
    at = start()
    login(at, login_name)
    if titles(at) == ["Conditions générales d'utilisation"]:  # first login of this account
        accept_cgu(at)
    return at


def to_workers(at):
    button(at, "Mes travailleurs").click().run()
    assert titles(at) == ["Mes travailleurs"]
    return at


# -- login and CGU ---------------------------------------------------------------------------


def test_wrong_password_and_unknown_account_get_the_same_message(env):
    at = start()
    login(at, DEMO, "pas-le-bon-mot-de-passe")
    first = [e.value for e in at.error]
    login(at, "inconnu@example.org", "pas-le-bon-mot-de-passe")
    assert first == [e.value for e in at.error] == ["Identifiant ou mot de passe incorrect."]
    assert titles(at) == ["Bienvenue sur Mon Compte Partenaire"]


def test_first_login_asks_both_cgu_and_stores_acceptance(env, store):
    at = start()
    login(at, DEMO)
    assert titles(at) == ["Conditions générales d'utilisation"]
    assert len(at.checkbox) == 2
    button(at, "Continuer").click().run()  # nothing ticked
    assert "Cochez chacune des conditions" in texts(at)
    assert count(store, "SELECT count(*) FROM cgu_acceptance") == 0
    accept_cgu(at)
    assert titles(at) == ["Espace ESAT"]
    rows = store.all("SELECT scope, version, accepted_at FROM cgu_acceptance ORDER BY scope")
    assert [(r["scope"], r["version"]) for r in rows] == [("esat", 1), ("mcp", 1)]
    assert all(r["accepted_at"].date() == date(2026, 12, 10) for r in rows)


@pytest.mark.parametrize("choice", ["Refuser", "Quitter"])
def test_refusing_or_quitting_the_cgu_returns_to_welcome(env, store, choice):
    at = start()
    login(at, DEMO)
    button(at, choice).click().run()
    assert titles(at) == ["Bienvenue sur Mon Compte Partenaire"]
    assert at.info, "an explanation is shown on the welcome page"
    assert count(store, "SELECT count(*) FROM cgu_acceptance") == 0


def test_new_cgu_version_is_asked_again(env, store):
    at = logged_in()
    store.execute(
        "INSERT INTO cgu_version VALUES ('esat', 2, 'CGU Espace ESAT', 'Nouvelle version du texte.', DATE '2026-12-01')"
    )
    at = start()
    login(at, DEMO)
    assert titles(at) == ["Conditions générales d'utilisation"]
    assert len(at.checkbox) == 1 and "version 2" in at.checkbox[0].label


def test_cgu_that_cannot_be_loaded_show_an_information_message(env, store):
    store.execute("DELETE FROM cgu_version WHERE scope = 'esat'")
    at = start()
    login(at, DEMO)
    assert "ne peuvent pas être affichées" in texts(at)
    assert not at.exception


def test_esat_without_bulletin_adhesion_sees_why(env):
    at = logged_in("esat.sans.contrat@example.org")
    assert titles(at) == ["Accès à l'Espace ESAT"]
    assert "bulletin d'adhésion au service ESAT" in texts(at)


def test_logout_forgets_the_session(env):
    at = logged_in()
    button(at, "Se déconnecter").click().run()
    assert titles(at) == ["Bienvenue sur Mon Compte Partenaire"]


# -- Accueil ---------------------------------------------------------------------------------


def test_home_of_an_esat_over_two_cafs(env, store):
    at = logged_in()
    assert at.selectbox(key="home_caf").value == PILOT_CAF
    known = count(store, "SELECT count(*) FROM worker WHERE esat_id = 1 AND caf_code = ?", [PILOT_CAF])
    assert at.metric[0].value == str(known)
    other = [o for o in at.selectbox(key="home_caf").options if "Maine" in o]
    at.selectbox(key="home_caf").set_value("491").run()
    assert at.metric[0].value == str(
        count(store, "SELECT count(*) FROM worker WHERE esat_id = 1 AND caf_code = '491'")
    )
    assert other


def test_home_of_an_esat_over_one_caf_has_no_choice(env):
    at = logged_in(SIMPLE)
    assert not at.selectbox
    assert "Caf de Loire-Atlantique" in texts(at)


def test_home_error_when_the_caf_knows_no_worker(env, store):
    store.execute("UPDATE worker SET caf_code = '491' WHERE esat_id = 2")
    at = logged_in(SIMPLE)
    at.selectbox(key="home_caf").set_value(PILOT_CAF).run()
    assert "Aucun travailleur de votre ESAT n'est connu de cette Caf." in [e.value for e in at.error]


# -- Mes travailleurs ------------------------------------------------------------------------


def tiles(at) -> list:
    return [b for b in at.button if b.key and b.key.startswith("tile_")]


def test_tiles_paginate_and_keep_the_selection(env, store):
    at = to_workers(logged_in())
    assert len(tiles(at)) == 24
    first_page = tiles(at)[0]
    first_page.click().run()
    button(at, "Page suivante").click().run()
    assert "Page 2 sur" in texts(at)
    tiles(at)[0].click().run()
    button(at, "Page précédente").click().run()
    assert at.button(key=first_page.key).proto.type == "primary"
    assert "**2** travailleurs sélectionnés" in texts(at)


def test_filter_by_allocataire_and_by_name_and_reset(env, store):
    worker = store.one("SELECT * FROM worker WHERE id = 1")
    at = to_workers(logged_in())
    at.text_input[0].input(worker["allocataire"])
    button(at, "Rechercher").click().run()
    assert [t.label for t in tiles(at)] == [
        f"{worker['last_name']} {worker['first_name']} — {worker['allocataire']}"
    ]
    at.text_input[0].input("zzzz-personne")
    button(at, "Rechercher").click().run()
    assert not tiles(at)
    assert "Aucun travailleur ne correspond" in texts(at)
    button(at, "Afficher tous les travailleurs").click().run()
    assert len(tiles(at)) == 24


def test_a_couple_is_two_tiles(env, store):
    couple = store.one(
        "SELECT caf_code, allocataire FROM worker WHERE esat_id = 1 GROUP BY caf_code, allocataire "
        "HAVING count(*) = 2 AND caf_code = ? LIMIT 1",
        [PILOT_CAF],
    )
    at = to_workers(logged_in())
    at.text_input[0].input(couple["allocataire"])
    button(at, "Rechercher").click().run()
    assert len(tiles(at)) == 2


def test_caf_pencil_only_with_several_cafs(env):
    at = to_workers(logged_in())
    assert [b for b in at.button if b.key == "caf_edit"]
    at = to_workers(logged_in(SIMPLE))
    assert not [b for b in at.button if b.key == "caf_edit"]


# -- the journey -----------------------------------------------------------------------------


def select_and_choose(at, worker_ids=(1, 2), kind="certificat_emploi"):
    for wid in worker_ids:
        at.button(key=f"tile_{wid}").click().run()
    button(at, "Déclarer pour la sélection").click().run()
    assert at.radio, "the choice pop-up is open"
    assert at.radio[0].options == ["Certificat d'emploi", "Changement de situation"]
    at.radio[0].set_value(kind).run()
    button(at, "Confirmer").click().run()
    assert titles(at) == ["Fiche travailleur"]
    return at


def abandon(at):
    """Mes travailleurs → « Abandonner la saisie » → Confirmer: the open batch ends."""
    if titles(at) != ["Mes travailleurs"]:
        at.switch_page("pages/travailleurs.py").run()
    button(at, "Abandonner la saisie").click().run()
    button(at, "Confirmer").click().run()
    assert [b for b in at.button if b.label == "Déclarer pour la sélection"]
    return at


def fill(at, values):
    for field_id, value in values.items():
        next(w for w in at.text_input if w.key and w.key.endswith(field_id)).input(value)
    at.run()
    return at


def test_full_certificat_for_two_workers(env, store):
    at = select_and_choose(to_workers(logged_in()))
    assert "travailleur 1 / 2" in texts(at)
    button(at, "Déclarer : Certificat d'emploi").click().run()
    assert titles(at) == ["Certificat d'emploi"]
    fill(at, {"remuneration_garantie": "abc", "aide_au_poste": "946,55", "part_esat": "153,95"})
    button(at, "Suivant : récapitulatif").click().run()
    assert any("doit être un montant en chiffres" in e.value for e in at.error)
    assert count(store, "SELECT count(*) FROM declaration WHERE worker_id = 1 AND campaign = 2026") == 0

    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    shown = texts(at)
    assert "1\u00a0100,50\u00a0€" in shown.replace("\\", "")
    button(at, "Modifier").click().run()
    assert at.text_input(key="w_1_certificat_emploi_remuneration_garantie").value == "1 100,50"
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Valider").click().run()
    assert "Votre déclaration a bien été transmise" in texts(at)
    assert count(store, "SELECT count(*) FROM declaration WHERE worker_id = 1 AND campaign = 2026") == 1
    assert (
        count(
            store,
            "SELECT count(*) FROM outbox o JOIN declaration d ON d.id = o.declaration_id WHERE d.worker_id = 1",
        )
        == 1
    )
    button(at, "Continuer").click().run()
    assert titles(at) == ["Fiche travailleur"] and "travailleur 2 / 2" in texts(at)

    button(at, "Déclarer : Certificat d'emploi").click().run()
    fill(at, {"remuneration_garantie": "900", "aide_au_poste": "750", "part_esat": "150"})
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Valider").click().run()
    at.feedback[0].set_value(3).run()  # 4 stars
    at.text_area[0].input("Simple et rapide.").run()
    button(at, "Envoyer mon avis").click().run()
    assert "Merci pour votre avis." in texts(at)
    # The demo data holds avis already: this one is the newest.
    assert store.one("SELECT rating, comment FROM feedback ORDER BY id DESC LIMIT 1") == {
        "rating": 4,
        "comment": "Simple et rapide.",
    }
    button(at, "Valider").click().run()  # the end page's Valider: last worker
    assert titles(at) == ["Mes travailleurs"]
    assert count(store, "SELECT count(*) FROM declaration WHERE worker_id IN (1, 2) AND campaign = 2026") == 2


def test_second_certificat_for_the_same_campaign_is_refused(env, store):
    at = select_and_choose(to_workers(logged_in()), (1,))
    button(at, "Déclarer : Certificat d'emploi").click().run()
    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Valider").click().run()
    button(at, "Valider").click().run()
    assert titles(at) == ["Mes travailleurs"]
    at = select_and_choose(at, (1,))
    assert "a déjà été transmis pour ce travailleur" in texts(at)
    assert not [b for b in at.button if b.label == "Déclarer : Certificat d'emploi"]


def test_quit_during_saisie_asks_then_returns_to_workers(env, store):
    at = select_and_choose(to_workers(logged_in()), (1,))
    button(at, "Déclarer : Certificat d'emploi").click().run()
    fill(at, VALID)
    button(at, "Quitter").click().run()
    button(at, "Annuler").click().run()
    assert titles(at) == ["Certificat d'emploi"]
    button(at, "Quitter").click().run()
    button(at, "Confirmer").click().run()
    assert titles(at) == ["Mes travailleurs"]
    assert count(store, "SELECT count(*) FROM declaration WHERE worker_id = 1 AND campaign = 2026") == 0


def test_quit_on_recap_returns_to_the_worker_card(env):
    at = select_and_choose(to_workers(logged_in()), (1,))
    button(at, "Déclarer : Certificat d'emploi").click().run()
    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Quitter").click().run()
    button(at, "Confirmer").click().run()
    assert titles(at) == ["Fiche travailleur"]


def test_worker_card_history_shows_two_rolling_years_only(env, store):
    at = select_and_choose(to_workers(logged_in()), (1,))
    rows = store.all("SELECT received_at FROM declaration WHERE worker_id = 1 ORDER BY received_at")
    assert any(r["received_at"].date() < date(2024, 12, 10) for r in rows), "demo data has old declarations"
    visible = [r for r in rows if r["received_at"].date() >= date(2024, 12, 10)]
    assert len(at.selectbox[0].options) == len(visible) > 0


def test_worker_card_without_history_says_so(env, store):
    store.execute("DELETE FROM declaration WHERE worker_id = 2")
    at = select_and_choose(to_workers(logged_in()), (2,))
    assert "Aucune déclaration n'a été transmise" in texts(at)


def test_skip_to_next_worker_then_finish(env):
    at = select_and_choose(to_workers(logged_in()), (1, 2))
    button(at, "Passer au travailleur suivant").click().run()
    assert "travailleur 2 / 2" in texts(at)
    button(at, "Passer au travailleur suivant").click().run()
    assert titles(at) == ["Mes travailleurs"]
    assert "La saisie est terminée" in texts(at)


def test_outside_the_window_only_changes_are_offered(env, monkeypatch):
    monkeypatch.setenv("ESAT_TODAY", "2026-11-30")
    at = to_workers(logged_in())
    at.button(key="tile_1").click().run()
    button(at, "Déclarer pour la sélection").click().run()
    assert at.radio[0].options == ["Changement de situation"]
    assert "Date simulée" in texts(at)
