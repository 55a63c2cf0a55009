"""Runs the readable test cases ``tests/cases/<form_id>.yaml`` of every form definition.

Each form of ``forms/definitions`` must have a case file; every check and every guard of a
form must be triggered by at least one of its cases (so a new check needs a new case), and so
must the required-field rule and, for the certificat, the calendar window.

A case's ``context`` is what the Caf knows of the worker (``forms.schema.CONTEXT_KEYS``): rates
as numbers or strings (read as Decimals), dates as AAAA-MM-JJ, ``double_activity`` as a boolean,
``status`` as ACTIVE / LEFT / ON_LEAVE.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from forms import FormDefinition, load_all
from forms.loader import read_yaml
from forms.schema import CONTEXT_KEYS
from rules import validate

CASES = Path(__file__).resolve().parent / "cases"
FORM_LEVEL = "_form"  # how a form-level issue (field None) is written in a case


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    date: date
    context: dict[str, Any] = {}
    payload: dict[str, Any]
    valid: bool
    errors: list[str]
    warnings: list[str]
    derived: dict[str, str] = {}
    messages: list[str] = []
    absent: list[str] = []  # fields left out of the report's values (hidden ones)

    @field_validator("context")
    @classmethod
    def _known_keys(cls, context: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(context) - set(CONTEXT_KEYS))
        if unknown:
            raise ValueError(f"clés de contexte inconnues {unknown} (attendu : {', '.join(CONTEXT_KEYS)})")
        return context


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    form: str
    cases: list[Case] = Field(min_length=1)


def load_case_file(path: Path) -> CaseFile:
    try:
        return CaseFile.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise AssertionError(f"{path.name}: {exc}") from exc


def case_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(CASES.glob("*.yaml"))}


RATE_KEYS = ("rate_esat", "rate_mo")
DATE_KEYS = ("double_activity_since", "last_change_date")


def context_of(case: Case) -> dict[str, Any]:
    """The context as the services give it: rates as Decimals (YAML gives int, float or str),
    dates as ``date`` (YAML gives a date, or a str when quoted), the rest as written."""
    out: dict[str, Any] = {}
    for key, value in case.context.items():
        if value is None:
            out[key] = None
        elif key in RATE_KEYS:
            if isinstance(value, bool):
                raise AssertionError(f"{case.name}: {key} doit être un taux, pas un booléen")
            out[key] = Decimal(str(value).replace(",", "."))
        elif key in DATE_KEYS:
            out[key] = value if isinstance(value, date) else date.fromisoformat(str(value))
        else:
            out[key] = value
    return out


def run(form: FormDefinition, case: Case):
    return validate(form, case.payload, case.date, context_of(case))


def names(issues) -> Counter:
    return Counter(i.field if i.field is not None else FORM_LEVEL for i in issues)


def form_ids(form: FormDefinition) -> set[str]:
    return {f.id for f in form.fields}


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def _params() -> list:
    params = []
    forms = load_all()
    for stem, path in case_files().items():
        if stem not in forms:
            continue  # reported by test_case_files_name_known_forms
        for i, case in enumerate(load_case_file(path).cases):
            params.append(pytest.param(stem, case, id=f"{stem}[{i}] {case.name}"))
    return params


# --- the case files themselves ----------------------------------------------------------------------


def test_every_form_has_a_case_file():
    missing = sorted(set(load_all()) - set(case_files()))
    assert not missing, f"formulaires sans fichier tests/cases/<id>.yaml : {missing}"


def test_case_files_name_known_forms():
    forms = load_all()
    for stem, path in case_files().items():
        data = load_case_file(path)
        assert stem in forms, f"{path.name}: aucun formulaire '{stem}' dans forms/definitions"
        assert data.form == stem, f"{path.name}: 'form: {data.form}' différent du nom du fichier"


def test_case_names_are_unique():
    for path in case_files().values():
        counts = Counter(c.name for c in load_case_file(path).cases)
        assert [n for n, k in counts.items() if k > 1] == [], path.name


def test_case_files_refuse_duplicate_keys(tmp_path):
    from forms import FormError

    path = tmp_path / "x.yaml"
    path.write_text("form: x\nform: y\ncases: []\n", encoding="utf-8")
    with pytest.raises(FormError, match="double"):
        read_yaml(path)


# --- each case ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("form_id", "case"), _params())
def test_case(form_id: str, case: Case):
    form = load_all()[form_id]
    report = run(form, case)
    detail = f"\nerreurs: {report.errors}\nalertes: {report.warnings}"
    assert report.valid is case.valid, detail
    assert names(report.errors) == Counter(case.errors), detail
    assert names(report.warnings) == Counter(case.warnings), detail
    for key, expected in case.derived.items():  # only the values the case names
        assert plain(report.derived.get(key, "(absent)")) == plain(expected), key
    if not case.valid:
        assert report.derived == {}
    for field_id in case.absent:
        assert field_id in form_ids(form), f"« {field_id} » n'est pas un champ de {form_id}"
        assert field_id not in report.values, f"« {field_id} » (masqué) figure dans les valeurs"
    messages = [plain(i.message) for i in report.errors + report.warnings]
    for expected in case.messages:
        assert any(plain(expected) in m for m in messages), f"« {expected} » absent de {messages}"


# --- coverage: each rule has a case ---------------------------------------------------------------------


def _cases_of(form_id: str) -> list[Case]:
    path = case_files().get(form_id)
    return load_case_file(path).cases if path else []


def _issues(report, level: str) -> Counter:
    issues = report.errors if level == "error" else report.warnings
    return Counter((i.field, i.message) for i in issues)


def triggers(form: FormDefinition, index: int, case: Case) -> bool:
    """Does check ``index`` of ``form`` raise an issue, at its field and level, on ``case``?

    The form is run with that check alone and with no check at all: the difference is what
    the check itself produced.
    """
    spec = form.checks[index]
    alone = form.model_copy(update={"checks": [spec]})
    none = form.model_copy(update={"checks": []})
    extra = _issues(run(alone, case), spec.level) - _issues(run(none, case), spec.level)
    return any(field == spec.field for field, _ in extra)


@pytest.mark.parametrize("form_id", sorted(load_all()))
def test_every_check_has_a_case(form_id: str):
    form = load_all()[form_id]
    cases = _cases_of(form_id)
    uncovered = [
        f"checks[{i}] {spec.check} sur {spec.field} ({spec.level})"
        for i, spec in enumerate(form.checks)
        if not any(triggers(form, i, case) for case in cases)
    ]
    assert not uncovered, f"{form_id}: aucun cas ne déclenche {uncovered}"


def guard_triggers(form: FormDefinition, index: int, case: Case) -> bool:
    """Does guard ``index`` of ``form`` refuse ``case`` (a form-level error of its own)?"""
    alone = form.model_copy(update={"guards": [form.guards[index]]})
    none = form.model_copy(update={"guards": []})
    extra = _issues(run(alone, case), "error") - _issues(run(none, case), "error")
    return any(field is None for field, _ in extra)


@pytest.mark.parametrize("form_id", sorted(load_all()))
def test_every_guard_has_a_case(form_id: str):
    form = load_all()[form_id]
    cases = _cases_of(form_id)
    uncovered = [
        f"guards[{i}] {g.guard}"
        for i, g in enumerate(form.guards)
        if not any(guard_triggers(form, i, case) and FORM_LEVEL in case.errors for case in cases)
    ]
    assert not uncovered, f"{form_id}: aucun cas ne déclenche {uncovered}"


def test_context_values_are_typed():
    case = Case(
        name="contexte",
        date=date(2026, 6, 1),
        context={
            "rate_esat": "49,99",
            "rate_mo": 50,
            "double_activity": True,
            "double_activity_since": "2024-01-15",
            "last_change_date": date(2025, 3, 1),
            "status": "ACTIVE",
        },
        payload={},
        valid=False,
        errors=[],
        warnings=[],
    )
    assert context_of(case) == {
        "rate_esat": Decimal("49.99"),
        "rate_mo": Decimal(50),
        "double_activity": True,
        "double_activity_since": date(2024, 1, 15),
        "last_change_date": date(2025, 3, 1),
        "status": "ACTIVE",
    }
    with pytest.raises(ValidationError, match="rate_esatt"):
        Case.model_validate(case.model_dump() | {"context": {"rate_esatt": 80}})


@pytest.mark.parametrize("form_id", sorted(load_all()))
def test_every_required_field_has_a_case(form_id: str):
    form = load_all()[form_id]
    cases = _cases_of(form_id)
    for f in form.fields:
        if not f.required:
            continue
        assert any(
            f.id in c.errors and (c.payload.get(f.id) is None or str(c.payload[f.id]).strip() == "")
            for c in cases
        ), f"{form_id}: aucun cas sans « {f.id} » (champ obligatoire)"


@pytest.mark.parametrize("form_id", sorted(load_all()))
def test_valid_and_invalid_cases_exist(form_id: str):
    cases = _cases_of(form_id)
    assert any(c.valid for c in cases), f"{form_id}: aucun cas valide"
    assert any(not c.valid for c in cases), f"{form_id}: aucun cas refusé"


@pytest.mark.parametrize("form_id", sorted(load_all()))
def test_window_has_cases(form_id: str):
    form = load_all()[form_id]
    if form.window == "always":
        return
    cases = _cases_of(form_id)
    closed = [c for c in cases if FORM_LEVEL in c.errors]
    assert closed, f"{form_id}: aucun cas hors période de déclaration"
    assert any(c.valid for c in cases), f"{form_id}: aucun cas dans la période"
