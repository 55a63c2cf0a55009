"""Certificats en tableau in a real browser (issue 13): a page of the table typed and filed; the
template downloaded, filled with openpyxl, uploaded, one rejected row fixed, the rest filed, and
the same file uploaded again filing nothing."""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from data.store import Store
from services.declarations import forms
from tests.browser import browser, server
from tests.conftest import TODAY
from tests.test_browser import click, login_and_accept

pytestmark = pytest.mark.browser

FIELDS = [f for f in forms()["certificat_emploi"].fields if f.type == "amount"]
VALUES = ("1 100,50", "946,55", "153,95")
RECEIPT = re.compile(r"ESAT-2026-\d{8}")


def settings(tmp_path: Path, db: str) -> dict[str, str]:
    return {
        "ESAT_DB": db,
        "ESAT_OUTBOX": str(tmp_path / "outbox"),
        "ESAT_TODAY": TODAY.isoformat(),
        "ESAT_SECRET": "test-secret",
        "ESAT_SMTP_HOST": "",
        "ESAT_SMTP_PORT": "",
    }


def certificats(url: str) -> int:
    """Certificats of the demo ESAT for 2026 (read while no server holds a DuckDB file)."""
    store = Store(url)
    try:
        return store.scalar("SELECT count(*) FROM declaration WHERE campaign = 2026 AND esat_id = 1")
    finally:
        store.close()


def open_table(page: Page, url: str) -> None:
    login_and_accept(page, url, "esat.demo@example.org")
    click(page, "Certificats d'emploi en tableau")
    expect(page.get_by_role("heading", name="Certificats d'emploi en tableau", exact=True)).to_be_visible()
    expect(page.get_by_text("Page 1 sur")).to_be_visible()


def batch_mail(outbox: Path) -> email.message.EmailMessage:
    mails = sorted(outbox.glob("*.eml"))
    assert len(mails) == 1, [m.name for m in mails]
    return email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)


def test_a_page_of_the_table_is_typed_checked_and_filed(demo_db, tmp_path):
    outbox = tmp_path / "outbox"
    before = certificats(demo_db)
    with server(settings(tmp_path, demo_db), tmp_path / "server.log") as url, browser() as b:
        page = b.new_page(accept_downloads=True)
        page.set_default_timeout(30_000)
        open_table(page, url)
        boxes = page.get_by_role("textbox", name=re.compile(f"^{re.escape(FIELDS[0].label)} — "))
        expect(boxes).to_have_count(20)
        for field, value in zip(FIELDS, VALUES, strict=True):
            column = page.get_by_role("textbox", name=re.compile(f"^{re.escape(field.label)} — "))
            for i in range(20):
                column.nth(i).fill(value)
        page.get_by_role("textbox", name=re.compile(f"^{re.escape(FIELDS[1].label)} — ")).nth(3).fill("abc")
        click(page, "Vérifier et voir le récapitulatif")
        expect(page.get_by_text("1 ligne(s) en erreur")).to_be_visible()
        expect(page.get_by_text(re.compile(f"^{re.escape(FIELDS[1].label)} : "))).to_have_count(1)
        expect(page.get_by_text("Vérifiez vos certificats")).to_have_count(0)  # nothing to file yet
        page.get_by_role("textbox", name=re.compile(f"^{re.escape(FIELDS[1].label)} — ")).first.fill(
            VALUES[1]
        )
        click(page, "Vérifier et voir le récapitulatif")
        expect(page.get_by_text("Vérifiez vos certificats")).to_be_visible()
        click(page, "Valider")
        expect(page.get_by_text("20 certificat(s) transmis à la Caf")).to_be_visible()
        receipts = set(RECEIPT.findall(page.get_by_role("main").inner_text()))
        with page.expect_download() as info:
            click(page, "Télécharger les justificatifs (.zip)")
        names = zipfile.ZipFile(info.value.path()).namelist()
    assert certificats(demo_db) == before + 20
    assert len(receipts) == 20
    assert len([n for n in names if RECEIPT.match(n)]) == 20
    body = batch_mail(outbox).get_content()
    assert len(set(RECEIPT.findall(body))) == 20


def test_template_round_trip_with_one_rejected_row_then_the_same_file_again(demo_db, tmp_path):
    outbox = tmp_path / "outbox"
    before = certificats(demo_db)
    with server(settings(tmp_path, demo_db), tmp_path / "server.log") as url, browser() as b:
        page = b.new_page(accept_downloads=True)
        page.set_default_timeout(30_000)
        open_table(page, url)
        with page.expect_download() as info:
            click(page, "Télécharger le modèle (.xlsx)")
        assert info.value.suggested_filename == "certificats-2026.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
        sheet = book.worksheets[0]
        header = [c.value for c in sheet[1]]
        columns = [header.index(f.label) + 1 for f in FIELDS]
        for line in range(2, 7):  # five workers of the first sheet
            for column, value in zip(columns, ("1100.5", "946.55", "153.95"), strict=True):
                sheet.cell(line, column, float(value))
        sheet.cell(4, columns[1], "beaucoup")  # line 4: not an amount
        filled = tmp_path / "certificats.xlsx"
        book.save(filled)

        page.locator("input[type=file]").set_input_files(str(filled))
        click(page, "Lire le fichier")
        expect(page.get_by_text("1 ligne(s) en erreur")).to_be_visible()
        page.get_by_role("switch", name="Afficher seulement les lignes en erreur").check()
        box = page.get_by_role("textbox", name=re.compile(f"^{re.escape(FIELDS[1].label)} — "))
        expect(box).to_have_count(1)
        box.fill("946,55")
        click(page, "Vérifier et voir le récapitulatif")
        expect(page.get_by_text("Vérifiez vos certificats")).to_be_visible()
        click(page, "Valider")
        expect(page.get_by_text("5 certificat(s) transmis à la Caf")).to_be_visible()
        click(page, "Terminer")

        click(page, "Certificats en tableau")
        page.locator("input[type=file]").set_input_files(str(filled))
        click(page, "Lire le fichier")
        expect(
            page.get_by_text("5 ligne(s) du fichier concernent un certificat déjà transmis")
        ).to_be_visible()
        expect(page.get_by_text(re.compile("certificat déjà transmis, reçu n° ESAT-2026-"))).to_have_count(5)
        expect(page.get_by_text("Vérifiez vos certificats")).to_have_count(0)
    assert certificats(demo_db) == before + 5
    assert len(set(RECEIPT.findall(batch_mail(outbox).get_content()))) == 5
