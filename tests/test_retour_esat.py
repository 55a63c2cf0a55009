"""The return to the ESAT (issue 12, point 11): a declaration type written as YAML only, allowed
after a departure or a leave (droit au retour, art. L344-2-5 CASF), that makes the worker active
again from the date of return with the declared rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services import declarations
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.stores import known
from tests.test_services import account
from tests.test_timeline import MODIF, change, departure, file, fresh_worker, on

__all__ = ["no_legacy_pages"]

RETOUR = "retour_esat"


def retour(day: str, rate: str) -> dict:
    return {"date_retour": day, "taux_activite": rate}


def refusals(store, env, worker: int, form_id: str) -> list[str]:
    return declarations.refusals(store, env, account(store), worker, declarations.forms()[form_id])


def test_a_worker_who_left_comes_back_active_with_the_new_rate(env, store):
    worker = fresh_worker(store)
    april = on(env, date(2027, 4, 1))
    file(store, april, worker, "depart_esat", departure("31/03/2027"), "dep")
    # Gone: other changes dated after the departure are refused, the return is offered.
    with pytest.raises(declarations.Invalid):
        file(store, april, worker, MODIF, change("01/04/2027", "100", "80"), "refused")
    assert refusals(store, april, worker, RETOUR) == []

    file(store, april, worker, RETOUR, retour("15/04/2027", "60"), "back")
    assert known(store, worker, date(2027, 4, 14), "status", "rate_esat") == {
        "status": "LEFT",
        "rate_esat": Decimal("100.00"),
    }
    assert known(store, worker, date(2027, 4, 15), "status", "rate_esat") == {
        "status": "ACTIVE",
        "rate_esat": Decimal("60.00"),
    }
    # Back in the ESAT: changes after the return are accepted, a second return is refused.
    file(store, april, worker, MODIF, change("01/05/2027", "60", "80"), "after")
    assert known(store, worker, date(2027, 5, 1), "rate_esat") == {"rate_esat": Decimal("80.00")}
    with pytest.raises(declarations.Invalid) as twice:
        file(store, april, worker, RETOUR, retour("02/05/2027", "80"), "again")
    assert (
        "un retour ne peut être déclaré qu'après un départ ou un congé"
        in twice.value.report.errors[0].message
    )
    stored = store.one(
        "SELECT form_id, effective_date, effects FROM declaration WHERE idempotency_key = 'back'"
    )
    assert (stored["form_id"], stored["effective_date"]) == (RETOUR, date(2027, 4, 15))
    assert '"status":"ACTIVE"' in stored["effects"] and '"return_date":null' in stored["effects"]


def test_a_return_ends_a_parental_leave_before_its_expected_date(env, store):
    worker = fresh_worker(store)
    day = on(env, date(2027, 3, 1))
    leave = {
        "date_depart": "01/03/2027",
        "motif_depart": "conge_parental_education",
        "date_retour_prevue": "01/03/2028",
    }
    file(store, day, worker, "depart_esat", leave, "leave")
    file(store, on(env, date(2027, 6, 1)), worker, RETOUR, retour("01/06/2027", "50"), "back")
    assert known(store, worker, date(2027, 6, 1), "status", "return_date", "rate_esat") == {
        "status": "ACTIVE",
        "return_date": None,
        "rate_esat": Decimal("50.00"),
    }


def test_a_worker_never_gone_is_refused_the_return(env, store):
    worker = fresh_worker(store)
    day = on(env, date(2027, 4, 1))
    [reason] = refusals(store, day, worker, RETOUR)
    assert "en activité dans l'ESAT" in reason
    with pytest.raises(declarations.Invalid):
        file(store, day, worker, RETOUR, retour("01/04/2027", "80"), "never-gone")
    assert store.scalar("SELECT count(*) FROM declaration WHERE worker_id = ?", [worker]) == 0


# -- through the question tree (AppTest) -----------------------------------------------------------


def test_a_return_is_reached_through_the_question_tree_and_filed(env, store):
    from tests.test_pages_changes import recap_and_validate, start_change, widget

    store.execute("UPDATE worker SET status = 'LEFT' WHERE id = 1")
    at = start_change(store, (1,), "non", "retour")
    assert "Retour dans l'ESAT" in texts(at)
    button(at, "Commencer la saisie").click().run()
    assert titles(at) == ["Retour dans l'ESAT"]
    widget(at, "date_input", "date_retour").set_value(date(2026, 12, 1)).run()
    widget(at, "text_input", "taux_activite").input("70").run()
    recap_and_validate(at)
    assert known(store, 1, date(2026, 12, 1), "status", "rate_esat") == {
        "status": "ACTIVE",
        "rate_esat": Decimal("70.00"),
    }


def test_the_question_tree_refuses_the_return_of_a_worker_never_gone(env, store):
    from tests.test_pages_changes import start_change

    at = start_change(store, (1,), "non", "retour")
    assert "un retour ne peut être déclaré qu'après un départ ou un congé" in texts(at)
    assert not [b for b in at.button if b.label == "Commencer la saisie"]
