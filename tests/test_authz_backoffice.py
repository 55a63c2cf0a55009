"""Authorization matrix of the back office: an agent of one Caf never reaches another Caf's data."""

from __future__ import annotations

from datetime import date

import pytest

from services import accounts, backoffice, declarations, justificatifs, partner
from services.passwords import hash_password

AGENT_441 = "agent.caf@example.org"


def agent(store, login: str = AGENT_441) -> accounts.Account:
    row = store.one("SELECT id FROM account WHERE login = ?", [login])
    return accounts.get(store, row["id"])


@pytest.fixture
def agent_491(store) -> accounts.Account:
    store.execute(
        "INSERT INTO account (id, login, email, password_hash, role, esat_id, caf_code, display_name, created_at) "
        "VALUES (9001, 'agent.491@example.org', 'agent.491@example.org', ?, 'agent', NULL, '491', 'Agent 491', now())",
        [hash_password("x" * 12)],
    )
    return agent(store, "agent.491@example.org")


def other_caf_declarations(store, caf: str) -> list[int]:
    return [r["id"] for r in store.all("SELECT id FROM declaration WHERE caf_code <> ? ORDER BY id", [caf])]


DENIED_READS = {
    "detail": lambda store, env, who, i: backoffice.detail(store, who, i),
    "get": lambda store, env, who, i: declarations.get(store, who, i),
    "mark_processed": lambda store, env, who, i: backoffice.mark_processed(store, env, who, i),
}


@pytest.mark.parametrize("action", list(DENIED_READS))
def test_agent_of_441_is_denied_every_declaration_of_another_caf(env, store, action):
    who = agent(store)
    others = other_caf_declarations(store, "441")
    assert len(others) > 100
    denied = 0
    for declaration_id in others:
        with pytest.raises(partner.NotAllowed):
            DENIED_READS[action](store, env, who, declaration_id)
        denied += 1
    assert denied == len(others)
    assert (
        store.scalar(
            "SELECT count(*) FROM declaration WHERE processed_by = ? AND caf_code <> '441'", [who.id]
        )
        == 0
    )


def test_agent_receipt_pdf_of_another_caf_is_denied(env, store):
    who = agent(store)
    for declaration_id in other_caf_declarations(store, "441")[:50]:
        with pytest.raises(partner.NotAllowed):
            justificatifs.receipt_pdf(store, env, who, declaration_id)


def test_agent_of_491_is_denied_every_declaration_of_441(env, store, agent_491):
    others = other_caf_declarations(store, "491")
    for declaration_id in others:
        with pytest.raises(partner.NotAllowed):
            declarations.get(store, agent_491, declaration_id)
    for declaration_id in others[::20]:  # the slower detail query, on one in twenty
        with pytest.raises(partner.NotAllowed):
            backoffice.detail(store, agent_491, declaration_id)
    # and sees its own
    own = store.scalar("SELECT min(id) FROM declaration WHERE caf_code = '491'")
    assert backoffice.detail(store, agent_491, own).declaration_id == own


def test_agent_is_denied_every_worker_of_another_caf(env, store):
    who = agent(store)
    for row in store.all("SELECT id FROM worker WHERE caf_code <> '441'"):
        with pytest.raises(partner.NotAllowed):
            partner.get_worker(store, who, row["id"])


def test_lists_and_figures_only_hold_the_agents_caf(env, store, agent_491):
    for who, caf in ((agent(store), "441"), (agent_491, "491")):
        rows, total = backoffice.inbox(store, who, backoffice.InboxFilter(), limit=500)
        assert total == store.scalar("SELECT count(*) FROM declaration WHERE caf_code = ?", [caf])
        ids = set(rows["id"])
        assert ids and ids <= {
            r["id"] for r in store.all("SELECT id FROM declaration WHERE caf_code = ?", [caf])
        }
        missing = backoffice.undeclared_workers(store, who, 2026)
        allowed = {
            r["allocataire"] for r in store.all("SELECT allocataire FROM worker WHERE caf_code = ?", [caf])
        }
        assert set(missing["numero_allocataire"]) <= allowed
        assert set(backoffice.esats(store, who).values()) == {
            r["legal_name"]
            for r in store.all(
                "SELECT DISTINCT e.legal_name FROM esat e JOIN worker w ON w.esat_id = e.id WHERE w.caf_code = ?",
                [caf],
            )
        }


def test_forged_filters_cannot_widen_the_scope(env, store):
    """An ESAT id of another Caf in the filter returns nothing of that Caf."""
    who = agent(store)
    foreign_esat = store.scalar("SELECT min(esat_id) FROM worker WHERE caf_code = '491'")
    rows, _ = backoffice.inbox(store, who, backoffice.InboxFilter(esat_id=foreign_esat), limit=500)
    assert set(rows["id"]) <= {
        r["id"] for r in store.all("SELECT id FROM declaration WHERE caf_code = '441'")
    }


@pytest.mark.parametrize(
    "login", ["esat.demo@example.org", "esat.simple@example.org", "relecteur@example.org"]
)
def test_non_agents_get_no_back_office_function(env, store, login):
    who = agent(store, login)
    calls = [
        lambda: backoffice.campaign_totals(store, who, 2026),
        lambda: backoffice.campaign_by_esat(store, who, 2026),
        lambda: backoffice.undeclared_workers(store, who, 2026),
        lambda: backoffice.inbox(store, who, backoffice.InboxFilter()),
        lambda: backoffice.changes_by_month(store, who, date(2025, 1, 1)),
        lambda: backoffice.feedback(store, who),
        lambda: backoffice.processing_delays(store, who),
        lambda: backoffice.mark_processed(store, env, who, 1),
    ]
    for call in calls:
        with pytest.raises(partner.NotAllowed):
            call()
