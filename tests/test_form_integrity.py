"""Mistakes in a form definition that the schema alone cannot see, caught before any user does."""

from __future__ import annotations

import pytest

from forms import load_all
from forms.schema import Condition, FormDefinition
from rules import checks, parameters

FORMS = load_all()


def conditions(form: FormDefinition) -> list[Condition]:
    found: list[Condition] = []

    def walk(cond: Condition | None) -> None:
        if cond is None:
            return
        found.append(cond)
        for sub in (cond.all or []) + (cond.any or []):
            walk(sub)

    for f in form.fields:
        walk(f.visible_if)
    for c in form.checks:
        walk(c.when)
    for e in form.effects:
        walk(e.when)
    return found


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_every_parameter_named_by_a_check_exists(form_id):
    for check in FORMS[form_id].checks:
        for key in ("param", "param_before", "param_after"):
            name = getattr(check, key, None)
            if name is None:
                continue
            try:
                parameters.parameter(name)
            except parameters.ParameterError:
                parameters.date_parameter(name)  # raises ParameterError when unknown


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_conditions_name_existing_options_and_compare_numbers_only(form_id):
    form = FORMS[form_id]
    for cond in conditions(form):
        if cond.field is None:
            continue
        f = form.field(cond.field)
        op, value = cond.operator()
        if f.type == "choice" and op in ("eq", "ne", "in", "not_in"):
            allowed = {o.value for o in checks.options(f)}
            wanted = set(value) if op in ("in", "not_in") else {value}
            assert wanted <= allowed, f"{form_id}: {cond.field} has no option {wanted - allowed}"
        if op in ("gt", "gte", "lt", "lte"):
            assert f.type in ("amount", "rate"), f"{form_id}: {op} on a {f.type} field ({f.id})"


def test_an_unknown_date_parameter_is_a_parameter_error():
    with pytest.raises(parameters.ParameterError):
        parameters.date_value("inconnu", parameters.date_parameter("double_activite_date_effet").values[0][0])
