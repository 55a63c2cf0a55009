"""What keeps a rerun cheap (issue #7, docs/benchmarks.md P1) without serving stale or shared data.

- a rerun of a partner screen reads nothing from the store: the session remembers what the screen
  read (never a cache shared across sessions, ST-07);
- coming back to the fiche reads the worker and the certificat again (another session may have
  filed it meanwhile); the contracts are read again at the next login;
- the st.Page objects are built once per process, but every run gets its own copies: sessions with
  different pages (and so different default pages) do not disturb each other;
- the settings are rebuilt when an ESAT_* variable changes; the favicon is the local PNG.
"""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import timedelta

import pytest

from data.demo import DEMO_ESAT_ID
from data.store import Tx
from scripts import loadgen
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.browser import server
from tests.conftest import PASSWORD, ROOT, TODAY
from tests.test_pages import VALID, fill, logged_in, select_and_choose, to_workers
from ui import resources

__all__ = ["no_legacy_pages"]

DECLARE = "Déclarer : Certificat d'emploi"


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement the app sends to the store, in order."""
    seen: list[str] = []
    original = Tx._run

    def run(self, sql, params):  # type: ignore[no-untyped-def]
        seen.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(Tx, "_run", run)
    return seen


def rerun_reads(at, queries: list[str], title: str) -> list[str]:
    """The statements of one rerun with nothing changed (what any click staying on screen costs)."""
    assert titles(at) == [title]
    queries.clear()
    at.run()
    assert titles(at) == [title] and not at.exception
    return list(queries)


def test_a_rerun_of_each_partner_screen_reads_nothing_from_the_store(env, queries):
    at = logged_in()
    assert rerun_reads(at, queries, "Espace ESAT") == []
    to_workers(at)
    assert rerun_reads(at, queries, "Mes travailleurs") == []
    select_and_choose(at, (1,))
    assert rerun_reads(at, queries, "Fiche travailleur") == []
    button(at, DECLARE).click().run()
    assert rerun_reads(at, queries, "Certificat d'emploi") == []


def test_the_fiche_reads_the_certificat_again_when_it_is_visited_again(env):
    at = select_and_choose(to_workers(logged_in()), (1,))
    assert [b for b in at.button if b.label == DECLARE]
    button(at, "Retour à Mes travailleurs").click().run()
    # Meanwhile another session of the same account takes the batch up and files worker 1's certificat.
    other = to_workers(logged_in())
    button(other, "Reprendre la saisie").click().run()
    button(other, DECLARE).click().run()
    fill(other, VALID)
    button(other, "Suivant : récapitulatif").click().run()
    button(other, "Valider").click().run()
    assert "Votre déclaration a bien été transmise" in texts(other)
    # Back to the fiche of worker 1 (still selected) in the first session.
    button(at, "Reprendre la saisie").click().run()
    assert titles(at) == ["Fiche travailleur"]
    assert "a déjà été transmis pour ce travailleur" in texts(at)
    assert not [b for b in at.button if b.label == DECLARE]


def test_the_contracts_are_read_once_per_login(env, store, queries):
    at = logged_in()
    assert not [q for q in rerun_reads(at, queries, "Espace ESAT") if "partner_contract" in q]
    store.execute(
        "UPDATE partner_contract SET valid_to = ? WHERE esat_id = ? AND kind = 'bulletin_esat'",
        [TODAY - timedelta(days=1), DEMO_ESAT_ID],
    )
    button(at, "Se déconnecter").click().run()
    at = logged_in()
    assert titles(at) == ["Accès à l'Espace ESAT"]
    assert "le bulletin d'adhésion au service ESAT" in texts(at)


def test_sessions_with_other_pages_do_not_share_page_objects(env):
    """st.navigation marks the first page as the default when none is: on a shared page object, the
    reviewer's only page would become the agent's default page too."""
    reviewer = logged_in("relecteur@example.org")
    agent = logged_in("agent.caf@example.org")
    esat = logged_in()
    for at in (reviewer, agent, esat, reviewer, agent, esat):
        at.run()
        assert not at.exception
    assert titles(reviewer) == ["Revue des formulaires"]
    assert titles(agent) == ["Campagne du certificat d'emploi"]
    assert titles(esat) == ["Espace ESAT"]


def test_settings_follow_every_variable_that_load_settings_reads(env, monkeypatch):
    source = (ROOT / "services" / "config.py").read_text(encoding="utf-8")
    assert set(re.findall(r'"(ESAT_[A-Z_]+)"', source)) == set(resources.SETTINGS_ENV)
    first = resources.settings()
    assert resources.settings() is first  # not rebuilt while nothing changed
    monkeypatch.setenv("ESAT_TODAY", "2027-01-05")
    assert resources.settings().today.isoformat() == "2027-01-05"


def test_the_favicon_is_the_local_png_as_a_data_url():
    url = resources.favicon()
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]) == (ROOT / "ui" / "assets" / "favicon.png").read_bytes()


# -- script runs per click (P7), on the real server through Streamlit's protocol ---------------------


async def round_runs(url: str) -> list[tuple[str, str, int]]:
    """Two rounds of scripts/loadgen.Partner: each click's name, the page it led to, its script runs."""
    partner = loadgen.Partner(await loadgen.open_partner(url, password=PASSWORD), tile=2)
    try:
        done = []
        for _ in range(2 * len(partner.steps)):
            name, screen = await partner.next()
            done.append((name, screen.page, screen.runs))
        return done
    finally:
        await partner.session.close()


