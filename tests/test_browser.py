"""The partner journey in a real browser: Debian chromium driven by Playwright."""

from __future__ import annotations

import email
import email.policy
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from services.declarations import forms
from tests.browser import browser, server
from tests.conftest import PASSWORD, TODAY

pytestmark = pytest.mark.browser

FIRST = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}
SECOND = {"remuneration_garantie": "900", "aide_au_poste": "750", "part_esat": "150"}
# The certificat's amount fields as the screen labels them (whatever the form's current wording).
LABELS = {f.id: f"{f.label} (€)" for f in forms()["certificat_emploi"].fields if f.type == "amount"}


@pytest.fixture
def app_url(tmp_path: Path, demo_db: str):
    env = {
        "ESAT_DB": demo_db,
        "ESAT_OUTBOX": str(tmp_path / "outbox"),
        "ESAT_TODAY": TODAY.isoformat(),
        "ESAT_SECRET": "test-secret",
        "ESAT_SMTP_HOST": "",
        "ESAT_SMTP_PORT": "",
    }
    with server(env, tmp_path / "server.log") as url:
        yield url, tmp_path / "outbox"


def click(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).first.click()


def login(page: Page, url: str, login: str) -> None:
    page.goto(url)
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    click(page, "Se connecter")


def login_and_accept(page: Page, url: str, login_name: str, heading: str = "Espace ESAT") -> None:
    login(page, url, login_name)
    expect(page.get_by_role("heading", name="Conditions générales d'utilisation", exact=True)).to_be_visible()
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(2)
    for i in range(2):
        page.get_by_text("J'ai lu et j'accepte", exact=False).nth(i).click()
        expect(boxes.nth(i)).to_be_checked()
    click(page, "Continuer")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def fill_certificat(page: Page, values: dict[str, str]) -> None:
    expect(page.get_by_role("heading", name="Certificat d'emploi", exact=True)).to_be_visible()
    for field_id, value in values.items():
        box = page.get_by_role("textbox", name=LABELS[field_id], exact=True)
        box.fill(value)
        box.press("Enter")
    click(page, "Suivant : récapitulatif")
    expect(page.get_by_text("Vérifiez votre déclaration")).to_be_visible()
    click(page, "Valider")
    expect(page.get_by_text("Votre déclaration a bien été transmise")).to_be_visible()


def download_pdf_text(page: Page) -> str:
    with page.expect_download() as info:
        click(page, "Télécharger")
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def tile(page: Page, nth: int):
    """The nth worker tile: "NOM Prénom — 99xxxxx", then " (sélectionné)" once selected."""
    return page.get_by_role("button", name=re.compile(r" — 99\d{5}( \(sélectionné\))?$")).nth(nth)


def last_name(page: Page, nth: int) -> str:
    """The NOM on a tile "NOM Prénom — 99xxxxx" (the tile also holds its icon's name)."""
    label = next(line for line in tile(page, nth).inner_text().splitlines() if " — " in line)
    return label.split()[0]


def test_demo_esat_files_two_certificats_on_two_pages(app_url):
    """The whole journey; also PRIV-07: every request the browser makes goes to 127.0.0.1."""
    url, outbox = app_url
    requested: list[str] = []
    with browser() as b:
        page = b.new_page(accept_downloads=True)
        page.set_default_timeout(20_000)
        page.on("request", lambda request: requested.append(request.url))
        login_and_accept(page, url, "esat.demo@example.org")
        click(page, "Mes travailleurs")
        expect(page.get_by_text("Page 1 sur")).to_be_visible()
        first_name = last_name(page, 0)
        tile(page, 0).click()
        expect(page.get_by_text("1 travailleur sélectionné")).to_be_visible()
        click(page, "Page suivante")
        expect(page.get_by_text("Page 2 sur")).to_be_visible()
        second_name = last_name(page, 0)
        tile(page, 0).click()
        expect(page.get_by_text("2 travailleurs sélectionnés")).to_be_visible()

        click(page, "Déclarer pour la sélection")
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Certificat d'emploi")).to_be_visible()
        dialog.get_by_role("button", name="Confirmer").click()

        expect(page.get_by_text("travailleur 1 / 2")).to_be_visible()
        click(page, "Déclarer : Certificat d'emploi")
        fill_certificat(page, FIRST)
        text = download_pdf_text(page)
        assert "1 100,50 €" in text and "946,55 €" in text and "153,95 €" in text
        assert first_name in text
        click(page, "Continuer")

        expect(page.get_by_text("travailleur 2 / 2")).to_be_visible()
        click(page, "Déclarer : Certificat d'emploi")
        # Logged out in mid-batch, the second certificat half typed: the next login finds both.
        box = page.get_by_role("textbox", name=LABELS["remuneration_garantie"], exact=True)
        box.fill(SECOND["remuneration_garantie"])
        box.press("Enter")
        click(page, "Se déconnecter")
        login(page, url, "esat.demo@example.org")
        expect(
            page.get_by_text("Une saisie est en cours : Certificat d'emploi — travailleur 2 / 2")
        ).to_be_visible()
        click(page, "Reprendre la saisie")
        box = page.get_by_role("textbox", name=LABELS["remuneration_garantie"], exact=True)
        expect(box).to_have_value(SECOND["remuneration_garantie"])
        fill_certificat(page, SECOND)
        text = download_pdf_text(page)
        assert "900,00 €" in text and "750,00 €" in text and "150,00 €" in text
        assert second_name in text
        click(page, "Valider")
        expect(page.get_by_role("heading", name="Mes travailleurs", exact=True)).to_be_visible()

    hosts = {urlsplit(u).hostname for u in requested if not u.startswith(("data:", "blob:"))}
    assert len(requested) > 10 and hosts == {"127.0.0.1"}, hosts
    mails = sorted(outbox.glob("*.eml"))
    assert len(mails) == 2
    for path in mails:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert msg["To"] == "esat.demo@example.org"
        assert "Accusé de réception" in msg["Subject"]
        assert "€" not in msg.get_content()


def test_simple_esat_files_one_certificat(app_url):
    url, outbox = app_url
    with browser() as b:
        page = b.new_page(accept_downloads=True)
        page.set_default_timeout(20_000)
        login_and_accept(page, url, "esat.simple@example.org")
        expect(page.get_by_role("combobox")).to_have_count(0)  # one Caf: nothing to choose
        click(page, "Mes travailleurs")
        tile(page, 0).click()
        expect(page.get_by_text("1 travailleur sélectionné")).to_be_visible()
        click(page, "Déclarer pour la sélection")
        page.get_by_role("dialog").get_by_role("button", name="Confirmer").click()
        click(page, "Déclarer : Certificat d'emploi")
        fill_certificat(page, FIRST)
        assert "1 100,50 €" in download_pdf_text(page)
        click(page, "Valider")
        expect(page.get_by_role("heading", name="Mes travailleurs", exact=True)).to_be_visible()
    assert len(list(outbox.glob("*.eml"))) == 1


def test_first_request_to_an_inner_page_goes_through_the_login_gate(app_url):
    """A fresh server process must not run pages/<x>.py directly (Streamlit's legacy pages mode)."""
    url, _ = app_url
    with browser() as b:
        page = b.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{url}/fiche")
        expect(
            page.get_by_role("heading", name="Bienvenue sur Mon Compte Partenaire", exact=True)
        ).to_be_visible()
        expect(page.get_by_text("Fiche travailleur")).to_have_count(0)
