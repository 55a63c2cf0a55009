"""Validate a payload against a form definition on a date.

``validate`` never raises on user input: every problem becomes an :class:`Issue` carrying a
French message from ``rules.messages``. Hidden fields are dropped before anything else:
they are never validated, returned, stored or shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from forms import fmt
from forms.schema import Condition, Field, FormDefinition
from rules import calendar, checks
from rules.messages import message
from rules.parameters import ParameterError

MAX_AMOUNT = Decimal("9999999.99")  # DECIMAL(12,2) with room to spare
CENT = Decimal("0.01")
_NUMBER = re.compile(r"^[0-9]+(?:[.,][0-9]+)?$")
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Issue:
    field: str | None
    message: str


@dataclass
class Report:
    values: dict[str, Any] = field(default_factory=dict)  # typed, visible fields only
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)  # formatted, display only

    @property
    def valid(self) -> bool:
        return not self.errors

    def for_field(self, field_id: str) -> list[Issue]:
        return [i for i in self.errors + self.warnings if i.field == field_id]

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [{"field": i.field, "message": i.message} for i in self.errors],
            "warnings": [{"field": i.field, "message": i.message} for i in self.warnings],
            "derived": dict(self.derived),
        }


def validate(
    form: FormDefinition,
    payload: Mapping[str, Any],
    on: date,
    context: Mapping[str, Any] | None = None,
) -> Report:
    """Check ``payload`` (field id → raw value) for ``form`` on date ``on``.

    ``context`` holds what the Caf knows of the worker (``rate_esat``…), used by some checks.
    """
    report = Report()
    ctx = dict(context or {})
    if not calendar.form_open(form, on):
        report.errors.append(Issue(None, message("window_closed", label=form.title)))
    for guard in form.guards:
        problem = checks.guard(guard.guard, ctx)
        if problem:
            report.errors.append(Issue(None, problem))
    known = {f.id for f in form.fields}
    for key in payload:
        if key not in known:
            report.errors.append(Issue(str(key)[:60], message("unknown_field", label=str(key)[:60])))

    parsed: dict[str, Any] = {}  # valid values of visible fields; None when left empty
    for f, value, problem in _parse_visible(form, payload):
        if problem:
            report.errors.append(Issue(f.id, problem))
            continue
        parsed[f.id] = value
        report.values[f.id] = value

    ref = calendar.reference_date(form, on)
    unchecked = False  # a check whose dated parameter has no value on ``ref``
    for spec in form.checks:
        level = report.errors if spec.level == "error" else report.warnings
        try:
            problem = checks.run(spec, form, parsed, ref, ctx)
        except ParameterError:
            unchecked = True
            continue
        if problem:
            level.append(Issue(spec.field, problem))
    if unchecked:
        report.errors.append(Issue(None, message("no_parameter", label=form.title, day=fmt.day(ref))))
    if report.valid:
        report.derived = derived(form, parsed, ref, ctx)
    return report


def derived(
    form: FormDefinition, values: Mapping[str, Any], ref: date, ctx: Mapping[str, Any]
) -> dict[str, str]:
    """Display-only values (formatted) computed from valid declared values."""
    out = {}
    for d in form.derived:
        try:
            text = checks.derive(d, values, ref, ctx)
        except ParameterError:  # display only: left out rather than failing
            continue
        if text is not None:
            out[d.id] = text
    return out


def state_changes(form: FormDefinition, values: Mapping[str, Any]) -> dict[str, Any]:
    """What a filed declaration changes in the worker's known state (column → new value).

    A value taken from a field left empty or hidden is NULL; later effects win.
    """
    changes: dict[str, Any] = {}
    for effect in form.effects:
        if effect.when is not None and not holds(effect.when, values):
            continue
        changes[effect.set] = values.get(effect.from_field) if effect.from_field else effect.value
    return changes


def visible_fields(form: FormDefinition, payload: Mapping[str, Any]) -> list[Field]:
    """The fields shown for what has been typed so far (the same rule ``validate`` applies)."""
    return [f for f, _, _ in _parse_visible(form, payload)]


def _parse_visible(form: FormDefinition, payload: Mapping[str, Any]) -> list[tuple[Field, Any, str | None]]:
    """Each field shown for what has been typed so far, with its parsed value or its message."""
    parsed: dict[str, Any] = {}
    shown = []
    for f in form.fields:
        if f.visible_if is not None and not holds(f.visible_if, parsed):
            continue
        value, problem = parse(f, payload.get(f.id))
        shown.append((f, value, problem))
        if not problem:
            parsed[f.id] = value
    return shown


def parse(f: Field, raw: Any) -> tuple[Any, str | None]:
    """Turn one raw input into a typed value, or a French message."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None, (message("required", label=f.label) if f.required else None)
    try:
        if f.type in ("amount", "rate"):
            return _number(f, raw)
        if f.type == "date":
            return _date(f, raw)
        if f.type == "choice":
            values = {o.value for o in checks.options(f)}
            ok = isinstance(raw, str) and raw in values
            return (raw, None) if ok else (None, message("choice", label=f.label))
        if f.type == "certify":
            ok = raw is True or (isinstance(raw, str) and raw.strip().lower() in ("oui", "true"))
            return (True, None) if ok else (None, message("certify", label=f.label))
        if f.type == "yesno":
            if isinstance(raw, bool):
                return raw, None
            answer = str(raw).strip().lower()
            if answer in ("oui", "non", "true", "false"):
                return answer in ("oui", "true"), None
            return None, message("yesno", label=f.label)
        text = str(raw).strip()
        if len(text) > f.max_length:
            return None, message("text_length", label=f.label, limit=str(f.max_length))
        if _CONTROL.search(text):
            return None, message("text_control", label=f.label)
        return text, None
    except (InvalidOperation, ValueError, TypeError, OverflowError):
        key = {"amount": "amount_format", "rate": "rate_format", "date": "date_format"}.get(f.type, "choice")
        return None, message(key, label=f.label)


