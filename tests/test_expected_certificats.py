"""A certificat is expected only for a worker paid in November N (issue 12, point 9): in the ESAT on
at least one day of November N on the timeline. One rule (backoffice.expected) gives the campaign
figures and the list of workers still without a certificat."""

from __future__ import annotations

from datetime import date

import pytest

from services import accounts, backoffice
from tests.test_timeline import departure, file, fresh_worker, on

CAMPAIGN = 2026


def agent(store):
    return accounts.get(store, store.scalar("SELECT id FROM account WHERE login = 'agent.caf@example.org'"))


def entered(store, worker: int, day: date | None) -> int:
    store.execute("UPDATE worker SET entry_date = ? WHERE id = ?", [day, worker])
    return worker


def left(store, env, day: date) -> int:
    worker = fresh_worker(store)
    file(
        store,
        on(env, date(2026, 12, 10)),
        worker,
        "depart_esat",
        departure(f"{day:%d/%m/%Y}"),
        f"dep-{worker}",
    )
    return worker


def leave(store, env, start: str, back: str) -> int:
    worker = fresh_worker(store)
    payload = {"date_depart": start, "motif_depart": "conge_parental_education", "date_retour_prevue": back}
    file(store, on(env, date(2026, 12, 10)), worker, "depart_esat", payload, f"leave-{worker}")
    return worker


def figures(store) -> tuple[int, int, set[str]]:
    totals = backoffice.campaign_totals(store, agent(store), CAMPAIGN)
    missing = backoffice.undeclared_workers(store, agent(store), CAMPAIGN)
    return totals.expected, totals.missing, set(missing["numero_allocataire"])


def allocataire(store, worker: int) -> str:
    return store.scalar("SELECT allocataire FROM worker WHERE id = ?", [worker])


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("entry date unknown", True),
        ("entered on 30/11", True),
        ("entered on 01/12", False),
        ("left on 31/10", False),
        ("left on 01/11", False),
        ("left on 10/12", True),
        ("left on 02/11", True),
        ("on leave, back on 15/11", True),
        ("on leave, back on 01/12", False),
        ("left in June, returned on 20/11", True),
    ],
)
def test_each_edge_changes_the_campaign_figures(env, store, case, expected):
    before = figures(store)
    if case == "entry date unknown":
        worker = entered(store, fresh_worker(store), None)
    elif case.startswith("entered"):
        day = date(2026, 11, 30) if "30/11" in case else date(2026, 12, 1)
        worker = entered(store, fresh_worker(store), day)
    elif case.startswith("left on"):
        day, month = (int(n) for n in case.removeprefix("left on ").split("/"))
        worker = left(store, env, date(2026, month, day))
    elif case.startswith("on leave"):
        worker = leave(store, env, "01/06/2026", "15/11/2026" if "15/11" in case else "01/12/2026")
    else:
        worker = left(store, env, date(2026, 6, 30))
        back = {"date_retour": "20/11/2026", "taux_activite": "80"}
        file(store, on(env, date(2026, 12, 10)), worker, "retour_esat", back, f"back-{worker}")
    after = figures(store)
    step = 1 if expected else 0
    assert (after[0] - before[0], after[1] - before[1]) == (step, step), case
    assert (allocataire(store, worker) in after[2]) is expected
    assert backoffice.expects_certificat(store, worker, CAMPAIGN) is expected
    # The campaign before: every one of them was in the ESAT in November 2025, but the entrants.
    assert backoffice.expects_certificat(store, worker, CAMPAIGN - 1) is (not case.startswith("entered"))


def test_a_certificat_received_takes_the_worker_off_the_missing_list(env, store):
    worker = entered(store, fresh_worker(store), date(2020, 1, 1))
    expected, missing, names = figures(store)
    assert allocataire(store, worker) in names
    certificat = {"remuneration_garantie": "1100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}
    file(store, on(env, date(2026, 12, 10)), worker, "certificat_emploi", certificat, f"cert-{worker}")
    assert figures(store)[:2] == (expected, missing - 1)
    assert allocataire(store, worker) not in figures(store)[2]
