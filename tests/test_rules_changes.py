"""The five changement-de-situation forms (DOMAIN §3.2, §4, §8.2–§8.4): what the case files
cannot express well — the state a filed declaration leaves, which fields show as the user types,
the wording of every message, and the month arithmetic behind the date limits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from forms import load_all
from forms.loader import read_yaml
from rules import validate
from rules.checks import add_months, reference_list
from rules.engine import state_changes, visible_fields
from tests.test_form_cases import load_case_file
from tests.test_form_cases import run as run_case

FORMS = load_all()
CHANGES = (
    "modification_activite",
    "depart_esat",
    "debut_double_activite",
    "modification_double_activite",
    "fin_double_activite",
)
ON = date(2026, 6, 15)
CONGES = ("conge_parental_education", "conge_presence_parentale")
CASES = Path(__file__).resolve().parent / "cases"


def values_of(form_id: str, payload: dict) -> dict:
    """The typed values of a payload that must be valid (as the services store them)."""
    report = validate(FORMS[form_id], payload, ON)
    assert report.valid, report.errors
    return report.values


def changes(form_id: str, payload: dict) -> dict:
    return state_changes(FORMS[form_id], values_of(form_id, payload))


def shown(form_id: str, payload: dict) -> list[str]:
    return [f.id for f in visible_fields(FORMS[form_id], payload)]


# --- state_changes: what the Caf knows after the declaration (DOMAIN §8.4) ---------------------------


@pytest.mark.parametrize("sens", ["augmentation", "reduction"])
def test_modification_activite_sets_the_esat_rate(sens):
    old, new = ("50", "80") if sens == "augmentation" else ("80", "50")
    payload = {"sens": sens, "date_changement": "01/06/2026", "taux_avant": old, "nouveau_taux": new}
    result = changes("modification_activite", payload | {"certification": True})
    assert result == {"rate_esat": Decimal(new)}
    assert isinstance(result["rate_esat"], Decimal)


@pytest.mark.parametrize("motif", CONGES)
def test_depart_for_a_conge_is_a_leave_with_a_return_date(motif):
    payload = {"date_depart": "01/06/2026", "motif_depart": motif, "date_retour_prevue": "01/06/2027"}
    assert changes("depart_esat", payload) == {"status": "ON_LEAVE", "return_date": date(2027, 6, 1)}


@pytest.mark.parametrize("motif", [o.value for o in reference_list("motifs_depart") if o.value not in CONGES])
def test_depart_for_any_other_motif_is_a_departure(motif):
    payload = {"date_depart": "01/06/2026", "motif_depart": motif, "date_retour_prevue": "01/06/2027"}
    assert changes("depart_esat", payload) == {"status": "LEFT", "return_date": None}


def test_debut_sets_the_double_activity_and_both_rates():
    payload = {
        "date_debut": "01/06/2026",
        "taux_esat_avant": "100",
        "taux_esat_apres": "60",
        "taux_milieu_ordinaire": "40",
    }
    assert changes("debut_double_activite", payload) == {
        "double_activity": True,
        "double_activity_since": date(2026, 6, 1),
        "rate_esat": Decimal(60),
        "rate_mo": Decimal(40),
    }


def test_modification_double_activite_with_the_new_mo_rate():
    payload = {
        "date_modification": "01/06/2026",
        "taux_esat_avant": "60",
        "taux_mo_avant": "40",
        "taux_esat_apres": "50",
        "taux_mo_apres": "45,5",
        "certification": True,
    }
    assert changes("modification_double_activite", payload) == {
        "rate_esat": Decimal(50),
        "rate_mo": Decimal("45.5"),
    }


def test_modification_double_activite_without_the_mo_rate_keeps_the_known_one():
    payload = {
        "date_modification": "01/06/2026",
        "taux_esat_avant": "60",
        "taux_esat_apres": "50",
        "certification": True,
    }
    result = changes("modification_double_activite", payload)
    assert result == {"rate_esat": Decimal(50)}
    assert "rate_mo" not in result  # not set to NULL: the known MO rate stays


FIN = {"date_fin": "01/06/2026", "taux_esat_avant": "60", "taux_mo_avant": "40"}


@pytest.mark.parametrize(
    ("motif", "status", "return_date"),
    [
        ("conge_parental_education", "ON_LEAVE", date(2027, 6, 1)),
        ("conge_presence_parentale", "ON_LEAVE", date(2027, 6, 1)),
        ("demission", "LEFT", None),
        ("emploi_milieu_ordinaire", "LEFT", None),
    ],
)
def test_fin_of_the_esat_activity(motif, status, return_date):
    payload = FIN | {"taux_esat_apres": "0", "taux_mo_apres": "80", "motif_depart": motif}
    if motif in CONGES:
        payload["date_retour_prevue"] = "01/06/2027"
    assert changes("fin_double_activite", payload) == {
        "double_activity": False,
        "double_activity_since": None,
        "rate_esat": Decimal(0),
        "rate_mo": Decimal(80),
        "status": status,
        "return_date": return_date,
    }


def test_fin_of_the_mo_activity_keeps_the_worker_active():
    payload = FIN | {"taux_esat_apres": "100", "taux_mo_apres": "0", "motif_depart": "demission"}
    result = changes("fin_double_activite", payload)  # the motif is hidden: no status change
    assert "status" not in result
    assert result == {
        "double_activity": False,
        "double_activity_since": None,
        "rate_esat": Decimal(100),
        "rate_mo": Decimal(0),
        "return_date": None,
    }


def test_state_changes_only_name_worker_columns():
    from forms.schema import WORKER_STATE

    for form_id in CHANGES:
        assert {e.set for e in FORMS[form_id].effects} <= set(WORKER_STATE), form_id
    assert state_changes(FORMS["certificat_emploi"], {}) == {}


# --- visible_fields: the form grows as the user types ------------------------------------------------


def test_modification_activite_block_appears_once_the_new_rate_is_entered():
    base = ["sens", "date_changement", "taux_avant", "nouveau_taux"]
    assert shown("modification_activite", {}) == base
    assert shown("modification_activite", {"taux_avant": "50"}) == base
    assert shown("modification_activite", {"nouveau_taux": "  "}) == base
    assert shown("modification_activite", {"nouveau_taux": "abc"}) == base  # not a rate yet
    assert shown("modification_activite", {"nouveau_taux": "0"}) == base  # refused: not entered
    assert shown("modification_activite", {"nouveau_taux": "80"}) == [*base, "certification"]
    assert shown("modification_activite", {"nouveau_taux": 80}) == [*base, "certification"]


MDA_BASE = ["date_modification", "taux_esat_avant", "taux_mo_avant", "taux_esat_apres"]
MDA_ALL = [*MDA_BASE, "taux_mo_apres", "certification"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, MDA_BASE),
        ({"taux_esat_avant": "60"}, MDA_BASE),
        ({"taux_esat_apres": "50"}, MDA_BASE),  # nothing to compare with yet
        ({"taux_esat_avant": "60", "taux_esat_apres": ""}, MDA_BASE),
        ({"taux_esat_avant": "60", "taux_esat_apres": "60"}, MDA_BASE),
        ({"taux_esat_avant": "60", "taux_esat_apres": "60,00"}, MDA_BASE),
        ({"taux_esat_avant": "60", "taux_esat_apres": "0"}, MDA_BASE),  # invalid rate
        ({"taux_esat_avant": "100", "taux_esat_apres": "60"}, MDA_BASE),  # invalid rate before
        ({"taux_esat_avant": "60", "taux_esat_apres": "50"}, MDA_ALL),
        ({"taux_esat_avant": "60", "taux_esat_apres": "60,01"}, MDA_ALL),
        ({"taux_esat_avant": "60", "taux_esat_apres": "50", "taux_mo_apres": "abc"}, MDA_ALL),
    ],
)
def test_modification_double_activite_next_block(payload, expected):
    assert shown("modification_double_activite", payload) == expected


def test_depart_return_date_only_for_the_two_conges():
    base = ["date_depart", "motif_depart"]
    assert shown("depart_esat", {}) == base
    assert shown("depart_esat", {"motif_depart": "demission", "date_retour_prevue": "01/06/2027"}) == base
    assert shown("depart_esat", {"motif_depart": "inconnu"}) == base
    for motif in CONGES:
        assert shown("depart_esat", {"motif_depart": motif}) == [*base, "date_retour_prevue"]


@pytest.mark.parametrize(
    ("payload", "extra"),
    [
        ({}, []),
        ({"taux_esat_apres": "10"}, []),
        ({"taux_esat_apres": "0"}, ["motif_depart"]),
        ({"taux_esat_apres": "0,00"}, ["motif_depart"]),
        ({"taux_esat_apres": 0}, ["motif_depart"]),
        ({"taux_esat_apres": "0", "motif_depart": "retraite"}, ["motif_depart"]),
        ({"taux_esat_apres": "0", "motif_depart": CONGES[0]}, ["motif_depart", "date_retour_prevue"]),
        ({"taux_esat_apres": "0", "motif_depart": CONGES[1]}, ["motif_depart", "date_retour_prevue"]),
        # back to an ESAT rate above 0: the motif hides, and the return date with it
        ({"taux_esat_apres": "10", "motif_depart": CONGES[0], "date_retour_prevue": "01/06/2027"}, []),
    ],
)
def test_fin_motif_and_return_date(payload, extra):
    base = ["date_fin", "taux_esat_avant", "taux_mo_avant", "taux_esat_apres", "taux_mo_apres"]
    assert shown("fin_double_activite", payload) == base + extra


def test_hidden_values_are_neither_validated_nor_kept():
    payload = {
        "date_depart": "01/06/2026",
        "motif_depart": "retraite",
        "date_retour_prevue": "n'importe quoi",
    }
    report = validate(FORMS["depart_esat"], payload, ON)
    assert report.valid
    assert report.values == {"date_depart": date(2026, 6, 1), "motif_depart": "retraite"}
    fin = FIN | {"taux_esat_apres": "80", "taux_mo_apres": "0", "motif_depart": "inconnu"}
    report = validate(FORMS["fin_double_activite"], fin, ON)
    assert report.valid, report.errors
    assert "motif_depart" not in report.values


def test_validate_and_visible_fields_agree():
    """A field is in the report's values only if visible_fields shows it (same rule)."""
    for form_id in CHANGES:
        for case in read_yaml(CASES / f"{form_id}.yaml")["cases"]:
            payload = case["payload"]
            visible = set(shown(form_id, payload))
            report = validate(FORMS[form_id], payload, case["date"])
            assert set(report.values) <= visible, (form_id, case["name"])
            issues = {i.field for i in report.errors + report.warnings if i.field in visible | set(payload)}
            form_fields = {f.id for f in FORMS[form_id].fields}
            assert not (issues & (form_fields - visible)), (form_id, case["name"])


