"""Named cross-field checks and display-only computations used by form definitions.

Each check kind of ``forms.schema`` has one function here; a check is skipped when one of
the fields it reads is hidden, empty or invalid (that field has its own message already).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
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


def _smic_limit(spec: Any, on: date, ctx: Mapping[str, Any]) -> Decimal:
    limit = parameters.value(spec.param, on) * parameters.value("smic_mensuel", on)
    if spec.prorata:
        limit = limit * _rate(ctx) / HUNDRED
    return limit.quantize(engine.CENT)


def _smic_message(
    key: str, spec: Any, form: FormDefinition, on: date, ctx: Mapping[str, Any], limit: Decimal
) -> str:
    prorata = f", au prorata d'un taux d'activité de {fmt.rate(_rate(ctx))}" if spec.prorata else ""
    return message(
        key,
        label=form.field(spec.field).label,
        limit=fmt.amount(limit),
        ratio=fmt.rate(parameters.value(spec.param, on) * HUNDRED),
        prorata=prorata,
    )


def _max_smic(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    limit = _smic_limit(spec, on, ctx)
    if values[spec.field] <= limit:
        return None
    return _smic_message("max_smic_ratio", spec, form, on, ctx, limit)


def _min_smic(
    spec: Any, form: FormDefinition, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]
) -> str | None:
    limit = _smic_limit(spec, on, ctx)
    if values[spec.field] >= limit:
        return None
    return _smic_message("min_smic_ratio", spec, form, on, ctx, limit)


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


def guard(name: str, ctx: Mapping[str, Any]) -> str | None:
    """The French refusal when what the Caf knows forbids the declaration (None when allowed).

    Without what the Caf knows (e.g. the rules CLI), guards are not applied.
    """
    if name == "active":
        status = ctx.get("status")
        return None if status in (None, "ACTIVE") else message("guard_active")
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
}


def _rate(ctx: Mapping[str, Any]) -> Decimal:
    """The worker's known activity rate in ESAT (%), 100 when unknown."""
    return Decimal(ctx.get("rate_esat") or HUNDRED)


def smic_base(on: date, ctx: Mapping[str, Any]) -> Decimal:
    """The monthly SMIC for the worker's known activity rate (ASSUMPTION: a part-time worker
    is compared with the SMIC of the same working time)."""
    return parameters.value("smic_mensuel", on) * _rate(ctx) / HUNDRED


def smic_percentage(amount: Decimal, on: date, ctx: Mapping[str, Any]) -> Decimal:
    """``amount`` as a % of the monthly SMIC for the worker's known activity rate."""
    return (amount * HUNDRED / smic_base(on, ctx)).quantize(engine.CENT)


def derive(d: Derived, values: Mapping[str, Any], on: date, ctx: Mapping[str, Any]) -> str | None:
    amount = values.get(d.field)
    if amount is None:
        return None
    if d.compute == "smic_percentage":
        return fmt.rate(smic_percentage(amount, on, ctx))
    # The band is chosen on the amount, against each lower bound rounded to the cent as the
    # min_smic_ratio check does, so that a part flagged "below 5 % of the SMIC" gets no band
    # (comparing the rounded percentage gave 90,08 € = 4,9994 % → 5,00 % → 3,5 %).
    base = smic_base(on, ctx)
    band = None
    for lower, name in parameters.ABATTEMENT_BANDS:
        if amount >= (base * lower / HUNDRED).quantize(engine.CENT):
            band = name
    if band is None:
        return "Aucun (part ESAT inférieure à 5 % du SMIC)"
    return fmt.rate(parameters.value(band, on) * HUNDRED)


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
