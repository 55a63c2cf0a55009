"""The partner journey with the keyboard alone (issue 14, point 2), in Debian's chromium.

Tab, Shift+Tab, Enter, Space, Escape and the arrows, and typing into the focused field: no mouse,
no ``click()``, no ``fill()``. At each step the focused element must be on screen with a visible
focus indicator; the dialogs must let the focus out (Escape) and keep it inside while open; the
error messages must be announced (role="alert" or a live region) and name their field.
docs/accessibility.md, "Clavier seul", says what is checked and what Streamlit leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from data.store import Store
from tests.a11y import settle
from tests.browser import browser, server
from tests.conftest import PASSWORD, TODAY
from tests.test_browser import LABELS
from tests.test_browser_changes import CERTIFY, Q_DOUBLE, Q_NATURE

pytestmark = pytest.mark.browser

LOGIN = "esat.demo@example.org"
MAX_TABS = 80
TILE = re.compile(r" — 99\d{5}$")  # an unselected worker tile

# What the focused element looks like: on screen, and how its focus is drawn. Streamlit draws
# focus with an outline or a box-shadow (buttons, links), the primary colour on the border of a
# field's box (text, select) or behind a date's segment; the app outlines a check box's or radio's
# label and a page link (Streamlit's own light background on them, about 1.2:1, does not count).
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, what: 'body'};
  const box = el.closest('label') || el;
  const r = box.getBoundingClientRect();
  const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
    && r.top < innerHeight && r.left < innerWidth && box.checkVisibility({visibilityProperty: true});
  // An outline counts where it can be seen: not on an element clipped by a parent whose overflow
  // is hidden (Streamlit's check boxes and radios hide their input in a 1 px box), nor transparent.
  const shown = n => { const r = n.getBoundingClientRect(); let [x0, y0, x1, y1] = [r.left, r.top, r.right, r.bottom];
    for (let a = n.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflow !== 'visible') { const p = a.getBoundingClientRect();
        [x0, y0, x1, y1] = [Math.max(x0, p.left), Math.max(y0, p.top), Math.min(x1, p.right), Math.min(y1, p.bottom)]; }
    return x1 - x0 > 4 && y1 - y0 > 4 && n.checkVisibility({opacityProperty: true, visibilityProperty: true}); };
  let indicator = null;
  let node = el;
  for (let i = 0; i < 4 && node && !indicator; i++, node = node.parentElement) {
    const cs = getComputedStyle(node);
    if (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1 && shown(node))
      indicator = 'outline';
    else if (cs.boxShadow !== 'none') indicator = 'box-shadow';
    else if (parseFloat(cs.borderTopWidth) >= 1 && cs.borderTopColor === 'rgb(0, 0, 145)') indicator = 'border';
    else if (node === el && cs.backgroundColor === 'rgb(0, 0, 145)') indicator = 'highlight';
  }
  const name = el.getAttribute('aria-label') || (el.innerText || '').trim() || el.value || '';
  const chain = []; for (let n = el, i = 0; n && i < 5; n = n.parentElement, i++) { const c = getComputedStyle(n);
    chain.push([n.tagName, c.outlineStyle, c.boxShadow, c.borderTopColor, c.borderTopWidth, c.backgroundColor, c.color].join(' ')); }
  return {ok: onScreen && indicator !== null, onScreen, indicator, what: el.tagName + ' ' + name.slice(0, 80), chain};
}"""
IS_FOCUSED = "els => els.includes(document.activeElement)"


def workers(db: str) -> tuple[str, str]:
    """Two workers of the demo ESAT on its default Caf, active in the ESAT only, at 100 %, with
    no declaration for 2026: one gets a certificat, the other a changement (read before the server)."""
    store = Store(db)
    try:
        rows = store.all(
            "SELECT w.allocataire FROM worker w WHERE w.esat_id = 1 AND w.caf_code = '441' "
            "AND w.status = 'ACTIVE' AND NOT w.double_activity AND w.rate_esat = 100 "
            "AND NOT EXISTS (SELECT 1 FROM declaration d WHERE d.worker_id = w.id AND d.campaign = 2026) "
            "AND NOT EXISTS (SELECT 1 FROM worker o WHERE o.allocataire = w.allocataire AND o.id <> w.id) "
            "ORDER BY w.id LIMIT 2"
        )
    finally:
        store.close()
    assert len(rows) == 2, "the demo store changed"
    return rows[0]["allocataire"], rows[1]["allocataire"]


