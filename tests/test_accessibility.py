"""The accessibility audit (issue 14): axe-core's WCAG 2.0/2.1 A and AA rules, in Debian's chromium,
on every screen of every role, with 0 violations of any impact; one h1, ordered headings,
``lang="fr"`` and a title "<écran> – Espace ESAT" on each (tests/a11y.py, docs/accessibility.md).

One server for the module, on a private copy of the demo store prepared before it starts (a
worker who left the ESAT, for the return form); one browser, one context per role.
Every test walks its screens, audits each once the script run is over, and reports every problem
of every screen at the end. The last test checks that the accessibility statement's figures
(data/accessibilite.py) are the audit's: screens visited, axe-core version, rules run.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from data import accessibilite
from data.store import Store
from services import declarations
from services.config import load_settings
from tests import stores
from tests.a11y import TAGS, audit, axe_version, run_axe, settle
from tests.browser import ROOT, browser, server
from tests.conftest import TODAY
from tests.test_browser import LABELS, click, login
from tests.test_browser_caf import choose as choose_first
from tests.test_browser_changes import Q_DEBUT, Q_DOUBLE, Q_FIN, Q_NATURE, answer, choose, day
from tests.test_keyboard import tab_to
from tests.test_services import account

# One xdist worker runs the whole module: one server, and the statement test reads what the
# audit tests of this process measured (AUDITED).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("accessibility")]

ESAT = "esat.demo@example.org"
CHANGE = "Changement de situation"
NEW_MANAGER = "nouveau.responsable@example.org"
SAMPLE = ROOT / "data" / "samples" / "travailleurs_exemple.csv"
SAISIE, RECAP, FIN = (
    f"Déclaration, étape {n} sur 3 : {step}" for n, step in enumerate(("Saisie", "Récapitulatif", "Fin"), 1)
)


@dataclass
class App:
    url: str
    outbox: Path
    certificat: str  # allocataire of a worker without a certificat for 2026
    ordinary: str  # allocataire of a worker active in the ESAT only
    double: str  # allocataire of a worker in double activity
    gone: str  # allocataire of a worker who left the ESAT (a départ filed before the server starts)


def prepare(db: str) -> dict[str, str]:
    """Pick the workers of the journeys, and file a départ for one (while no server holds the store)."""
    store = Store(db)
    try:
        ids = store.all(
            "SELECT w.id, w.allocataire, w.double_activity FROM worker w WHERE w.esat_id = 1 "
            "AND w.caf_code = '441' AND w.status = 'ACTIVE' AND NOT EXISTS (SELECT 1 FROM declaration d "
            "WHERE d.worker_id = w.id AND d.campaign = 2026) AND NOT EXISTS (SELECT 1 FROM worker o "
            "WHERE o.allocataire = w.allocataire AND o.id <> w.id) ORDER BY w.id"
        )
        ordinary = [r for r in ids if not r["double_activity"]]
        double = [r for r in ids if r["double_activity"]]
        assert len(ordinary) >= 3 and double, "the demo store changed"
        manager = account(store, ESAT)
        form = declarations.forms()["depart_esat"]
        payload = {"date_depart": date(2026, 12, 1), "motif_depart": "retraite"}
        declarations.submit(store, load_settings(), manager, ordinary[2]["id"], form, payload, "a11y-depart")
        return {
            "certificat": ordinary[0]["allocataire"],
            "ordinary": ordinary[1]["allocataire"],
            "double": double[0]["allocataire"],
            "gone": ordinary[2]["allocataire"],
        }
    finally:
        store.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, seeded_db: str) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("a11y")
    db = stores.copy(seeded_db, tmp)
    env = {
        "ESAT_DB": db,
        "ESAT_OUTBOX": str(tmp / "outbox"),
        "ESAT_TODAY": TODAY.isoformat(),
        "ESAT_SECRET": "test-secret",
        "ESAT_SMTP_HOST": "",
        "ESAT_SMTP_PORT": "",
        "ESAT_DEMO": "1",
    }
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            workers = prepare(db)
        with server(env, tmp / "server.log") as url:
            yield App(url, tmp / "outbox", **workers)
    finally:
        stores.drop(db)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as b:
        yield b


# Screens audited by each test of the module that passed (its name → how many).
AUDITED: dict[str, int] = {}


@dataclass
class Audit:
    """The screens of one journey and what is wrong with them."""

    page: Page
    screens: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __call__(self, screen: str, title: str) -> None:
        self.problems += audit(self.page, screen, title)
        self.screens.append(screen)

    def assert_clean(self, at_least: int) -> None:
        assert len(self.screens) >= at_least, self.screens
        assert not self.problems, f"{len(self.problems)} problème(s) :\n" + "\n".join(self.problems)
        # PYTEST_CURRENT_TEST: "<node id> (call)", set by pytest while a test runs (under xdist's
        # loadgroup the node id ends with "@<group>").
        name = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split(" ")[0].split("@")[0]
        AUDITED[name] = len(self.screens)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(20_000)
    yield p
    context.close()


def heading(page: Page, name: str) -> None:
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def enter(page: Page, url: str, login_name: str, first: str) -> None:
    """Log in; accept the CGU if they are asked (an earlier test may have accepted them)."""
    login(page, url, login_name)
    cgu = page.get_by_role("heading", name="Conditions générales d'utilisation", exact=True)
    expect(cgu.or_(page.get_by_role("heading", name=first, exact=True))).to_be_visible()
    if cgu.is_visible():
        for i in range(2):
            page.get_by_text("J'ai lu et j'accepte", exact=False).nth(i).click()
        click(page, "Continuer")
    heading(page, first)


def nav(page: Page, link: str, title: str) -> None:
    """Follow a link (the last ones of the top navigation are in its "N more" menu)."""
    target = page.get_by_role("link", name=link, exact=True).first
    more = page.get_by_role("navigation").get_by_role("button", name=re.compile(r"^\d+ more$"))
    expect(target.or_(more).first).to_be_visible()  # the navigation is drawn
    if target.is_visible():
        target.click()
    else:
        more.click()
        page.get_by_role("menuitem", name=link, exact=True).click()
    heading(page, title)


def select(page: Page, allocataire: str) -> None:
    box = page.get_by_role("textbox", name="Rechercher un travailleur", exact=True)
    box.fill(allocataire)
    click(page, "Rechercher")
    tile = page.get_by_role("button", name=f" — {allocataire}")
    expect(tile).to_have_count(1)
    expect(page.get_by_role("button", name=" — ")).to_have_count(1)  # the search has run
    tile.click()
    expect(page.get_by_text("sélectionné", exact=False).last).to_be_visible()


def choose_kind(page: Page, kind: str, check: Audit | None = None) -> None:
    click(page, "Déclarer pour la sélection")
    dialog = page.get_by_role("dialog")
    group = dialog.get_by_role("radiogroup", name="Type de déclaration")
    expect(group).to_be_visible()
    if check is not None:
        check("Choix du type de déclaration (fenêtre)", "Mes travailleurs")
    group.get_by_text(kind, exact=True).click()
    expect(group.get_by_role("radio", name=kind, exact=True)).to_be_checked()
    dialog.get_by_role("button", name="Confirmer", exact=True).click()
    heading(page, "Fiche travailleur")


def saisie_with_errors(page: Page, check: Audit, title: str) -> None:
    """The form of ``title`` sent empty: its errors shown under the fields."""
    heading(page, title)
    check(f"{title} : saisie", SAISIE)
    click(page, "Suivant : récapitulatif")
    expect(page.get_by_test_id("stAlertContentError").first).to_be_visible()
    check(f"{title} : saisie avec erreurs", SAISIE)


def begin(page: Page, title: str) -> None:
    click(page, "Commencer la saisie")
    heading(page, title)


def test_public_screens(app: App, page: Page):
    check = Audit(page)
    page.goto(app.url)
    heading(page, "Bienvenue sur Mon Compte Partenaire")
    check("Bienvenue", "Bienvenue")
    page.get_by_label("Identifiant", exact=True).fill(ESAT)
    page.get_by_label("Mot de passe", exact=True).fill("pas le bon mot de passe")
    click(page, "Se connecter")
    expect(page.get_by_test_id("stAlertContentError")).to_be_visible()
    check("Bienvenue : identifiants refusés", "Bienvenue")

    nav(page, "Mot de passe oublié ?", "Mot de passe oublié")
    check("Mot de passe oublié", "Mot de passe oublié")
    click(page, "Recevoir un lien")
    expect(page.get_by_text("Saisissez votre adresse e-mail.")).to_be_visible()
    check("Mot de passe oublié : adresse manquante", "Mot de passe oublié")
    nav(page, "Retour à la connexion", "Bienvenue sur Mon Compte Partenaire")

    nav(page, "Vérifier un justificatif", "Vérifier un justificatif")
    check("Vérifier un justificatif", "Vérifier un justificatif")
    click(page, "Vérifier")
    expect(page.get_by_test_id("stAlertContentError").first).to_be_visible()
    check("Vérifier un justificatif : erreurs", "Vérifier un justificatif")

    page.goto(f"{app.url}/reinitialisation")
    heading(page, "Choisir un nouveau mot de passe")
    check("Nouveau mot de passe (lien absent)", "Nouveau mot de passe")

    login(page, app.url, "esat.sans.contrat@example.org")
    cgu = page.get_by_role("heading", name="Conditions générales d'utilisation", exact=True)
    expect(cgu).to_be_visible()
    check("Conditions générales d'utilisation", "Conditions générales d'utilisation")
    click(page, "Continuer")
    expect(page.get_by_text("Cochez chacune des conditions")).to_be_visible()
    check("Conditions générales d'utilisation : non cochées", "Conditions générales d'utilisation")
    for i in range(2):
        page.get_by_text("J'ai lu et j'accepte", exact=False).nth(i).click()
    click(page, "Continuer")
    heading(page, "Accès à l'Espace ESAT")
    check("Accès au service (sans contrat)", "Accès au service")
    check.assert_clean(at_least=10)


def test_esat_manager_screens_and_a_certificat(app: App, page: Page):
    check = Audit(page)
    enter(page, app.url, ESAT, "Espace ESAT")
    check("Accueil", "Accueil")
    click(page, "Mes travailleurs")
    heading(page, "Mes travailleurs")
    expect(page.get_by_text("Page 1 sur")).to_be_visible()
    check("Mes travailleurs", "Mes travailleurs")
    select(page, app.certificat)
    check("Mes travailleurs : un travailleur sélectionné", "Mes travailleurs")
    choose_kind(page, "Certificat d'emploi", check)
    check("Fiche travailleur", "Fiche travailleur")
    click(page, "Déclarer : Certificat d'emploi")
    saisie_with_errors(page, check, "Certificat d'emploi")
    for field_id, value in {
        "remuneration_garantie": "1 100,50",
        "aide_au_poste": "946,55",
        "part_esat": "153,95",
    }.items():
        box = page.get_by_role("textbox", name=LABELS[field_id], exact=True)
        box.fill(value)
        box.press("Enter")
    click(page, "Suivant : récapitulatif")
    expect(page.get_by_text("Vérifiez votre déclaration")).to_be_visible()
    check("Certificat d'emploi : récapitulatif", RECAP)
    click(page, "Quitter")
    expect(page.get_by_role("dialog")).to_be_visible()
    check("Quitter la déclaration ? (fenêtre)", RECAP)
    page.get_by_role("dialog").get_by_role("button", name="Annuler", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    click(page, "Valider")
    expect(page.get_by_text("Votre déclaration a bien été transmise")).to_be_visible()
    check("Certificat d'emploi : fin", FIN)
    click(page, "Valider")
    heading(page, "Mes travailleurs")
    expect(page.get_by_text("Vos déclarations ont été transmises")).to_be_visible()
    check("Mes travailleurs : récapitulatif de la saisie", "Mes travailleurs")

    # The fiche of a worker with a justificatif, and its rectificatif offered.
    select(page, app.certificat)
    choose_kind(page, "Certificat d'emploi")
    expect(page.get_by_role("button", name="Rectifier")).to_be_visible()
    check("Fiche travailleur : justificatifs", "Fiche travailleur")
    click(page, "Retour à Mes travailleurs")
    heading(page, "Mes travailleurs")
    click(page, "Abandonner la saisie")
    expect(page.get_by_role("dialog")).to_be_visible()
    check("Abandonner la saisie ? (fenêtre)", "Mes travailleurs")
    page.get_by_role("dialog").get_by_role("button", name="Confirmer", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    # Certificats d'emploi en tableau: a row in error, then its récapitulatif.
    click(page, "Retour à l'accueil")
    heading(page, "Espace ESAT")
    click(page, "Certificats d'emploi en tableau")
    heading(page, "Certificats d'emploi en tableau")
    expect(page.get_by_text("Page 1 sur")).to_be_visible()
    check("Certificats en tableau : saisie", "Certificats d'emploi en tableau")
    labels = [re.compile(f"^{re.escape(label.removesuffix(' (€)'))} — ") for label in LABELS.values()]
    for pattern, value in zip(labels, ("1 100,50", "abc", "153,95"), strict=True):
        page.get_by_role("textbox", name=pattern).first.fill(value)
    click(page, "Vérifier et voir le récapitulatif")
    expect(page.get_by_text("1 ligne(s) en erreur")).to_be_visible()
    check("Certificats en tableau : ligne en erreur", "Certificats d'emploi en tableau")
    page.get_by_role("textbox", name=labels[1]).first.fill("946,55")
    click(page, "Vérifier et voir le récapitulatif")
    expect(page.get_by_text("Vérifiez vos certificats")).to_be_visible()
    check("Certificats en tableau : récapitulatif", "Certificats d'emploi en tableau")
    click(page, "Valider")
    expect(page.get_by_text("1 certificat(s) transmis à la Caf")).to_be_visible()
    check("Certificats en tableau : fin", "Certificats d'emploi en tableau")
    click(page, "Terminer")
    heading(page, "Mes travailleurs")

    click(page, "Retour à l'accueil")
    heading(page, "Espace ESAT")
    nav(page, "Guide utilisateur de l'Espace ESAT", "Guide utilisateur de l'Espace ESAT")
    check("Guide utilisateur", "Guide utilisateur")
    nav(page, "Mon mot de passe", "Changer mon mot de passe")
    check("Mon mot de passe", "Mon mot de passe")
    click(page, "Enregistrer le mot de passe")
    expect(page.get_by_test_id("stAlertContentError").first).to_be_visible()
    check("Mon mot de passe : erreurs", "Mon mot de passe")
    check.assert_clean(at_least=20)


def test_esat_manager_every_change_of_situation(app: App, page: Page):
    check = Audit(page)
    enter(page, app.url, ESAT, "Espace ESAT")
    click(page, "Mes travailleurs")
    heading(page, "Mes travailleurs")
    for allocataire in (app.ordinary, app.double, app.gone):
        select(page, allocataire)
    choose_kind(page, CHANGE)

    # Worker 1, active in the ESAT only: the questions, a refusal, and three forms.
    click(page, f"Déclarer : {CHANGE}")
    heading(page, CHANGE)
    check("Changement : questions", SAISIE)
    answer(page, Q_DOUBLE, "Non")
    answer(page, Q_NATURE, "Un retour dans l'ESAT après un congé ou un départ")
    expect(page.get_by_test_id("stAlertContentError")).to_be_visible()
    check("Changement : questions, déclaration refusée", SAISIE)
    answer(page, Q_NATURE, "Une augmentation ou une réduction d'activité")
    check("Changement : questions répondues", SAISIE)
    begin(page, "Augmentation ou réduction d'activité")
    saisie_with_errors(page, check, "Augmentation ou réduction d'activité")
    click(page, "Modifier mes réponses")
    answer(page, Q_NATURE, "Un départ de l'ESAT")
    begin(page, "Départ de l'ESAT")
    saisie_with_errors(page, check, "Départ de l'ESAT")
    day(page, "Date du départ", date(2026, 12, 15))
    choose(page, "Motif du départ", "Congé parental d'éducation")
    expect(page.get_by_role("group", name="Date prévisionnelle de retour", exact=True)).to_be_visible()
    check("Départ de l'ESAT : date de retour demandée", SAISIE)
    click(page, "Modifier mes réponses")
    answer(page, Q_DOUBLE, "Oui")
    answer(page, Q_DEBUT, "Oui")
    begin(page, "Début de double activité")
    saisie_with_errors(page, check, "Début de double activité")
    click(page, "Quitter")
    page.get_by_role("dialog").get_by_role("button", name="Confirmer", exact=True).click()
    heading(page, "Mes travailleurs")
    click(page, "Reprendre la saisie")
    heading(page, "Fiche travailleur")
    click(page, "Passer au travailleur suivant")
    expect(page.get_by_text("travailleur 2 / 3")).to_be_visible()

    # Worker 2, in double activity: its end, its modification (filed).
    click(page, f"Déclarer : {CHANGE}")
    answer(page, Q_DOUBLE, "Oui")
    answer(page, Q_DEBUT, "Non")
    answer(page, Q_FIN, "Oui")
    begin(page, "Fin de double activité")
    saisie_with_errors(page, check, "Fin de double activité")
    click(page, "Modifier mes réponses")
    answer(page, Q_FIN, "Non")
    begin(page, "Modification de la double activité")
    saisie_with_errors(page, check, "Modification de la double activité")
    click(page, "Quitter")
    page.get_by_role("dialog").get_by_role("button", name="Confirmer", exact=True).click()
    heading(page, "Mes travailleurs")
    click(page, "Reprendre la saisie")
    heading(page, "Fiche travailleur")
    click(page, "Passer au travailleur suivant")
    expect(page.get_by_text("travailleur 3 / 3")).to_be_visible()

    # Worker 3, gone since 1 December: the return, filed.
    click(page, f"Déclarer : {CHANGE}")
    answer(page, Q_DOUBLE, "Non")
    answer(page, Q_NATURE, "Un retour dans l'ESAT après un congé ou un départ")
    begin(page, "Retour dans l'ESAT")
    saisie_with_errors(page, check, "Retour dans l'ESAT")
    check.assert_clean(at_least=15)


def test_caf_agent_screens(app: App, page: Page):
    check = Audit(page)
    enter(page, app.url, "agent.caf@example.org", "Campagne du certificat d'emploi")
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    check("Campagne", "Campagne")
    # The links of the top navigation: reached with Tab, their focus outlined by the app.
    tab_to(page, page.get_by_test_id("stTopNavLink"), "navigation du haut")
    nav(page, "Changements de situation", "Changements de situation")
    check("Changements de situation", "Changements de situation")
    nav(page, "Corbeille", "Corbeille des déclarations")
    check("Corbeille", "Corbeille")
    choose_first(page, "Ouvrir une déclaration de cette page")
    expect(page.get_by_role("button", name="Marquer comme traitée")).to_be_visible()
    check("Corbeille : détail d'une déclaration", "Corbeille")
    nav(page, "Remise du jour", "Remise du jour")
    check("Remise du jour", "Remise du jour")
    nav(page, "Avis", "Avis des ESAT")
    check("Avis", "Avis")
    nav(page, "Revue des formulaires", "Revue des formulaires")
    check("Revue des formulaires", "Revue des formulaires")
    for tab in ("Champs et règles", "Essayer ce formulaire", "Versions", "Commentaires"):
        page.get_by_role("tab", name=tab, exact=True).click()
        expect(page.get_by_role("tab", name=tab, exact=True)).to_have_attribute("aria-selected", "true")
        check(f"Revue des formulaires : {tab}", "Revue des formulaires")
    nav(page, "Vérifier un justificatif", "Vérifier un justificatif")
    check("Vérifier un justificatif (agent)", "Vérifier un justificatif")
    check.assert_clean(at_least=11)


def test_caf_admin_screens_and_a_provisional_password(app: App, page: Page):
    check = Audit(page)
    enter(page, app.url, "admin.caf@example.org", "Partenaires")
    check("Partenaires", "Partenaires")
    click(page, "Enregistrer le partenaire")
    expect(page.get_by_test_id("stAlertContentError").first).to_be_visible()
    check("Partenaires : nouveau partenaire refusé", "Partenaires")
    choose_first(page, "Partenaire à consulter ou modifier", "SIRET")
    heading(page, "Documents contractuels")
    check("Partenaires : un partenaire et ses documents", "Partenaires")
    nav(page, "Comptes", "Comptes")
    check("Comptes", "Comptes")
    page.get_by_label("Adresse e-mail (identifiant)", exact=True).fill(NEW_MANAGER)
    page.get_by_label("Nom et prénom", exact=True).fill("Camille Nouvelle")
    click(page, "Créer le compte")
    expect(page.get_by_test_id("stAlertContentError").first).to_be_visible()  # no ESAT chosen
    check("Comptes : erreurs", "Comptes")
    choose(page, "Rôle", "Agent de la Caf")
    click(page, "Créer le compte")
    expect(page.get_by_text("est créé")).to_be_visible()
    check("Comptes : compte créé", "Comptes")
    nav(page, "Fichier des travailleurs", "Fichier des travailleurs")
    check("Fichier des travailleurs", "Fichier des travailleurs")
    page.locator("input[type=file]").set_input_files(str(SAMPLE))
    click(page, "Contrôler le fichier")
    expect(page.get_by_text("lignes lues")).to_be_visible()
    check("Fichier des travailleurs : contrôle", "Fichier des travailleurs")

    # The new manager's first login: the change of the provisional password comes first.
    click(page, "Se déconnecter")
    heading(page, "Bienvenue sur Mon Compte Partenaire")
    page.get_by_label("Identifiant", exact=True).fill(NEW_MANAGER)
    page.get_by_label("Mot de passe", exact=True).fill(provisional_password(app.outbox, NEW_MANAGER))
    click(page, "Se connecter")
    heading(page, "Changer mon mot de passe")
    expect(page.get_by_text("Votre mot de passe est provisoire")).to_be_visible()
    check("Mot de passe provisoire à changer", "Mon mot de passe")
    page.get_by_label("Nouveau mot de passe", exact=True).fill("court")
    click(page, "Enregistrer le mot de passe")
    expect(page.get_by_test_id("stAlertContentError").first).to_be_visible()
    check("Mot de passe provisoire : erreurs", "Mon mot de passe")
    check.assert_clean(at_least=10)


def provisional_password(outbox: Path, address: str) -> str:
    """The provisional password of the account e-mail sent to ``address`` (outbox folder)."""
    for path in sorted(outbox.glob("compte-*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if msg["To"] == address:
            found = re.search(r"[Mm]ot de passe provisoire\s*:\s*(\S+)", msg.get_content())
            assert found, "no provisional password in the e-mail"
            return found.group(1)
    raise AssertionError(f"no account e-mail to {address}")


def test_the_audit_catches_a_field_without_a_label(app: App, page: Page):
    """Checked once: the login page passes, and the same page with the label of its password field
    removed (its <label> and the aria-label Streamlit copies onto the input) fails on that field."""
    page.goto(app.url)
    heading(page, "Bienvenue sur Mon Compte Partenaire")
    settle(page)
    assert run_axe(page) == []
    field = page.locator("input[type=password]")
    expect(field).to_have_accessible_name("Mot de passe")
    field.evaluate(
        """input => {
            document.querySelector(`label[for="${input.id}"]`).remove();
            input.removeAttribute('aria-label');
        }"""
    )
    expect(field).to_have_accessible_name("")
    violations = run_axe(page)
    assert [v["id"] for v in violations] == ["label"]
    assert [n["html"] for n in violations[0]["nodes"]] == [field.evaluate("e => e.outerHTML")]


def test_footer_pages(app: App, page: Page):
    """The footer of every screen leads to the accessibility statement, the mentions légales and the
    données personnelles, logged in or not; each page has its way back."""
    check = Audit(page)
    page.goto(app.url)
    heading(page, "Bienvenue sur Mon Compte Partenaire")
    for link, title, h1 in FOOTER:
        follow(page, link, h1)
        check(f"{title} (public)", title)
    follow(page, "Retour à la page « Bienvenue »", "Bienvenue sur Mon Compte Partenaire")
    enter(page, app.url, ESAT, "Espace ESAT")
    follow(page, FOOTER[0][0], FOOTER[0][2])
    check("Accessibilité (ESAT)", "Accessibilité")
    follow(page, "Retour à la page « Accueil »", "Espace ESAT")
    check.assert_clean(at_least=4)


def follow(page: Page, link: str, title: str) -> None:
    """Follow a link of the page once its script run is over (the footer is redrawn by each run)."""
    settle(page)
    page.get_by_role("link", name=link, exact=True).click()
    heading(page, title)


FOOTER = [  # link of the footer, page title, its h1
    (f"Accessibilité : {accessibilite.CONFORMITY}", "Accessibilité", "Déclaration d'accessibilité"),
    ("Mentions légales", "Mentions légales", "Mentions légales"),
    ("Données personnelles", "Données personnelles", "Données personnelles"),
]
AUDIT_TESTS = (
    "test_public_screens",
    "test_esat_manager_screens_and_a_certificat",
    "test_esat_manager_every_change_of_situation",
    "test_caf_agent_screens",
    "test_caf_admin_screens_and_a_provisional_password",
    "test_footer_pages",
)


def test_the_statement_shows_the_audit_figures(app: App, page: Page):
    """The statement's figures (data/accessibilite.py) are what this audit measured: every screen
    of the module's tests (they must all have passed), the pinned axe-core and its rules."""
    assert set(AUDIT_TESTS) <= set(globals())
    missing = [name for name in AUDIT_TESTS if name not in AUDITED]
    if missing:
        pytest.skip(f"needs every audit test of the module to pass first: {missing}")
    assert sum(AUDITED.values()) == accessibilite.SCREENS, AUDITED
    assert accessibilite.VIOLATIONS == 0  # each test above asserted 0 violations on its screens
    assert axe_version() == accessibilite.AXE_VERSION
    assert tuple(TAGS) == accessibilite.AXE_TAGS
    page.goto(app.url)
    settle(page)
    assert run_axe(page) == []
    assert page.evaluate("tags => axe.getRules(tags).length", TAGS) == accessibilite.AXE_RULES


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: nothing to scroll sideways)."""
    settle(page)
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_text_at_200_percent_needs_no_sideways_scrolling(app: App, chromium: Browser):
    """RGAA 10.4 / WCAG 1.4.4 and 1.4.10: at 200 % zoom (a 1280 × 900 window shows 640 × 450 CSS
    pixels), the screens reflow: no horizontal scrolling, the main heading and actions reachable."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=2)
    page = context.new_page()
    page.set_viewport_size({"width": 640, "height": 450})
    page.set_default_timeout(20_000)
    try:
        page.goto(app.url)
        heading(page, "Bienvenue sur Mon Compte Partenaire")
        widths = {"Bienvenue": overflow(page)}
        enter(page, app.url, ESAT, "Espace ESAT")
        widths["Accueil"] = overflow(page)
        click(page, "Certificats d'emploi en tableau")  # offered on Accueil, a batch open or not
        heading(page, "Certificats d'emploi en tableau")
        expect(page.get_by_role("button", name="Vérifier et voir le récapitulatif")).to_be_visible()
        widths["Certificats d'emploi en tableau"] = overflow(page)
        click(page, "Quitter")
        heading(page, "Mes travailleurs")
        widths["Mes travailleurs"] = overflow(page)
    finally:
        context.close()
    assert widths == dict.fromkeys(widths, 0), widths
