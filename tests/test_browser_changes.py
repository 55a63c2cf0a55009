"""The five changements de situation filed in a real browser, then checked in the store.

Each test runs the browser part while the server holds the DuckDB file, and opens the file
only once the server has stopped.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from data.store import Store
from forms import fmt
from services import timeline
from tests.browser import browser, server
from tests.conftest import TODAY
from tests.test_browser import click, download_pdf_text, login_and_accept

pytestmark = pytest.mark.browser

LOGIN = "esat.demo@example.org"
CHANGE = "Changement de situation"
Q_DOUBLE = "Votre déclaration est-elle liée à une double activité ?"
Q_NATURE = "Que souhaitez-vous déclarer ?"
Q_DEBUT = "S'agit-il d'un début de double activité ?"
Q_FIN = "S'agit-il d'une fin de double activité ?"
CERTIFY = "Je certifie l'exactitude des informations déclarées"
RETURN = "Date prévisionnelle de retour"
DEC_1 = date(2026, 12, 1)


@dataclass
class App:
    """A private copy of the seeded store; the server and the store take turns on it."""

    tmp: Path
    db: str  # ESAT_DB: a DuckDB file or a PostgreSQL URL
    outbox: Path

    @contextmanager
    def store(self) -> Iterator[Store]:
        s = Store(str(self.db))
        try:
            yield s
        finally:
            s.close()

    @contextmanager
    def page(self) -> Iterator[Page]:
        """A logged-in page of the demo ESAT manager, on a server running on the copy."""
        env = {
            "ESAT_DB": str(self.db),
            "ESAT_OUTBOX": str(self.outbox),
            "ESAT_TODAY": TODAY.isoformat(),
            "ESAT_SECRET": "test-secret",
            "ESAT_SMTP_HOST": "",
            "ESAT_SMTP_PORT": "",
        }
        with server(env, self.tmp / "server.log") as url, browser() as b:
            page = b.new_page(accept_downloads=True)
            page.set_default_timeout(20_000)
            login_and_accept(page, url, LOGIN)
            yield page


@pytest.fixture
def app(tmp_path: Path, demo_db: str) -> App:
    return App(tmp_path, demo_db, tmp_path / "outbox")


# --- the store --------------------------------------------------------------------------


def da_workers(app: App) -> list[dict[str, Any]]:
    """Double-activity workers of the demo ESAT on its default Caf (read before the server)."""
    with app.store() as s:
        return s.all(
            "SELECT id, allocataire, rate_esat, rate_mo, double_activity_since FROM worker "
            "WHERE esat_id = 1 AND double_activity AND caf_code = '441' AND status = 'ACTIVE' "
            "ORDER BY id"
        )


def ordinary_worker(app: App, worker_id: int, rate_esat: int) -> str:
    """The allocataire of a worker of the demo ESAT active in the ESAT only (read before the server)."""
    with app.store() as s:
        row = s.one(
            "SELECT allocataire, esat_id, caf_code, rate_esat, double_activity, status FROM worker WHERE id = ?",
            [worker_id],
        )
    assert row is not None
    assert (row["esat_id"], row["caf_code"], row["double_activity"], row["status"]) == (
        1,
        "441",
        False,
        "ACTIVE",
    )
    assert row["rate_esat"] == rate_esat
    return row["allocataire"]


def last_declaration(s: Store, worker_id: int) -> dict[str, Any]:
    decl = s.one(
        "SELECT id, receipt_number, form_id, effective_date FROM declaration "
        "WHERE worker_id = ? ORDER BY id DESC LIMIT 1",
        [worker_id],
    )
    assert decl is not None
    rows = s.all(
        "SELECT field_id, number, day, text FROM declaration_value WHERE declaration_id = ?", [decl["id"]]
    )
    decl["values"] = {
        r["field_id"]: r["number"] if r["number"] is not None else r["day"] or r["text"] for r in rows
    }
    return decl


def worker_state(s: Store, worker_id: int) -> dict[str, Any]:
    """What the Caf knows of the worker as of the date of its last declared change (the timeline)."""
    on = s.scalar("SELECT max(effective_date) FROM declaration WHERE worker_id = ?", [worker_id])
    return timeline.known_state(s, worker_id, on)


def check_mails(app: App, receipts: list[str]) -> None:
    mails = sorted(app.outbox.glob("*.eml"))
    assert sorted(p.stem for p in mails) == sorted(receipts)
    for path in mails:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert msg["To"] == LOGIN
        body = msg.get_content()
        assert "€" not in body and "%" not in body


# --- the browser ------------------------------------------------------------------------


def select_worker(page: Page, allocataire: str, count: int) -> None:
    """Search the worker by numéro d'allocataire and click its tile."""
    box = page.get_by_role("textbox", name="Rechercher un travailleur", exact=True)
    box.fill(allocataire)
    click(page, "Rechercher")
    tile = page.get_by_role("button", name=f" — {allocataire}")
    expect(tile).to_have_count(1)
    # The search has run when its tile is alone: clicked on the page of before, the tile may be
    # redrawn by the search's run and the click lost.
    expect(page.get_by_role("button", name=" — ")).to_have_count(1)
    tile.click()
    expect(page.get_by_text(f"{count} travailleur{'s' if count > 1 else ''} sélectionné")).to_be_visible()


