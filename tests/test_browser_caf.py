"""The Caf agent's back office in a real browser: campaign figures, marking a declaration processed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, TimeoutError, expect

from data.store import Store
from services import backoffice
from tests.browser import browser
from tests.test_browser import app_url, click, login_and_accept

__all__ = ["app_url"]

pytestmark = pytest.mark.browser


def idle(page: Page) -> None:
    """Wait until the script run triggered by the last action has finished."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)


def choose(page: Page, label: str, option: str | None = None) -> None:
    """Pick an option of a st.selectbox (a click focuses it, the arrow key opens the list).

    A rerun finishing meanwhile can close the list under the pointer: open it again and retry.
    """
    options = page.get_by_role("option")
    wanted = options.first if option is None else options.filter(has_text=option).first
    for attempt in range(5):
        idle(page)
        page.get_by_role("combobox", name=label).click()
        page.keyboard.press("ArrowDown")
        try:
            wanted.click(timeout=3_000)
            return
        except TimeoutError:
            if attempt == 4:
                raise


def spaced(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def test_agent_sees_the_campaign_and_marks_a_declaration_processed(app_url, seeded_db):
    store = Store(seeded_db)
    sql, params = backoffice.expected("441", 2026)
    workers = store.scalar(f"SELECT count(*) FROM ({sql}) x", params)
    received = store.scalar("SELECT count(*) FROM declaration WHERE caf_code = '441' AND campaign = 2026")
    store.close()
    url, _ = app_url
    with browser() as b:
        page: Page = b.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(20_000)
        login_and_accept(page, url, "agent.caf@example.org", heading="Campagne du certificat d'emploi")
        metrics = page.get_by_test_id("stMetricValue")
        expect(metrics.nth(0)).to_have_text(spaced(workers))
        expect(metrics.nth(1)).to_have_text(spaced(received))
        expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()

        page.get_by_role("link", name="Corbeille").click()
        expect(page.get_by_role("heading", name="Corbeille des déclarations", exact=True)).to_be_visible()
        choose(page, "Ouvrir une déclaration de cette page")
        click(page, "Marquer comme traitée")
        expect(page.get_by_text("est marquée comme traitée")).to_be_visible()
        expect(page.get_by_text("Traitée le")).to_have_count(0)  # the flash replaced the detail
        choose(page, "Statut", "Traitées")
        click(page, "Filtrer")
        choose(page, "Ouvrir une déclaration de cette page")
        expect(page.get_by_text("Traitée le", exact=False).first).to_be_visible()


def test_a_partner_cannot_open_the_corbeille_by_url(app_url):
    url, _ = app_url
    with browser() as b:
        page = b.new_page()
        page.set_default_timeout(20_000)
        login_and_accept(page, url, "esat.demo@example.org")
        page.goto(f"{url}/corbeille")
        expect(page.get_by_role("heading", name="Corbeille des déclarations", exact=True)).to_have_count(0)
        expect(
            page.get_by_role("heading", name="Bienvenue sur Mon Compte Partenaire", exact=True)
        ).to_be_visible()