def test_each_click_of_the_partner_round_is_one_script_run(tmp_path, demo_db):
    """The buttons change the state, or the page (ui/navigation.go), in their callback: the run the
    click starts draws the result. A dialog's button reruns its fragment first, as in a browser:
    the callback alone, then the app once."""
    env = {"ESAT_DB": demo_db, "ESAT_OUTBOX": str(tmp_path / "outbox"), "ESAT_TODAY": TODAY.isoformat()}
    with server(env, tmp_path / "server.log") as url:
        done = asyncio.run(round_runs(url))
    assert len(done) == 24 and done[-1][1] == "Accueil"
    led_to = {
        "Accueil → Mes travailleurs": "Mes travailleurs",
        "dialog: Confirmer → Fiche travailleur": "Fiche travailleur",
        "Fiche travailleur: Déclarer → Déclaration": "Déclaration",
        "dialog: Confirmer → Mes travailleurs": "Mes travailleurs",
        "Mes travailleurs: Page suivante": "Mes travailleurs",
        "Mes travailleurs → Accueil": "Accueil",
    }
    in_dialog = {
        "dialog: Confirmer → Fiche travailleur",
        "dialog: Confirmer → Mes travailleurs",
        "dialog: Confirmer → selection emptied",
    }
    for name, page, runs in done:
        assert page == led_to.get(name, page), name
        assert runs == (2 if name in in_dialog else 1), name


def test_a_dialog_button_clicked_in_a_run_of_the_whole_app_changes_page_in_that_run(tmp_path, demo_db):
    """ui/navigation.go from a callback of a run of the whole app: no second run."""
    env = {"ESAT_DB": demo_db, "ESAT_OUTBOX": str(tmp_path / "outbox"), "ESAT_TODAY": TODAY.isoformat()}

    async def confirm_as_whole_app() -> loadgen.Screen:
        partner = loadgen.Partner(await loadgen.open_partner(url, password=PASSWORD), tile=2)
        try:
            for step in (partner.to_workers, partner.select, partner.open_choice):
                await step()
            session = partner.session
            confirm = session.screen.find("button", "Confirmer")
            session.screen.widgets = [w for w in session.screen.widgets if w.id != confirm.id]  # no fragment
            return await session.rerun([loadgen.click(confirm)])
        finally:
            await partner.session.close()

    with server(env, tmp_path / "server.log") as url:
        screen = asyncio.run(confirm_as_whole_app())
    assert (screen.page, screen.runs) == ("Fiche travailleur", 1)