def start_change(page: Page, *allocataires: str) -> None:
    """Mes travailleurs → selection → the choice dialog → the first Fiche → the questions."""
    click(page, "Mes travailleurs")
    expect(page.get_by_role("heading", name="Mes travailleurs", exact=True)).to_be_visible()
    for i, allocataire in enumerate(allocataires):
        select_worker(page, allocataire, i + 1)
    click(page, "Déclarer pour la sélection")
    dialog = page.get_by_role("dialog")
    group = dialog.get_by_role("radiogroup", name="Type de déclaration")
    group.get_by_text(CHANGE, exact=True).click()
    expect(group.get_by_role("radio", name=CHANGE, exact=True)).to_be_checked()
    dialog.get_by_role("button", name="Confirmer", exact=True).click()
    expect(page.get_by_role("heading", name="Fiche travailleur", exact=True)).to_be_visible()
    declare(page)


def declare(page: Page) -> None:
    click(page, f"Déclarer : {CHANGE}")
    expect(page.get_by_role("heading", name=CHANGE, exact=True)).to_be_visible()


def answer(page: Page, question: str, option: str) -> None:
    group = page.get_by_role("radiogroup", name=question, exact=True)
    group.get_by_text(option, exact=True).click()
    expect(group.get_by_role("radio", name=option, exact=True)).to_be_checked()


def begin(page: Page, title: str) -> None:
    expect(page.get_by_text(f"Déclaration à saisir : {title}.")).to_be_visible()
    click(page, "Commencer la saisie")
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()


def rate(page: Page, label: str, value: str) -> None:
    box = page.get_by_role("textbox", name=f"{label} (%)", exact=True)
    box.fill(value)
    box.press("Enter")
    expect(box).to_have_value(value)


def day(page: Page, label: str, value: date) -> None:
    """Type the date into Streamlit's segmented date field (day, month, year spinbuttons)."""
    group = page.get_by_role("group", name=label, exact=True)
    group.get_by_role("spinbutton", name=f"day, {label}", exact=True).click()
    page.keyboard.type(f"{value:%d%m%Y}")
    page.keyboard.press("Enter")
    for segment, shown in (("day", f"{value:%d}"), ("month", f"{value:%m}"), ("year", f"{value:%Y}")):
        expect(group.get_by_role("spinbutton", name=f"{segment}, {label}", exact=True)).to_have_text(shown)


