"""A reviewer's dry run in a real browser: nothing stored, nothing emailed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import browser
from tests.test_browser import LABELS, app_url, click, login_and_accept

__all__ = ["app_url"]

pytestmark = pytest.mark.browser


def test_reviewer_dry_runs_the_certificat(app_url):
    url, outbox = app_url
    with browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(20_000)
        login_and_accept(page, url, "relecteur@example.org", heading="Revue des formulaires")
        expect(page.get_by_test_id("stGraphVizChart").first).to_be_attached()
        page.get_by_role("tab", name="Champs et règles").click()
        expect(page.get_by_text("Contrôles", exact=True)).to_be_visible()
        page.get_by_role("tab", name="Essayer ce formulaire").click()
        for field_id, value in {
            "remuneration_garantie": "1100,50",
            "aide_au_poste": "946,55",
            "part_esat": "153,95",
        }.items():
            box = page.get_by_role("textbox", name=LABELS[field_id], exact=True)
            box.fill(value)
            box.press("Enter")
        click(page, "Vérifier")
        expect(page.get_by_text("Déclaration acceptée")).to_be_visible()
        expect(page.get_by_text("1 100,50 €")).to_be_visible()
    assert not outbox.exists() or not list(outbox.glob("*.eml"))
