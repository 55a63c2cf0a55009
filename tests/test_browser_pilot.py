"""A pilot from an empty store, in a real browser, on the store under test (DuckDB or PostgreSQL).

The administrator created by the command logs in with its provisional password (read in a real
SMTP server's mail), changes it, registers an ESAT and its three contracts, imports the 3-worker
sample file after its dry run, and creates the ESAT manager's and an agent's accounts; the manager
logs in with the provisional password of its mail, changes it, accepts the CGU, sees the 3
workers and files a certificat; the agent exports the day's hand-over, which holds it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from data.store import Store
from tests.browser import ROOT, browser, server
from tests.conftest import TODAY
from tests.smtp import smtp_server
from tests.test_browser import click, fill_certificat
from tests.test_browser_caf import idle

__all__ = ["smtp_server"]
pytestmark = pytest.mark.browser

ADMIN = "admin.pilote@caf441.example.org"
MANAGER = "direction@esat-pilote.example.org"
AGENT = "agent.pilote@caf441.example.org"
SIRET = "99900001100018"  # the ESAT of data/samples/travailleurs_exemple.csv
SAMPLE = ROOT / "data" / "samples" / "travailleurs_exemple.csv"
NEW_PASSWORDS = {
    ADMIN: "Le phare de Saint-Nazaire veille sur l'estuaire",
    MANAGER: "Trois cerisiers fleurissent derrière l'atelier bois",
    AGENT: "Une tasse de thé vert avant la corbeille du matin",
}
CERTIFICAT = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}


def messages_to(collector, address: str) -> list[email.message.EmailMessage]:
    found = []
    for envelope in collector.envelopes:
        if address in envelope.rcpt_tos:
            found.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
    return found


def provisional_password(collector, address: str) -> str:
    """The provisional password written in the last account e-mail sent to ``address``."""
    body = messages_to(collector, address)[-1].get_content()
    match = re.search(r"[Mm]ot de passe provisoire\s*:\s*(\S+)", body)
    assert match, body
    return match.group(1)


def first_login(page: Page, url: str, login: str, provisional: str, heading: str) -> None:
    """Provisional password → its change (before the CGU) → both CGU → the role's first page."""
    page.goto(url)
    page.get_by_label("Identifiant", exact=True).fill(login)
    page.get_by_label("Mot de passe", exact=True).fill(provisional)
    click(page, "Se connecter")
    expect(page.get_by_role("heading", name="Changer mon mot de passe", exact=True)).to_be_visible()
    for label, value in (
        ("Mot de passe actuel", provisional),
        ("Nouveau mot de passe", NEW_PASSWORDS[login]),
        ("Confirmez le nouveau mot de passe", NEW_PASSWORDS[login]),
    ):
        page.get_by_label(label, exact=True).fill(value)
    click(page, "Enregistrer le mot de passe")
    expect(page.get_by_role("heading", name="Conditions générales d'utilisation", exact=True)).to_be_visible()
    for i in range(2):
        page.get_by_text("J'ai lu et j'accepte", exact=False).nth(i).click()
        expect(page.get_by_role("checkbox").nth(i)).to_be_checked()
    click(page, "Continuer")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of a st.selectbox. While a rerun is drawn, Streamlit may show a stale copy of
    a widget beside the new one (measured here on the contract form): wait for a single one."""
    for _ in range(20):
        idle(page)
        box = page.get_by_role("combobox", name=label, exact=True)
        if box.count() != 1:
            page.wait_for_timeout(250)
            continue
        try:
            box.click(timeout=2_000)
            page.get_by_role("option", name=option, exact=True).click(timeout=2_000)
        except (PlaywrightTimeoutError, PlaywrightError):  # closed or duplicated meanwhile: again
            continue
        if box.count() == 1 and box.input_value() == option:
            return
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def fill(page: Page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Tab")


def nav(page: Page, name: str, heading: str) -> None:
    page.get_by_role("link", name=name, exact=True).first.click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def admin_sets_up_the_pilot(page: Page, url: str, collector) -> None:
    first_login(page, url, ADMIN, provisional_password(collector, ADMIN), "Partenaires")
    expect(page.get_by_text("Aucun partenaire n'est encore enregistré")).to_be_visible()
    fill(page, "Raison sociale", "ESAT du Pilote")
    fill(page, "SIRET (14 chiffres)", SIRET)
    fill(page, "Adresse", "12 rue des Ateliers")
    fill(page, "Code postal", "44000")
    fill(page, "Ville", "Nantes")
    fill(page, "Fonction 1 : nom", "ESAT du Pilote – atelier de Nantes")
    fill(page, "Fonction 1 : adresse", "12 rue des Ateliers")
    fill(page, "Fonction 1 : code postal", "44000")
    fill(page, "Fonction 1 : ville", "Nantes")
    click(page, "Enregistrer le partenaire")
    expect(page.get_by_text("Le partenaire a été enregistré")).to_be_visible()
    for label in (
        "La convention d'accès à Mon Compte Partenaire",
        "Le contrat de services",
        "Le bulletin d'adhésion au service ESAT",
    ):
        choose(page, "Document", label)
        click(page, "Enregistrer le document")
        expect(page.get_by_text("Le document a été enregistré")).to_be_visible()
    expect(page.get_by_text("Accès au service ESAT aujourd'hui : ouvert.")).to_be_visible()

    nav(page, "Fichier des travailleurs", "Fichier des travailleurs")
    page.locator("input[type=file]").set_input_files(str(SAMPLE))
    click(page, "Contrôler le fichier")
    expect(page.get_by_text("Le contrôle est réussi")).to_be_visible()
    expect(page.get_by_text("3 nouveaux", exact=False)).to_be_visible()
    click(page, "Importer le fichier")
    expect(page.get_by_text("Import terminé : 3 nouveaux")).to_be_visible()

    nav(page, "Comptes", "Comptes")
    for login, name, role in (
        (MANAGER, "Claire Fouquet", "Responsable d'ESAT"),
        (AGENT, "Loïc Hamelin", "Agent de la Caf"),
    ):
        fill(page, "Adresse e-mail (identifiant)", login)
        fill(page, "Nom et prénom", name)
        choose(page, "Rôle", role)
        if role == "Responsable d'ESAT":
            choose(page, "ESAT (pour un responsable d'ESAT)", "ESAT du Pilote")
        click(page, "Créer le compte")
        expect(page.get_by_text(f"Le compte {login} est créé")).to_be_visible()
        assert messages_to(collector, login)  # its provisional password, by SMTP


def manager_files_a_certificat(page: Page, url: str, collector) -> str:
    first_login(page, url, MANAGER, provisional_password(collector, MANAGER), "Espace ESAT")
    expect(page.get_by_text("ESAT du Pilote – atelier de Nantes")).to_be_visible()
    click(page, "Mes travailleurs")
    tiles = page.get_by_role("button", name=re.compile(r" — 99\d{5}$"))
    expect(tiles).to_have_count(3)
    tiles.first.click()
    expect(page.get_by_text("1 travailleur sélectionné")).to_be_visible()
    click(page, "Déclarer pour la sélection")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Certificat d'emploi")).to_be_visible()
    dialog.get_by_role("button", name="Confirmer").click()
    click(page, "Déclarer : Certificat d'emploi")
    fill_certificat(page, CERTIFICAT)
    text = page.get_by_text("Votre déclaration a bien été transmise").inner_text()
    return re.search(r"Numéro de reçu : (\S+?),", text).group(1)


def agent_exports_the_day(page: Page, url: str, collector) -> tuple[bytes, bytes]:
    first_login(page, url, AGENT, provisional_password(collector, AGENT), "Campagne du certificat d'emploi")
    nav(page, "Remise du jour", "Remise du jour")
    click(page, "Préparer la remise")
    expect(page.get_by_text("1 déclaration(s)")).to_be_visible()
    files = []
    for label in ("Télécharger (CSV)", "Télécharger (JSON Lines)"):
        with page.expect_download() as info:
            click(page, label)
        files.append(Path(info.value.path()).read_bytes())
    return files[0], files[1]


def test_a_pilot_from_an_empty_store(tmp_path: Path, empty_db: str, smtp_server) -> None:
    port, collector = smtp_server
    env = {
        "ESAT_DB": empty_db,
        "ESAT_OUTBOX": str(tmp_path / "outbox"),
        "ESAT_TODAY": TODAY.isoformat(),
        "ESAT_SECRET": "secret-du-pilote",
        "ESAT_SMTP_HOST": "127.0.0.1",
        "ESAT_SMTP_PORT": str(port),
        "ESAT_DEMO": "",  # a pilot: no demo mode, no demo account
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.admin", "create-admin", "--caf", "441", "--email", ADMIN],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Administrateur créé" in done.stdout

    with server(env, tmp_path / "server.log") as url, browser() as b:
        admin = b.new_context(accept_downloads=True).new_page()
        admin.set_default_timeout(20_000)
        admin_sets_up_the_pilot(admin, url, collector)
        manager = b.new_context().new_page()
        manager.set_default_timeout(20_000)
        receipt = manager_files_a_certificat(manager, url, collector)
        agent = b.new_context(accept_downloads=True).new_page()
        agent.set_default_timeout(20_000)
        csv, jsonl = agent_exports_the_day(agent, url, collector)

    assert receipt in csv.decode("utf-8-sig")
    (line,) = [json.loads(text) for text in jsonl.decode().splitlines()]
    assert line["receipt_number"] == receipt
    assert any(
        "Accusé de réception" in m["Subject"] and receipt in m["Subject"]
        for m in messages_to(collector, MANAGER)
    )
    store = Store(empty_db)  # the server has stopped: the store can be read
    try:
        assert store.scalar("SELECT count(*) FROM worker") == 3
        assert store.scalar("SELECT count(*) FROM declaration WHERE export_batch_id IS NOT NULL") == 1
        assert store.scalar("SELECT count(*) FROM account WHERE must_change_password") == 0
    finally:
        store.close()
