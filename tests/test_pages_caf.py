"""AppTest of the Caf agent pages, with figures checked against direct SQL counts."""

from __future__ import annotations

import pytest

from forms import fmt
from services import backoffice
from tests.apptest import button, login, no_legacy_pages, start, texts, titles
from tests.test_pages import logged_in

__all__ = ["no_legacy_pages"]

AGENT = "agent.caf@example.org"


def agent_at():
    at = logged_in(AGENT)
    assert titles(at) == ["Campagne du certificat d'emploi"]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_campaign_figures_match_direct_sql(env, store):
    at = agent_at()
    sql, params = backoffice.expected("441", 2026)
    expected = store.scalar(f"SELECT count(*) FROM ({sql}) x", params)
    missing = store.scalar(
        f"SELECT count(*) FROM ({sql}) x WHERE NOT EXISTS (SELECT 1 FROM declaration d "
        "WHERE d.worker_id = x.worker_id AND d.campaign = 2026)",
        params,
    )
    received = store.scalar("SELECT count(*) FROM declaration WHERE caf_code = '441' AND campaign = 2026")
    assert metric(at, "Certificats attendus") == fmt.integer(expected)
    assert metric(at, "Certificats reçus") == fmt.integer(received)
    assert metric(at, "Restant à recevoir") == fmt.integer(missing)
    assert not at.exception


def test_previous_campaign_can_be_chosen(env, store):
    at = agent_at()
    at.selectbox[0].set_value(2025).run()
    received = store.scalar(
        "SELECT count(*) FROM declaration d JOIN worker w ON w.id = d.worker_id "
        "WHERE d.caf_code = '441' AND d.campaign = 2025"
    )
    assert metric(at, "Certificats reçus") == fmt.integer(received)


@pytest.mark.parametrize("page", ["pages/caf_changements.py", "pages/caf_avis.py", "pages/caf_corbeille.py"])
def test_every_agent_page_renders(env, page):
    at = agent_at()
    at.switch_page(page).run()
    assert not at.exception
    assert titles(at)


def test_marking_a_declaration_processed_records_who_and_when(env, store):
    at = agent_at()
    at.switch_page("pages/caf_corbeille.py").run()
    assert titles(at) == ["Corbeille des déclarations"]
    box = next(s for s in at.selectbox if s.key == "inbox_open")
    first = int(
        store.scalar(
            "SELECT id FROM declaration WHERE caf_code = '441' AND processed_at IS NULL ORDER BY received_at DESC LIMIT 1"
        )
    )
    box.set_value(first).run()
    assert "Marquer comme traitée" in [b.label for b in at.button]
    button(at, "Marquer comme traitée").click().run()
    row = store.one("SELECT processed_at, processed_by FROM declaration WHERE id = ?", [first])
    assert row["processed_at"] is not None and row["processed_by"] == store.scalar(
        "SELECT id FROM account WHERE login = ?", [AGENT]
    )
    assert "est marquée comme traitée" in texts(at)
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'declaration_processed'") == 1


AGENT_PAGES = (
    "pages/caf_campagne.py",
    "pages/caf_corbeille.py",
    "pages/caf_avis.py",
    "pages/caf_changements.py",
)
PARTNER_PAGES = ("pages/accueil.py", "pages/travailleurs.py", "pages/fiche.py", "pages/declaration.py")


def test_a_partner_reaches_no_agent_page(env):
    """The router does not even register the agent pages for a partner."""
    at = logged_in("esat.demo@example.org")
    for page in AGENT_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    at.switch_page("pages/travailleurs.py").run()  # the check can fail: partner pages are there
    assert titles(at) == ["Mes travailleurs"]


def test_an_agent_reaches_no_partner_page(env):
    at = agent_at()
    for page in PARTNER_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_nobody_logged_in_reaches_no_inner_page(env):
    at = start()
    login(at, "personne@example.org", "x" * 12)
    for page in AGENT_PAGES + PARTNER_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