def _number(f: Field, raw: Any) -> tuple[Decimal | None, str | None]:
    fmt_key = "amount_format" if f.type == "amount" else "rate_format"
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        return None, message(fmt_key, label=f.label)
    text = _SPACES.sub("", str(raw))
    if text.endswith(("€", "%")):
        text = text[:-1]
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    if not _NUMBER.match(text) or len(text) > 30:
        return None, message(fmt_key, label=f.label)
    value = Decimal(text.replace(",", "."))
    if negative and value != 0:
        return None, message("negative", label=f.label)
    cents = value.quantize(CENT)
    if value != cents:
        return None, message("decimals", label=f.label)
    value = cents
    show = fmt.amount if f.type == "amount" else fmt.rate
    upper = Decimal(str(f.max)) if f.max is not None else (MAX_AMOUNT if f.type == "amount" else Decimal(100))
    if value > upper or (f.max_exclusive and value == upper):
        key = "below" if f.max_exclusive else "too_large"
        return None, message(key, label=f.label, limit=show(upper))
    if f.min is not None:
        lower = Decimal(str(f.min))
        if value < lower or (f.min_exclusive and value == lower):
            key = "above" if f.min_exclusive else "too_small"
            return None, message(key, label=f.label, limit=show(lower))
    return value, None


def _date(f: Field, raw: Any) -> tuple[date | None, str | None]:
    if isinstance(raw, date):
        return raw, None
    text = str(raw).strip()
    iso = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text)
    french = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", text)
    if iso:
        y, m, d = (int(g) for g in iso.groups())
    elif french:
        d, m, y = (int(g) for g in french.groups())
    else:
        return None, message("date_format", label=f.label)
    try:
        return date(y, m, d), None
    except ValueError:  # 31/02/2026, 00/13/2026, year 0000
        return None, message("date_invalid", label=f.label, day=f"{d:02d}/{m:02d}/{y:04d}")


def holds(cond: Condition, values: Mapping[str, Any]) -> bool:
    """Evaluate a condition on parsed values (a missing value makes comparisons false)."""
    if cond.all is not None:
        return all(holds(c, values) for c in cond.all)
    if cond.any is not None:
        return any(holds(c, values) for c in cond.any)
    op, expected = cond.operator()
    actual = values.get(cond.field or "")
    if op == "empty":
        return (actual is None) == expected
    if op == "not_empty":
        return (actual is not None) == expected
    if actual is None:
        return False
    if op in ("eq_field", "ne_field"):
        other = values.get(expected)
        return other is not None and (actual == other) == (op == "eq_field")
    if op == "eq":
        return _same(actual, expected)
    if op == "ne":
        return not _same(actual, expected)
    if op == "in":
        return any(_same(actual, e) for e in expected)
    if op == "not_in":
        return not any(_same(actual, e) for e in expected)
    number = Decimal(str(expected))
    return {
        "gt": actual > number,
        "gte": actual >= number,
        "lt": actual < number,
        "lte": actual <= number,
    }[op]


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, Decimal) and isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return actual == Decimal(str(expected))
    return actual == expected