# --- messages -------------------------------------------------------------------------------------


def case_reports():
    """Every case of the five forms, run with its context as the case runner does."""
    for form_id in CHANGES:
        form = FORMS[form_id]
        for case in load_case_file(CASES / f"{form_id}.yaml").cases:
            yield form, case, run_case(form, case)


def test_every_field_message_names_the_field_by_its_label():
    seen = 0
    for form, case, report in case_reports():
        labels = {f.id: f.label for f in form.fields}
        for issue in report.errors + report.warnings:
            if issue.field in labels:
                seen += 1
                assert f"« {labels[issue.field]} »" in issue.message, (form.id, case.name, issue)
            else:
                assert issue.message.strip(), (form.id, case.name, issue)
    assert seen > 80


def test_dates_are_compared_with_posterieure_or_anterieure():
    seen = set()
    for form, case, report in case_reports():
        types = {f.id: f.type for f in form.fields}
        for issue in report.errors + report.warnings:
            if types.get(issue.field) != "date":
                continue
            text = issue.message
            assert "supérieur" not in text and "inférieur" not in text, (case.name, text)
            if (
                "comprise entre" in text
                or "format" in text
                or "obligatoire" in text
                or "n'existe pas" in text
            ):
                continue
            assert "postérieure" in text or "antérieure" in text or "dépasser" in text, (case.name, text)
            seen.add(
                "postérieure" if "postérieure" in text else "antérieure" if "antérieure" in text else "ans"
            )
    assert seen == {"postérieure", "antérieure", "ans"}