def choose(page: Page, label: str, option: str) -> None:
    """Open the selectbox and click the option. Right after a text input was edited, the first
    click on the box only focuses it (no list, no rerun: measured here), so click until it opens."""
    box = page.get_by_role("combobox", name=label, exact=True)
    item = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):
        if not item.is_visible():
            box.click()
        try:
            item.click(timeout=2_000)
            break
        except PlaywrightTimeoutError:
            continue
    expect(box).to_have_value(option)


def certify(page: Page) -> None:
    page.get_by_text(CERTIFY, exact=True).click()
    expect(page.get_by_role("checkbox", name=CERTIFY)).to_be_checked()


def validate(page: Page) -> str:
    """Recap → Valider → the receipt's PDF text."""
    click(page, "Suivant : récapitulatif")
    expect(page.get_by_text("Vérifiez votre déclaration")).to_be_visible()
    click(page, "Valider")
    expect(page.get_by_text("Votre déclaration a bien été transmise")).to_be_visible()
    return download_pdf_text(page)


def assert_receipt(text: str, allocataire: str, rows: dict[str, str]) -> None:
    """The receipt's PDF text names the worker and shows "<label> <value>" for each row
    (a long label wraps in its cell: compare with the line breaks made spaces)."""
    flat = f" {' '.join(text.split())} "
    assert f" N° allocataire {allocataire} " in flat
    for label, value in rows.items():
        assert f" {label} {value} " in flat, (label, value, text)


def back_to_workers(page: Page) -> None:
    click(page, "Valider")
    expect(page.get_by_role("heading", name="Mes travailleurs", exact=True)).to_be_visible()
    expect(page.get_by_text("Vos déclarations ont été transmises")).to_be_visible()


# --- the tests --------------------------------------------------------------------------


def test_modification_activite_reduces_the_rate(app: App):
    allocataire = ordinary_worker(app, 1, 100)
    with app.page() as page:
        start_change(page, allocataire)
        expect(page.get_by_text("travailleur 1 / 1")).to_be_visible()
        answer(page, Q_DOUBLE, "Non")
        answer(page, Q_NATURE, "Une augmentation ou une réduction d'activité")
        begin(page, "Augmentation ou réduction d'activité")
        choose(page, "Nature du changement", "Réduction d'activité")
        day(page, "Date de l'augmentation ou de la réduction", DEC_1)
        rate(page, "Taux d'activité avant le changement", "100")
        expect(page.get_by_role("checkbox", name=CERTIFY)).to_have_count(0)  # waits for the new rate
        rate(page, "Nouveau taux d'activité", "80")
        certify(page)
        text = validate(page)
        assert_receipt(
            text,
            allocataire,
            {
                "Nature du changement": "Réduction d'activité",
                "Date de l'augmentation ou de la réduction": "01/12/2026",
                "Taux d'activité avant le changement": "100 %",
                "Nouveau taux d'activité": "80 %",
                CERTIFY: "Certifié",
            },
        )
        back_to_workers(page)

    with app.store() as s:
        decl = last_declaration(s, 1)
        assert (decl["form_id"], decl["effective_date"]) == ("modification_activite", DEC_1)
        values = decl["values"]
        assert set(values) == {"sens", "date_changement", "taux_avant", "nouveau_taux", "certification"}
        assert values["sens"] == "reduction" and values["date_changement"] == DEC_1
        assert (values["taux_avant"], values["nouveau_taux"]) == (Decimal(100), Decimal(80))
        assert worker_state(s, 1) == {
            "rate_esat": Decimal(80),
            "rate_mo": None,
            "double_activity": False,
            "double_activity_since": None,
            "status": "ACTIVE",
            "return_date": None,
        }
    check_mails(app, [decl["receipt_number"]])


