"""The State's footer and its pages (issue 14): on every screen, for everyone, logged in or not,
links to the accessibility statement, the mentions légales and the données personnelles; the
statement shows the audit's figures (data/accessibilite.py, which tests/test_accessibility.py
checks against the audit); the wizard's step indicator names the current and the next step."""

from __future__ import annotations

import pytest

from data import accessibilite
from services import retention
from tests.apptest import accept_cgu, button, login, no_legacy_pages, start, texts, titles
from tests.test_pages import VALID, fill, logged_in, select_and_choose, to_workers
from tests.test_security_auth import visit

__all__ = ["no_legacy_pages"]

STATEMENT = "Déclaration d'accessibilité"
FOOTER = {  # url path of each page → the footer link's label
    "accessibilite": "Accessibilité : partiellement conforme",
    "mentions-legales": "Mentions légales",
    "donnees-personnelles": "Données personnelles",
}
H1 = {
    "pages/accessibilite.py": STATEMENT,
    "pages/mentions_legales.py": "Mentions légales",
    "pages/donnees_personnelles.py": "Données personnelles",
}


def links(at) -> dict[str, str]:
    """The page links drawn by the run: url path → label."""
    return {link.proto.page: link.proto.label for link in at.get("page_link")}


def has_footer(at) -> bool:
    found = links(at)
    return all(found.get(path) == label for path, label in FOOTER.items())


def test_every_kind_of_screen_has_the_footer(env):
    at = start()
    assert titles(at) == ["Bienvenue sur Mon Compte Partenaire"] and has_footer(at)
    login(at, "esat.demo@example.org")
    assert titles(at) == ["Conditions générales d'utilisation"] and has_footer(at)
    button(at, "Continuer").click().run()  # nothing ticked: the page stops early (st.stop)
    assert "Cochez chacune des conditions" in texts(at) and has_footer(at)
    accept_cgu(at)
    assert titles(at) == ["Espace ESAT"] and has_footer(at)
    to_workers(at)
    assert has_footer(at)
    for who, first in (
        ("agent.caf@example.org", "Campagne du certificat d'emploi"),
        ("admin.caf@example.org", "Partenaires"),
        ("relecteur@example.org", "Revue des formulaires"),
    ):
        at = logged_in(who)
        assert titles(at) == [first] and has_footer(at), who


def test_the_footer_pages_are_public(env):
    at = start()
    for page, h1 in H1.items():
        visit(at, page)
        assert titles(at) == [h1] and has_footer(at), page
        assert "Retour à la page « Bienvenue »" in links(at).values()  # the default page: url path ""
    # Before the CGU are accepted, too; the way back leads to them.
    at = login(start(), "esat.demo@example.org")
    assert titles(at) == ["Conditions générales d'utilisation"]
    for page, h1 in H1.items():
        visit(at, page)
        assert titles(at) == [h1], page
        assert "Retour à la page « Conditions générales d'utilisation »" in links(at).values()
    accept_cgu(visit(at, "pages/cgu.py"))
    assert titles(at) == ["Espace ESAT"]
    visit(at, "pages/accessibilite.py")
    assert titles(at) == [STATEMENT]
    assert "Retour à la page « Accueil »" in links(at).values()


def test_the_statement_shows_the_audit_figures_and_the_recourse(env):
    at = visit(start(), "pages/accessibilite.py")
    shown = texts(at)
    assert f"**{accessibilite.CONFORMITY}**" in shown and accessibilite.CONFORMITY == "partiellement conforme"
    assert f"{accessibilite.SCREENS} écrans" in shown
    assert f"{accessibilite.AXE_RULES} règles" in shown
    assert f"axe-core {accessibilite.AXE_VERSION}" in shown
    assert f"{accessibilite.VIOLATIONS} non-conformité" in shown
    assert f"{accessibilite.AUDITED_ON:%d/%m/%Y}" in shown
    assert f"mailto:{accessibilite.CONTACT}" in shown
    for section in (
        "État de conformité",
        "Résultats des tests",
        "Contenus non accessibles",
        "Établissement de cette déclaration",
        "Retour d'information et contact",
        "Voies de recours",
    ):
        assert section in [h.value for h in at.header], section
    assert "09 69 39 00 00" in shown
    assert "Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07" in shown
    assert "https://formulaire.defenseurdesdroits.fr/" in shown
    assert "version accessible (HTML)" in shown


def test_personal_data_page_states_the_retention_the_code_applies(env):
    at = visit(start(), "pages/donnees_personnelles.py")
    shown = texts(at)
    assert retention.RETENTION_DAYS == 730 and retention.BATCH_RETENTION_DAYS == 30
    assert "**2 ans** (730 jours)" in shown
    assert "**30 jours** sans modification" in shown
    assert "[À compléter pour le pilote]" in shown  # the DPO's contact, among others
    at = visit(at, "pages/mentions_legales.py")
    assert "[À compléter pour le pilote]" in texts(at)  # the host


@pytest.mark.parametrize(
    ("step", "counter", "after"),
    [
        ("saisie", "Étape 1 sur 3", "**Étape suivante :** Récapitulatif"),
        ("recap", "Étape 2 sur 3", "**Étape suivante :** Fin"),
        ("fin", "Étape 3 sur 3", "**Dernière étape**"),
    ],
)
def test_the_step_indicator_names_the_current_and_the_next_step(env, step, counter, after):
    at = select_and_choose(to_workers(logged_in()), (1,))
    button(at, "Déclarer : Certificat d'emploi").click().run()
    if step != "saisie":
        fill(at, VALID)
        button(at, "Suivant : récapitulatif").click().run()
    if step == "fin":
        button(at, "Valider").click().run()
    assert counter in [c.value for c in at.caption]
    markdown = [m.value for m in at.markdown]
    name = {"saisie": "Saisie", "recap": "Récapitulatif", "fin": "Fin"}[step]
    assert f"**:blue[{name}]**" in markdown
    bar = next(m for m in markdown if m.endswith(after))
    assert f":blue-background[**{counter[6]}. {name}**]" in bar
