"""Named cross-field checks and display-only computations used by form definitions.

Each check kind of ``forms.schema`` has one function here; a check is skipped when one of
the fields it reads is hidden, empty or invalid (that field has its own message already).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import Any

from forms import fmt
from forms.loader import read_yaml
from forms.schema import Derived, Field, FormDefinition, Option
from rules import engine, parameters
from rules.messages import message

LISTS = Path(__file__).resolve().parent / "listes.yaml"
HUNDRED = Decimal(100)


def run(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    if spec.when is not None and not engine.holds(spec.when, values):
        return None
    for name in operands(type(spec)):
        if values.get(getattr(spec, name)) is None:
            return None
    return CHECKS[spec.check](spec, form, values, on, ctx)


@cache
def operands(kind: type) -> tuple[str, ...]:
    """The attributes of a check kind that name the fields it reads (``field``, ``other``…)."""
    return ("field", *(name for name in ("other", "total") if name in kind.model_fields))


def _compare(test: Callable[[Any, Any], bool]) -> Callable[..., str | None]:
    def check(
        spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
    ) -> str | None:
        if test(values[spec.field], values[spec.other]):
            return None
        key = spec.check + ("_date" if form.field(spec.field).type == "date" else "")
        return message(key, label=form.field(spec.field).label, other=form.field(spec.other).label)

    return check


def _smic_limit(param: str, prorata: bool, on: date, ctx: Mapping[str, Any]) -> Decimal:
    """``param`` × the gross monthly SMIC (× the worker's known rate when ``prorata``), to the cent."""
    limit = parameters.value(param, on) * parameters.value("smic_mensuel", on)
    if prorata:
        limit = limit * _rate(ctx) / HUNDRED
    return limit.quantize(engine.CENT)


def _prorata(prorata: bool, ctx: Mapping[str, Any]) -> str:
    return f", au prorata d'un taux d'activité de {fmt.rate(_rate(ctx))}" if prorata else ""


def _ratio(param: str, on: date) -> str:
    return fmt.rate(parameters.value(param, on) * HUNDRED)


def _smic_message(
    key: str, spec: Any, form: FormDefinition, on: date, ctx: Mapping[str, Any], limit: Decimal
) -> str:
    return message(
        key,
        label=form.field(spec.field).label,
        limit=fmt.amount(limit),
        ratio=_ratio(spec.param, on),
        prorata=_prorata(spec.prorata, ctx),
    )


def _max_smic(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    limit = _smic_limit(spec.param, spec.prorata, on, ctx)
    if values[spec.field] <= limit:
        return None
    return _smic_message("max_smic_ratio", spec, form, on, ctx, limit)


def _min_smic(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    limit = _smic_limit(spec.param, spec.prorata, on, ctx)
    if values[spec.field] >= limit:
        return None
    return _smic_message("min_smic_ratio", spec, form, on, ctx, limit)


def _between_smic(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    low = _smic_limit(spec.param_min, spec.prorata, on, ctx)
    high = _smic_limit(spec.param_max, spec.prorata, on, ctx)
    if low <= values[spec.field] <= high:
        return None
    return message(
        "between_smic_ratio",
        label=_label(form, spec.field),
        value=fmt.amount(values[spec.field]),
        low=fmt.amount(low),
        high=fmt.amount(high),
        low_ratio=_ratio(spec.param_min, on),
        high_ratio=_ratio(spec.param_max, on),
        prorata=_prorata(spec.prorata, ctx),
    )


def expected_aide_au_poste(spec: Any, part: Decimal, on: date, ctx: Mapping[str, Any]) -> Decimal:
    """The aide au poste of art. R243-6 CASF for an ESAT part of ``part`` euros: the cap × the
    SMIC of the worker's working time while the part is at most the threshold share of that
    SMIC, then reduced by ``param_reduction`` euro per euro of part beyond it (0.5 point of
    SMIC per point of part, proportionally), never below 0."""
    base = smic_base(on, ctx)
    threshold = (parameters.value(spec.param_threshold, on) * base).quantize(engine.CENT)
    excess = max(part - threshold, Decimal(0))
    aide = parameters.value(spec.param, on) * base - parameters.value(spec.param_reduction, on) * excess
    return max(aide, Decimal(0)).quantize(engine.CENT)


def _aide_au_poste(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    part = values[spec.other]
    expected = expected_aide_au_poste(spec, part, on, ctx)
    if values[spec.field] <= expected + parameters.value(spec.param_tolerance, on):
        return None
    threshold = _smic_limit(spec.param_threshold, True, on, ctx)
    reduction = (
        f", réduite de {fmt.number(parameters.value(spec.param_reduction, on))} point par point de "
        f"« {_label(form, spec.other)} » au-delà de {_ratio(spec.param_threshold, on)} du SMIC"
        if part > threshold
        else ""
    )
    return message(
        "aide_au_poste",
        label=_label(form, spec.field),
        value=fmt.amount(values[spec.field]),
        expected=fmt.amount(expected),
        ratio=_ratio(spec.param, on),
        prorata=_prorata(True, ctx),
        reduction=reduction,
    )


def _sum_matches(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    total = values[spec.field] + values[spec.other]
    if abs(total - values[spec.total]) <= parameters.value(spec.param, on):
        return None
    return message(
        "sum_matches",
        label=form.field(spec.field).label,
        other=form.field(spec.other).label,
        total=form.field(spec.total).label,
        sum=fmt.amount(total),
        limit=fmt.amount(values[spec.total]),
    )


def _label(form: FormDefinition, field_id: str) -> str:
    return form.field(field_id).label


def _show(form: FormDefinition, field_id: str, value: Any) -> str:
    return fmt.value(form.field(field_id).type, value)


def _sum_at_most(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    total, limit = values[spec.field] + values[spec.other], parameters.value(spec.param, on)
    if total <= limit:
        return None
    return message(
        "sum_at_most",
        label=_label(form, spec.field),
        other=_label(form, spec.other),
        limit=_show(form, spec.field, limit),
        sum=_show(form, spec.field, total),
    )


def _one_is_zero(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    if values[spec.field] == 0 or values[spec.other] == 0:
        return None
    return message("one_is_zero", label=_label(form, spec.field), other=_label(form, spec.other))


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (clamped to the end of a shorter month, and to the years
    ``date`` can hold: a typed 31/12/9999 + 3 years is ``date.max``, not an exception)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def _date_window(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    start = add_months(on, -int(parameters.value(spec.param_before, on)))
    end = add_months(on, int(parameters.value(spec.param_after, on)))
    if start <= values[spec.field] <= end:
        return None
    return message("date_window", label=_label(form, spec.field), start=fmt.day(start), end=fmt.day(end))


def _date_from(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    limit = parameters.date_value(spec.param, on)
    if values[spec.field] >= limit:
        return None
    return message("date_from", label=_label(form, spec.field), limit=fmt.day(limit))


def _date_within_years(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    years = int(parameters.value(spec.param, on))
    limit = add_months(values[spec.other], 12 * years)
    if values[spec.field] <= limit:
        return None
    return message(
        "date_within_years",
        label=_label(form, spec.field),
        other=_label(form, spec.other),
        years=str(years),
        limit=fmt.day(limit),
    )


KNOWN_LABELS = {
    "rate_esat": "taux d'activité en ESAT",
    "rate_mo": "taux d'activité en milieu ordinaire",
    "double_activity_since": "début de la double activité",
    "last_change_date": "dernier changement déclaré",
}


def _known_date(test: Callable[[date, date], bool], key: str) -> Callable[..., str | None]:
    def check(
        spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
    ) -> str | None:
        known = ctx.get(spec.known)
        if known is None or test(values[spec.field], known):
            return None
        return message(
            key,
            label=_label(form, spec.field),
            limit=fmt.day(known),
            known=KNOWN_LABELS.get(spec.known, spec.known),
        )

    return check


def _matches_known(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    known = ctx.get(spec.known)
    if known is None or values[spec.field] == known:
        return None
    return message(
        "matches_known",
        label=_label(form, spec.field),
        value=_show(form, spec.field, values[spec.field]),
        limit=_show(form, spec.field, known),
    )


def _sum_known_at_most(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    known = ctx.get(spec.known)
    if known is None:
        return None
    known = Decimal(str(known))
    total, limit = values[spec.field] + known, parameters.value(spec.param, on)
    if total <= limit:
        return None
    show = partial(_show, form, spec.field)
    return message(
        "sum_known_at_most",
        label=_label(form, spec.field),
        value=show(values[spec.field]),
        known=KNOWN_LABELS.get(spec.known, spec.known),
        other=show(known),
        sum=show(total),
        limit=show(limit),
    )


def guard(name: str, ctx: Mapping[str, Any]) -> str | None:
    """The French refusal when what the Caf knows forbids the declaration (None when allowed).

    Without what the Caf knows (e.g. the rules CLI), guards are not applied.
    """
    if name == "active":
        status = ctx.get("status")
        return None if status in (None, "ACTIVE") else message("guard_active")
    if name == "inactive":
        status = ctx.get("status")
        return None if status in (None, "LEFT", "ON_LEAVE") else message("guard_inactive")
    flag = ctx.get("double_activity")
    if flag is None:
        return None
    if name == "double_activity":
        return None if flag else message("guard_double_activity")
    return message("guard_no_double_activity") if flag else None


CHECKS: dict[str, Callable[..., str | None]] = {
    "lte_field": _compare(lambda a, b: a <= b),
    "gt_field": _compare(lambda a, b: a > b),
    "lt_field": _compare(lambda a, b: a < b),
    "ne_field": _compare(lambda a, b: a != b),
    "max_smic_ratio": _max_smic,
    "min_smic_ratio": _min_smic,
    "sum_matches": _sum_matches,
    "sum_at_most": _sum_at_most,
    "one_is_zero": _one_is_zero,
    "date_window": _date_window,
    "date_from": _date_from,
    "date_within_years": _date_within_years,
    "after_known": _known_date(lambda value, known: value > known, "after_known"),
    "not_before_known": _known_date(lambda value, known: value >= known, "not_before_known"),
    "matches_known": _matches_known,
    "between_smic_ratio": _between_smic,
    "aide_au_poste": _aide_au_poste,
    "sum_known_at_most": _sum_known_at_most,
}


def _rate(ctx: Mapping[str, Any]) -> Decimal:
    """The worker's activity rate in ESAT (%) given by the context, 100 when unknown. For a
    certificat the context is the timeline read as of 30 November N (services.declarations.as_of):
    November's rate, never today's."""
    return Decimal(ctx.get("rate_esat") or HUNDRED)


def smic_base(on: date, ctx: Mapping[str, Any]) -> Decimal:
    """The monthly SMIC for the worker's known activity rate (ASSUMPTION: a part-time worker
    is compared with the SMIC of the same working time)."""
    return parameters.value("smic_mensuel", on) * _rate(ctx) / HUNDRED


def smic_percentage(amount: Decimal, on: date, ctx: Mapping[str, Any]) -> Decimal:
    """``amount`` as a % of the monthly SMIC for the worker's known activity rate."""
    return (amount * HUNDRED / smic_base(on, ctx)).quantize(engine.CENT)


ABATTEMENT_SCALE = "abattement_esat"  # the D821-10 brackets in rules/parametres.yaml


def abattement(amount: Decimal, on: date, ctx: Mapping[str, Any]) -> parameters.Bracket | None:
    """The D821-10 bracket of an ESAT part of ``amount`` euros (None: below the first one).

    Each bound is the threshold × the SMIC of the worker's working time rounded to the cent,
    as the floor check does, so that a part flagged "below 5 % of the SMIC" never gets a band
    (comparing the rounded percentage gave 90,08 € = 4,9994 % → 5,00 % → 3,5 %).
    """
    base = smic_base(on, ctx)
    found = None
    for bracket in parameters.brackets(ABATTEMENT_SCALE, on):
        bound = (base * bracket.threshold).quantize(engine.CENT)
        if amount > bound or (bracket.inclusive and amount == bound):
            found = bracket
    return found


def derive(d: Derived, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]) -> str | None:
    amount = values.get(d.field)
    if amount is None:
        return None
    if d.compute == "smic_percentage":
        return fmt.rate(smic_percentage(amount, on, ctx))
    bracket = abattement(amount, on, ctx)
    if bracket is None:
        first = parameters.brackets(ABATTEMENT_SCALE, on)[0]
        below = "inférieure à" if first.inclusive else "inférieure ou égale à"
        return f"Aucun (part ESAT {below} {fmt.rate(first.threshold * HUNDRED)} du SMIC)"
    if bracket.rate == 0:
        above = "d'au moins" if bracket.inclusive else "supérieure à"
        return f"Aucun (part ESAT {above} {fmt.rate(bracket.threshold * HUNDRED)} du SMIC)"
    return fmt.rate(bracket.rate * HUNDRED)


def options(f: Field) -> list[Option]:
    if f.options is not None:
        return list(f.options)
    return reference_list(f.options_from or "")


def reference_list(name: str) -> list[Option]:
    lists = _lists()
    if name not in lists:
        raise KeyError(f"liste de référence inconnue: {name}")
    return lists[name]


@lru_cache(maxsize=1)
def _lists() -> dict[str, list[Option]]:
    return {name: [Option(**o) for o in items] for name, items in read_yaml(LISTS).items()}