def test_depart_esat_for_parental_leave_asks_the_return_date(app: App):
    allocataire = ordinary_worker(app, 1, 100)
    leave, back = date(2026, 12, 15), date(2027, 12, 15)
    with app.page() as page:
        start_change(page, allocataire)
        answer(page, Q_DOUBLE, "Non")
        answer(page, Q_NATURE, "Un départ de l'ESAT")
        begin(page, "Départ de l'ESAT")
        day(page, "Date du départ", leave)
        return_date = page.get_by_role("group", name=RETURN, exact=True)
        expect(return_date).to_have_count(0)
        choose(page, "Motif du départ", "Congé parental d'éducation")
        expect(return_date).to_be_visible()
        choose(page, "Motif du départ", "Départ à la retraite")
        expect(return_date).to_have_count(0)
        choose(page, "Motif du départ", "Congé parental d'éducation")
        expect(return_date).to_be_visible()
        day(page, RETURN, back)
        text = validate(page)
        assert_receipt(
            text,
            allocataire,
            {
                "Date du départ": "15/12/2026",
                "Motif du départ": "Congé parental d'éducation",
                RETURN: "15/12/2027",
            },
        )
        back_to_workers(page)

    with app.store() as s:
        decl = last_declaration(s, 1)
        assert (decl["form_id"], decl["effective_date"]) == ("depart_esat", leave)
        assert decl["values"] == {
            "date_depart": leave,
            "motif_depart": "conge_parental_education",
            "date_retour_prevue": back,
        }
        assert worker_state(s, 1) == {
            "rate_esat": Decimal(100),
            "rate_mo": None,
            "double_activity": False,
            "double_activity_since": None,
            "status": "ON_LEAVE",
            "return_date": back,
        }
    check_mails(app, [decl["receipt_number"]])


def test_debut_double_activite(app: App):
    allocataire = ordinary_worker(app, 2, 80)
    before = "Taux d'activité en ESAT avant le début de l'activité en milieu ordinaire"
    with app.page() as page:
        start_change(page, allocataire)
        answer(page, Q_DOUBLE, "Oui")
        answer(page, Q_DEBUT, "Oui")
        begin(page, "Début de double activité")
        day(page, "Date de début de la double activité", DEC_1)
        rate(page, before, "80")
        rate(page, "Taux d'activité en ESAT depuis le changement", "60")
        rate(page, "Taux d'activité connu en milieu ordinaire", "30")
        text = validate(page)
        assert_receipt(
            text,
            allocataire,
            {
                "Date de début de la double activité": "01/12/2026",
                before: "80 %",
                "Taux d'activité en ESAT depuis le changement": "60 %",
                "Taux d'activité connu en milieu ordinaire": "30 %",
            },
        )
        back_to_workers(page)

    with app.store() as s:
        decl = last_declaration(s, 2)
        assert (decl["form_id"], decl["effective_date"]) == ("debut_double_activite", DEC_1)
        assert decl["values"] == {
            "date_debut": DEC_1,
            "taux_esat_avant": Decimal(80),
            "taux_esat_apres": Decimal(60),
            "taux_milieu_ordinaire": Decimal(30),
        }
        assert worker_state(s, 2) == {
            "rate_esat": Decimal(60),
            "rate_mo": Decimal(30),
            "double_activity": True,
            "double_activity_since": DEC_1,
            "status": "ACTIVE",
            "return_date": None,
        }
    check_mails(app, [decl["receipt_number"]])


ESAT_AVANT = "Taux d'activité en ESAT avant la modification"
MO_AVANT = "Taux d'activité en milieu ordinaire avant la modification"
ESAT_APRES = "Taux d'activité en ESAT après la modification"
MO_APRES = "Taux d'activité en milieu ordinaire après la modification"
NEW_ESAT, NEW_MO = Decimal(20), Decimal(45)