def test_date_check_wordings():
    depart = {"date_depart": "01/06/2026", "motif_depart": CONGES[0], "date_retour_prevue": "01/06/2026"}
    [issue] = validate(FORMS["depart_esat"], depart, ON).errors
    assert issue.message == "« Date prévisionnelle de retour » doit être postérieure à « Date du départ »."
    debut = {
        "date_debut": "31/12/2022",
        "taux_esat_avant": "100",
        "taux_esat_apres": "60",
        "taux_milieu_ordinaire": "40",
    }
    [issue] = validate(FORMS["debut_double_activite"], debut, date(2024, 6, 1)).errors
    assert (
        issue.message == "« Date de début de la double activité » ne peut pas être antérieure au 01/01/2023."
    )
    known = {"double_activity_since": date(2026, 6, 1), "last_change_date": date(2026, 6, 2)}
    fin = FIN | {"taux_esat_apres": "100", "taux_mo_apres": "0"}
    messages = [i.message for i in validate(FORMS["fin_double_activite"], fin, ON, known).errors]
    assert messages == [
        "« Date de fin » doit être postérieure au 01/06/2026, date de début de la double activité connue de la Caf.",
        "« Date de fin » ne peut pas être antérieure au 02/06/2026, date de dernier changement déclaré connue de la Caf.",
    ]