@pytest.fixture
def app(tmp_path: Path, demo_db: str) -> Iterator[tuple[str, tuple[str, str]]]:
    chosen = workers(demo_db)
    env = {
        "ESAT_DB": demo_db,
        "ESAT_OUTBOX": str(tmp_path / "outbox"),
        "ESAT_TODAY": TODAY.isoformat(),
        "ESAT_SECRET": "test-secret",
        "ESAT_SMTP_HOST": "",
        "ESAT_SMTP_PORT": "",
    }
    with server(env, tmp_path / "server.log") as url:
        yield url, chosen


# --- keyboard helpers ----------------------------------------------------------------------


def focus_state(page: Page) -> dict[str, Any]:
    page.evaluate(  # a focus ring or border may be fading in: wait for the finite transitions
        """() => Promise.all(document.getAnimations()
            .filter(a => a.effect && a.effect.getComputedTiming().iterations !== Infinity)
            .map(a => a.finished.catch(() => null)))"""
    )
    return page.evaluate(FOCUS)


def assert_focus_visible(page: Page) -> None:
    state = focus_state(page)
    assert state["ok"], f"focus not visible: {state}"


def tab_to(page: Page, target: Locator, what: str, *, back: bool = False, limit: int = MAX_TABS) -> None:
    """Press Tab (Shift+Tab with ``back``) until an element of ``target`` has the focus, then check
    that the focus is visible. Fails naming the last elements crossed after ``limit`` presses."""
    expect(target.first).to_be_visible()
    settle(page)
    crossed: list[str] = []
    for _ in range(limit):
        if target.evaluate_all(IS_FOCUSED):
            break
        page.keyboard.press("Shift+Tab" if back else "Tab")
        crossed.append(page.evaluate(FOCUS)["what"])
    else:
        raise AssertionError(f"« {what} » not reached in {limit} presses; last: {crossed[-8:]}")
    assert_focus_visible(page)


def button(page: Page, name: str | re.Pattern[str], scope: Page | Locator | None = None) -> Locator:
    return (scope or page).get_by_role("button", name=name, exact=isinstance(name, str))


def press_button(page: Page, name: str, key: str = "Enter", scope: Locator | None = None) -> None:
    tab_to(page, button(page, name, scope), name)
    page.keyboard.press(key)


def type_into(page: Page, target: Locator, what: str, text: str) -> None:
    """Tab to a text field, type, and commit with Enter (Streamlit's text inputs commit on Enter)."""
    tab_to(page, target, what)
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(target).to_have_value(text)


def heading(page: Page, name: str) -> None:
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def assert_error_announced(error: Locator, field: Locator, label: str) -> None:
    """An error message is read when it appears (it is in a role="alert" element or a live
    region), names its field, and is the first thing after that field in the reading order.
    Streamlit gives no way to point the field at it (aria-describedby): docs/accessibility.md."""
    announced = error.evaluate(
        "e => e.closest('[role=alert], [aria-live=polite], [aria-live=assertive]')?.outerHTML.slice(0, 80)"
    )
    assert announced, "the error is neither in a role=alert element nor in a live region"
    expect(error).to_contain_text(f"« {label} »")
    before = error.evaluate(
        """e => [...document.querySelectorAll('input, textarea, select, [role=combobox]')]
            .filter(f => f.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING).pop()"""
        "?.getAttribute('aria-label')"
    )
    expect(field).to_have_accessible_name(before or "")


def assert_dialog_holds_focus(page: Page, dialog: Locator) -> None:
    """Tab and Shift+Tab go round the dialog's controls and never leave it."""
    for key in ["Tab"] * 8 + ["Shift+Tab"] * 8:
        page.keyboard.press(key)
        assert dialog.evaluate("(d) => d.contains(document.activeElement)"), f"{key} left the dialog"
        assert_focus_visible(page)


def search(page: Page, allocataire: str) -> Locator:
    """Type the numéro d'allocataire into the filter, Enter: the worker's tile, alone."""
    box = page.get_by_role("textbox", name="Rechercher un travailleur", exact=True)
    tab_to(page, box, "Rechercher un travailleur")
    page.keyboard.type(allocataire)
    page.keyboard.press("Enter")
    tile = page.get_by_role("button", name=re.compile(f" — {allocataire}"))
    expect(tile).to_have_count(1)
    return tile