def fill_modification_double_activite(page: Page, worker: dict[str, Any]) -> None:
    """Questions → Saisie → Valider of a modification (ESAT rate → 20 %, milieu ordinaire 45 %);
    the PDF of its receipt is checked."""
    assert worker["rate_esat"] != NEW_ESAT
    answer(page, Q_DOUBLE, "Oui")
    answer(page, Q_DEBUT, "Non")
    answer(page, Q_FIN, "Non")
    begin(page, "Modification de la double activité")
    day(page, "Date de la modification", DEC_1)
    rate(page, ESAT_AVANT, fmt.number(worker["rate_esat"]))
    rate(page, f"{MO_AVANT} (facultatif)", fmt.number(worker["rate_mo"]))
    mo_after = page.get_by_role("textbox", name=f"{MO_APRES} (facultatif) (%)", exact=True)
    expect(mo_after).to_have_count(0)
    # The same ESAT rate as before: refused, and the milieu ordinaire field still waits.
    rate(page, ESAT_APRES, fmt.number(worker["rate_esat"]))
    click(page, "Suivant : récapitulatif")
    expect(page.get_by_text(f"« {ESAT_APRES} » doit être différent de « {ESAT_AVANT} ».")).to_be_visible()
    expect(mo_after).to_have_count(0)
    expect(page.get_by_role("checkbox", name=CERTIFY)).to_have_count(0)
    rate(page, ESAT_APRES, fmt.number(NEW_ESAT))
    expect(mo_after).to_be_visible()
    rate(page, f"{MO_APRES} (facultatif)", fmt.number(NEW_MO))
    certify(page)
    text = validate(page)
    assert_receipt(
        text,
        worker["allocataire"],
        {
            "Date de la modification": "01/12/2026",
            ESAT_AVANT: fmt.number(worker["rate_esat"]) + " %",
            MO_AVANT: fmt.number(worker["rate_mo"]) + " %",
            ESAT_APRES: fmt.number(NEW_ESAT) + " %",
            MO_APRES: fmt.number(NEW_MO) + " %",
            CERTIFY: "Certifié",
        },
    )


def check_modification_double_activite(s: Store, worker: dict[str, Any]) -> str:
    """The stored modification and the worker's new rates; returns its receipt number."""
    decl = last_declaration(s, worker["id"])
    assert (decl["form_id"], decl["effective_date"]) == ("modification_double_activite", DEC_1)
    values = decl["values"]
    assert set(values) == {
        "date_modification",
        "taux_esat_avant",
        "taux_mo_avant",
        "taux_esat_apres",
        "taux_mo_apres",
        "certification",
    }
    assert values["date_modification"] == DEC_1
    assert (values["taux_esat_avant"], values["taux_mo_avant"]) == (worker["rate_esat"], worker["rate_mo"])
    assert (values["taux_esat_apres"], values["taux_mo_apres"]) == (NEW_ESAT, NEW_MO)
    assert worker_state(s, worker["id"]) == {
        "rate_esat": NEW_ESAT,
        "rate_mo": NEW_MO,
        "double_activity": True,
        "double_activity_since": worker["double_activity_since"],
        "status": "ACTIVE",
        "return_date": None,
    }
    return decl["receipt_number"]


def test_modification_double_activite(app: App):
    worker = da_workers(app)[0]
    with app.page() as page:
        start_change(page, worker["allocataire"])
        fill_modification_double_activite(page, worker)
        back_to_workers(page)

    with app.store() as s:
        receipt = check_modification_double_activite(s, worker)
    check_mails(app, [receipt])