def test_rate_messages_show_french_percentages():
    payload = {
        "sens": "augmentation",
        "date_changement": "01/06/2026",
        "taux_avant": "62,5",
        "nouveau_taux": "80",
        "certification": True,
    }
    report = validate(FORMS["modification_activite"], payload, ON, {"rate_esat": Decimal("62.55")})
    [warning] = report.warnings
    assert warning.message == (
        "« Taux d'activité avant le changement » (62,5\u00a0%) diffère de ce que la Caf connaît "
        "pour ce travailleur (62,55\u00a0%) : vérifiez la valeur."
    )
    report = validate(FORMS["modification_activite"], payload, ON, {"rate_esat": Decimal("62.50")})
    assert report.warnings == []


@pytest.mark.parametrize("form_id", CHANGES)
@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"status": "LEFT"}, "n'est plus en activité dans l'ESAT"),
        ({"status": "ON_LEAVE"}, "n'est plus en activité dans l'ESAT"),
    ],
)
def test_every_change_is_refused_for_a_worker_who_left(form_id, context, expected):
    report = validate(FORMS[form_id], {}, ON, context)
    refusals = [i for i in report.errors if i.field is None]
    assert len(refusals) == 1
    assert expected in refusals[0].message


@pytest.mark.parametrize(
    ("form_id", "refused_when"),
    [
        ("modification_activite", True),
        ("depart_esat", True),
        ("debut_double_activite", True),
        ("modification_double_activite", False),
        ("fin_double_activite", False),
    ],
)
def test_double_activity_guards(form_id, refused_when):
    for flag in (True, False):
        ctx = {"double_activity": flag, "status": "ACTIVE"}
        refusals = [i for i in validate(FORMS[form_id], {}, ON, ctx).errors if i.field is None]
        assert bool(refusals) is (flag is refused_when), (form_id, flag)
    assert [i for i in validate(FORMS[form_id], {}, ON, {}).errors if i.field is None] == []


# --- month arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), -12, date(2027, 2, 28)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2028, 2, 29), -24, date(2026, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 5, 31), 1, date(2026, 6, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 6, 15), -24, date(2024, 6, 15)),
        (date(2026, 6, 15), 3, date(2026, 9, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 6, 15), 0, date(2026, 6, 15)),
        (date(9999, 12, 31), 36, date.max),
        (date(9999, 10, 1), 3, date.max),  # 01/01/10000 does not exist
        (date(1, 1, 1), -24, date.min),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_window_ending_on_a_shorter_month():
    """Declared on 30/11/2026: + 3 months is 28/02/2027, not 02/03/2027."""
    form = FORMS["depart_esat"]
    on = date(2026, 11, 30)
    assert validate(form, {"date_depart": "28/02/2027", "motif_depart": "retraite"}, on).valid
    report = validate(form, {"date_depart": "01/03/2027", "motif_depart": "retraite"}, on)
    assert [i.message for i in report.errors] == [
        "« Date du départ » doit être comprise entre le 30/11/2024 et le 28/02/2027."
    ]


def test_far_dates_never_raise():
    """A typed year 9999 (and a declaration on the last day ``date`` can hold) gives messages."""
    payload = {"date_depart": "31/12/9999", "motif_depart": CONGES[0], "date_retour_prevue": "31/12/9999"}
    report = validate(FORMS["depart_esat"], payload, ON)
    assert {i.field for i in report.errors} == {"date_depart", "date_retour_prevue"}
    report = validate(
        FORMS["depart_esat"], {"date_depart": "01/12/9999", "motif_depart": "retraite"}, date.max
    )
    assert report.valid