def select_tile(page: Page, allocataire: str, count: int) -> None:
    """Search the worker, Space on its tile: its name then says it is selected."""
    tile = search(page, allocataire)
    tab_to(page, tile, f"tuile {allocataire}")
    expect(tile).to_have_accessible_name(TILE)
    page.keyboard.press("Space")
    expect(tile).to_have_accessible_name(re.compile(f" — {allocataire} \\(sélectionné\\)$"))
    expect(page.get_by_text(f"{count} travailleur{'s' if count > 1 else ''} sélectionné")).to_be_visible()
    press_button(page, "Afficher tous les travailleurs")
    expect(page.get_by_text("Page 1 sur")).to_be_visible()


def choose_in_dialog(page: Page, kind: str) -> None:
    """Déclarer pour la sélection: Escape closes the dialog; opened again, the focus stays in it;
    the type is chosen with the arrows, Confirmer with Enter."""
    press_button(page, "Déclarer pour la sélection")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    settle(page)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    press_button(page, "Déclarer pour la sélection")
    expect(dialog).to_be_visible()
    assert_dialog_holds_focus(page, dialog)
    group = dialog.get_by_role("radiogroup", name="Type de déclaration")
    tab_to(page, group.get_by_role("radio"), "Type de déclaration")
    for _ in range(5):
        if group.get_by_role("radio", name=kind, exact=True).is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(group.get_by_role("radio", name=kind, exact=True)).to_be_checked()
    press_button(page, "Confirmer", scope=dialog)
    heading(page, "Fiche travailleur")


def answer(page: Page, question: str, option: str) -> None:
    group = page.get_by_role("radiogroup", name=question, exact=True)
    tab_to(page, group.get_by_role("radio"), question)
    if not group.get_by_role("radio", checked=True).count():
        page.keyboard.press("Space")
    for _ in range(6):
        if group.get_by_role("radio", name=option, exact=True).is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(group.get_by_role("radio", name=option, exact=True)).to_be_checked()


def choose_option(page: Page, label: str, option: str) -> None:
    """A select: focus it, type the start of the option, Enter."""
    box = page.get_by_role("combobox", name=label, exact=True)
    tab_to(page, box, label)
    page.keyboard.type(option[:8])
    expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()
    page.keyboard.press("Enter")
    expect(box).to_have_value(option)


def type_date(page: Page, label: str, digits: str) -> None:
    """Streamlit's segmented date: the day's spinbutton, then the digits JJMMAAAA."""
    group = page.get_by_role("group", name=label, exact=True)
    tab_to(page, group.get_by_role("spinbutton", name=f"day, {label}", exact=True), label)
    page.keyboard.type(digits)
    page.keyboard.press("Enter")
    expect(group.get_by_role("spinbutton", name=f"year, {label}", exact=True)).to_have_text(digits[4:])


# --- the journey ---------------------------------------------------------------------------