def test_fin_double_activite_for_an_ordinary_job(app: App):
    worker = da_workers(app)[1]
    esat, mo = fmt.number(worker["rate_esat"]), fmt.number(worker["rate_mo"])
    with app.page() as page:
        start_change(page, worker["allocataire"])
        answer(page, Q_DOUBLE, "Oui")
        answer(page, Q_DEBUT, "Non")
        answer(page, Q_FIN, "Oui")
        begin(page, "Fin de double activité")
        day(page, "Date de fin", DEC_1)
        rate(page, ESAT_AVANT, esat)
        rate(page, MO_AVANT, mo)
        rate(page, "Nouveau taux d'activité en milieu ordinaire", mo)
        motif = page.get_by_role("combobox", name="Motif du départ de l'ESAT", exact=True)
        expect(motif).to_have_count(0)
        rate(page, "Nouveau taux d'activité en ESAT", "0")
        expect(motif).to_be_visible()
        choose(page, "Motif du départ de l'ESAT", "Emploi en milieu ordinaire")
        expect(page.get_by_role("group", name=RETURN, exact=True)).to_have_count(0)
        text = validate(page)
        assert_receipt(
            text,
            worker["allocataire"],
            {
                "Date de fin": "01/12/2026",
                ESAT_AVANT: f"{esat} %",
                MO_AVANT: f"{mo} %",
                "Nouveau taux d'activité en ESAT": "0 %",
                "Nouveau taux d'activité en milieu ordinaire": f"{mo} %",
                "Motif du départ de l'ESAT": "Emploi en milieu ordinaire",
            },
        )
        assert RETURN not in text
        back_to_workers(page)

    with app.store() as s:
        decl = last_declaration(s, worker["id"])
        assert (decl["form_id"], decl["effective_date"]) == ("fin_double_activite", DEC_1)
        assert decl["values"] == {  # no date_retour_prevue: hidden for this motif
            "date_fin": DEC_1,
            "taux_esat_avant": worker["rate_esat"],
            "taux_mo_avant": worker["rate_mo"],
            "taux_esat_apres": Decimal(0),
            "taux_mo_apres": worker["rate_mo"],
            "motif_depart": "emploi_milieu_ordinaire",
        }
        assert worker_state(s, worker["id"]) == {
            "rate_esat": Decimal(0),
            "rate_mo": worker["rate_mo"],
            "double_activity": False,
            "double_activity_since": None,
            "status": "LEFT",
            "return_date": None,
        }
    check_mails(app, [decl["receipt_number"]])


def test_two_workers_take_different_branches(app: App):
    first = ordinary_worker(app, 1, 100)
    worker = da_workers(app)[0]
    leave = date(2026, 12, 31)
    with app.page() as page:
        start_change(page, first, worker["allocataire"])
        expect(page.get_by_text("travailleur 1 / 2")).to_be_visible()
        answer(page, Q_DOUBLE, "Non")
        answer(page, Q_NATURE, "Un départ de l'ESAT")
        begin(page, "Départ de l'ESAT")
        expect(page.get_by_text("travailleur 1 / 2")).to_be_visible()
        day(page, "Date du départ", leave)
        choose(page, "Motif du départ", "Départ à la retraite")
        expect(page.get_by_role("group", name=RETURN, exact=True)).to_have_count(0)
        text = validate(page)
        assert_receipt(
            text, first, {"Date du départ": "31/12/2026", "Motif du départ": "Départ à la retraite"}
        )
        assert RETURN not in text
        click(page, "Continuer")

        expect(page.get_by_role("heading", name="Fiche travailleur", exact=True)).to_be_visible()
        expect(page.get_by_text("travailleur 2 / 2")).to_be_visible()
        declare(page)
        expect(page.get_by_text("travailleur 2 / 2")).to_be_visible()
        fill_modification_double_activite(page, worker)
        back_to_workers(page)

    with app.store() as s:
        departure = last_declaration(s, 1)
        assert (departure["form_id"], departure["effective_date"]) == ("depart_esat", leave)
        assert departure["values"] == {"date_depart": leave, "motif_depart": "retraite"}
        assert worker_state(s, 1) == {
            "rate_esat": Decimal(100),
            "rate_mo": None,
            "double_activity": False,
            "double_activity_since": None,
            "status": "LEFT",
            "return_date": None,
        }
        change = check_modification_double_activite(s, worker)
    check_mails(app, [departure["receipt_number"], change])
