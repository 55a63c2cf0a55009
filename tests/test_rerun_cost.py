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

import base64
import re
from datetime import timedelta

import pytest

from data.demo import DEMO_ESAT_ID
from data.store import Tx
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.conftest import ROOT, TODAY
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