def test_the_partner_journey_with_the_keyboard_alone(app):
    url, (first, second) = app
    with browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        page.goto(url)
        heading(page, "Bienvenue sur Mon Compte Partenaire")

        # Login: both fields typed, Enter on the button.
        type_into(page, page.get_by_role("textbox", name="Identifiant", exact=True), "Identifiant", LOGIN)
        password = page.get_by_label("Mot de passe", exact=True)
        tab_to(page, password, "Mot de passe")
        page.keyboard.type(PASSWORD)
        press_button(page, "Se connecter")

        # CGU: each box with Space, Continuer with Enter.
        heading(page, "Conditions générales d'utilisation")
        boxes = page.get_by_role("checkbox")
        expect(boxes).to_have_count(2)
        for i in range(2):
            tab_to(page, boxes.nth(i), f"case {i + 1}")
            page.keyboard.press("Space")
            expect(boxes.nth(i)).to_be_checked()
        press_button(page, "Continuer")

        # Accueil: the Caf choice opens with the arrows and closes with Escape, unchanged.
        heading(page, "Espace ESAT")
        caf = page.get_by_role("combobox", name="Caf des travailleurs", exact=True)
        if caf.count():
            shown = caf.input_value()
            tab_to(page, caf, "Caf des travailleurs")
            page.keyboard.press("ArrowDown")
            expect(page.get_by_role("option").first).to_be_visible()
            page.keyboard.press("Escape")
            expect(page.get_by_role("option")).to_have_count(0)
            expect(caf).to_have_value(shown)
        press_button(page, "Mes travailleurs")

        # Mes travailleurs: two workers, found by the filter, selected with Space.
        heading(page, "Mes travailleurs")
        select_tile(page, first, 1)
        select_tile(page, second, 2)
        choose_in_dialog(page, "Certificat d'emploi")

        # Fiche → certificat: one amount refused first, then corrected.
        expect(page.get_by_text("travailleur 1 / 2")).to_be_visible()
        press_button(page, "Déclarer : Certificat d'emploi")
        heading(page, "Certificat d'emploi")
        amounts = {"remuneration_garantie": "abc", "aide_au_poste": "946,55", "part_esat": "153,95"}
        for field_id, value in amounts.items():
            box = page.get_by_role("textbox", name=LABELS[field_id], exact=True)
            type_into(page, box, LABELS[field_id], value)
        press_button(page, "Suivant : récapitulatif")
        error = page.get_by_test_id("stAlertContentError")
        expect(error).to_have_count(1)
        wrong = LABELS["remuneration_garantie"].removesuffix(" (€)")
        box = page.get_by_role("textbox", name=LABELS["remuneration_garantie"], exact=True)
        assert_error_announced(error, box, wrong)
        tab_to(page, box, wrong, back=True)
        for _ in "abc":
            page.keyboard.press("Backspace")
        page.keyboard.type("1 100,50")
        page.keyboard.press("Enter")
        expect(box).to_have_value("1 100,50")
        press_button(page, "Suivant : récapitulatif")
        expect(page.get_by_text("Vérifiez votre déclaration")).to_be_visible()
        press_button(page, "Valider")
        expect(page.get_by_text("Votre déclaration a bien été transmise")).to_be_visible()
        press_button(page, "Continuer")

        # The second worker: no certificat here, passed; the batch ends.
        expect(page.get_by_text("travailleur 2 / 2")).to_be_visible()
        press_button(page, "Passer au travailleur suivant")
        heading(page, "Mes travailleurs")
        expect(page.get_by_text("1 travailleur passé sans déclaration")).to_be_visible()

        # A second batch: a changement de situation for the second worker.
        select_tile(page, second, 1)
        choose_in_dialog(page, "Changement de situation")
        press_button(page, "Déclarer : Changement de situation")
        heading(page, "Changement de situation")
        answer(page, Q_DOUBLE, "Non")
        answer(page, Q_NATURE, "Une augmentation ou une réduction d'activité")
        press_button(page, "Commencer la saisie")
        heading(page, "Augmentation ou réduction d'activité")
        choose_option(page, "Nature du changement", "Réduction d'activité")
        type_date(page, "Date de l'augmentation ou de la réduction", "01122026")
        for label, value in (
            ("Taux d'activité avant le changement", "100"),
            ("Nouveau taux d'activité", "80"),
        ):
            type_into(page, page.get_by_role("textbox", name=f"{label} (%)", exact=True), label, value)
        certify = page.get_by_role("checkbox", name=CERTIFY)
        tab_to(page, certify, CERTIFY)
        page.keyboard.press("Space")
        expect(certify).to_be_checked()
        press_button(page, "Suivant : récapitulatif")
        expect(page.get_by_text("Vérifiez votre déclaration")).to_be_visible()
        press_button(page, "Valider")
        expect(page.get_by_text("Votre déclaration a bien été transmise")).to_be_visible()
        press_button(page, "Valider")  # the last worker of the batch
        heading(page, "Mes travailleurs")
        expect(page.get_by_text("Vos déclarations ont été transmises")).to_be_visible()

        # Logout: the sidebar's button, reached backwards.
        press_button(page, "Se déconnecter")
        heading(page, "Bienvenue sur Mon Compte Partenaire")

        # A page link of the footer: its focus is outlined too (Streamlit's own tint is too pale).
        tab_to(page, page.get_by_role("link", name="Mentions légales", exact=True), "Mentions légales")
