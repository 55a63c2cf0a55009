"""What the agent needs to process a declaration (issue 12, points 10 and 13): the corbeille shows
the date of effect, the person of the dossier, what the Caf knew before, the derived values and
warnings frozen at filing, the AAH resources regime after a start or end of double activity (read
from the declaration's effects, not its form id), and flags corrections."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services import accounts, backoffice
from tests.apptest import no_legacy_pages, texts  # noqa: F401 - autouse fixture
from tests.test_pages_caf import agent_at
from tests.test_timeline import file, fresh_worker, on

TODAY = date(2026, 12, 10)


@pytest.fixture
def today(env):
    return on(env, TODAY)


def agent(store):
    return accounts.get(store, store.scalar("SELECT id FROM account WHERE login = 'agent.caf@example.org'"))


def debut(rate_before: str = "90") -> dict:
    return {
        "date_debut": "01/12/2026",
        "taux_esat_avant": rate_before,
        "taux_esat_apres": "60",
        "taux_milieu_ordinaire": "30",
    }


def fin(esat: str, mo: str) -> dict:
    return {
        "date_fin": "01/01/2027",
        "taux_esat_avant": "60",
        "taux_mo_avant": "30",
        "taux_esat_apres": esat,
        "taux_mo_apres": mo,
    }


def test_the_detail_shows_what_was_known_the_warnings_and_the_quarterly_regime(store, today):
    worker = fresh_worker(store)
    store.execute("UPDATE worker SET person_role = 'CONJOINT' WHERE id = ?", [worker])
    decl = file(store, today, worker, "debut_double_activite", debut("90"), "debut")
    info = backoffice.detail(store, agent(store), decl.id)
    assert info.effective_date == date(2026, 12, 1)
    assert info.person_role == "Conjoint du responsable du dossier"
    assert info.known_before == [
        ("Taux d'activité en ESAT", "100\u00a0%"),
        ("Taux d'activité en milieu ordinaire", "non connu"),
        ("Double activité", "Non"),
        ("Situation", "En activité dans l'ESAT"),
    ]
    # The ESAT said 90 % before, the Caf knew 100 %: the warning it went past is shown.
    assert len(info.warnings) == 1 and "diffère de ce que la Caf connaît" in info.warnings[0]
    assert info.regime == backoffice.QUARTERLY and "R821-4-1" in info.regime
    assert info.correction == ""


def test_an_end_back_to_the_esat_only_means_the_annual_regime(store, today):
    worker = fresh_worker(store)
    file(store, today, worker, "debut_double_activite", debut("100"), "debut")
    back = file(store, today, worker, "fin_double_activite", fin("80", "0"), "fin")
    info = backoffice.detail(store, agent(store), back.id)
    assert info.regime == backoffice.ANNUAL and "R821-4 " in info.regime
    assert ("Double activité", "Oui, depuis le 01/12/2026") in info.known_before
    # A rate change says nothing of the regime.
    assert backoffice.regime({"rate_esat": 80}) is None
    # An end that keeps the job outside (the worker leaves the ESAT): quarterly still.
    assert (
        backoffice.regime({"double_activity": False, "rate_mo": 80, "status": "LEFT"}) == backoffice.QUARTERLY
    )


def test_the_stored_derived_values_are_shown(store, today):
    worker = fresh_worker(store)
    certificat = {"remuneration_garantie": "1100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}
    decl = file(store, today, worker, "certificat_emploi", certificat, "cert")
    stored = json.loads(store.scalar("SELECT derived FROM declaration WHERE id = ?", [decl.id]))
    assert stored  # frozen at filing
    info = backoffice.detail(store, agent(store), decl.id)
    assert info.derived == [(d["label"], d["value"]) for d in stored]
    assert info.effective_date is None and info.regime is None


def test_a_rectificatif_and_the_declaration_it_replaces_are_flagged(store, today):
    worker = fresh_worker(store)
    first = file(store, today, worker, "debut_double_activite", debut("100"), "debut")
    fix = file(
        store,
        today,
        worker,
        "debut_double_activite",
        debut("100") | {"taux_esat_apres": "50"},
        "fix",
        first.id,
    )
    me = agent(store)
    assert backoffice.detail(store, me, first.id).correction == "Rectifiée le 10/12/2026"
    assert backoffice.detail(store, me, fix.id).correction == f"Rectificatif du n° {first.receipt_number}"
    rows, _ = backoffice.inbox(store, me, backoffice.InboxFilter(status="a_traiter"), limit=500)
    listed = rows.set_index("id")
    assert listed.loc[first.id, "suivi"] == "Rectifiée le 10/12/2026"
    assert listed.loc[fix.id, "suivi"] == f"Rectificatif du n° {first.receipt_number}"
    assert listed.loc[fix.id, "date_effet"] == date(2026, 12, 1)


def test_the_corbeille_page_shows_the_detail(env, store, today):
    at = agent_at()
    worker = fresh_worker(store)
    decl = file(store, today, worker, "debut_double_activite", debut("90"), "debut")
    at.switch_page("pages/caf_corbeille.py").run()
    next(s for s in at.selectbox if s.key == "inbox_open").set_value(decl.id).run()
    assert not at.exception
    shown = texts(at)
    assert "Date d'effet : **01/12/2026**" in shown or "Date d'effet : 01/12/2026" in shown
    assert "responsable du dossier" in shown
    assert "Ce que la Caf connaissait avant cette déclaration" in shown
    assert "100\u00a0%" in shown
    assert "Avertissements vus par l'ESAT avant l'envoi" in shown
    assert any("R821-4-1" in i.value for i in at.info)
    assert any("diffère de ce que la Caf connaît" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert "date_effet" in table.columns and "suivi" in table.columns
