"""Dated parameters, OpenFisca-style: ``value(name, on)`` gives the value in force on a date.

The SMIC is read from the openfisca-france package's own YAML files (installed without its
Python dependencies: only the data is used). The procedure's own parameters, and the D821-10
abattement brackets (``scale``), live in ``rules/parametres.yaml``. Both are read once per
process. Besides numbers, a parameter's values can be dates (``unit: date``, ``date_value``) or
lists of days of a month (``unit: days``, ``days_value``: e.g. the January reminders).
"""

from __future__ import annotations

import importlib.util
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from forms.loader import read_yaml

OWN = Path(__file__).resolve().parent / "parametres.yaml"
OPENFISCA = {
    "smic_mensuel": "marche_travail/salaire_minimum/smic/smic_b_mensuel.yaml",
}


Dated = tuple[tuple[date, Decimal | None], ...]  # values by date of effect, sorted


class ParameterError(LookupError):
    pass


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    unit: str
    source: str  # a legal reference, or "hypothèse"
    values: Dated

    def at(self, on: date) -> Decimal:
        current = _in_force(self.values, on)
        if current is None:
            raise ParameterError(f"{self.name}: pas de valeur au {on:%d/%m/%Y}")
        return current


_START = itemgetter(0)


def _in_force(values: tuple[tuple[date, Any], ...], on: date) -> Any:
    """The value of the last entry starting on or before ``on`` (``values`` sorted by date);
    None when there is none."""
    index = bisect_right(values, on, key=_START)
    return values[index - 1][1] if index else None


@lru_cache(maxsize=4096)
def value(name: str, on: date) -> Decimal:
    """The value of ``name`` in force on ``on`` (cached: parameters are read once per process)."""
    return parameter(name).at(on)


def date_value(name: str, on: date) -> date:
    """A parameter whose values are dates (e.g. the date a décret took effect)."""
    return date_parameter(name).at(on)


def date_parameter(name: str) -> DateParameter:
    dates = _dates()
    if name not in dates:
        raise ParameterError(f"paramètre de date inconnu: {name}")
    return dates[name]


@dataclass(frozen=True)
class DateParameter:
    name: str
    description: str
    source: str
    values: tuple[tuple[date, date], ...]

    def at(self, on: date) -> date:
        current = _in_force(self.values, on)
        if current is None:
            raise ParameterError(f"{self.name}: pas de valeur au {on:%d/%m/%Y}")
        return current


def days_value(name: str, on: date) -> tuple[int, ...]:
    """A parameter whose values are lists of days of a month (sorted, each from 1 to 31)."""
    days = _days()
    if name not in days:
        raise ParameterError(f"paramètre de jours inconnu: {name}")
    current = _in_force(days[name].values, on)
    if current is None:
        raise ParameterError(f"{name}: pas de valeur au {on:%d/%m/%Y}")
    return current


@dataclass(frozen=True)
class DaysParameter:
    name: str
    description: str
    source: str
    values: tuple[tuple[date, tuple[int, ...]], ...]


@lru_cache(maxsize=1)
def _days() -> dict[str, DaysParameter]:
    out = {}
    for name, entry in read_yaml(OWN).items():
        if entry["unit"] != "days":
            continue
        dated = tuple(
            sorted((start, _day_list(name, item["value"])) for start, item in entry["values"].items())
        )
        out[name] = DaysParameter(name, entry["description"], _source(entry), dated)
    return out


def _day_list(name: str, raw: object) -> tuple[int, ...]:
    if not isinstance(raw, list) or not all(type(d) is int and 1 <= d <= 31 for d in raw):
        raise ParameterError(f"{name}: une liste de jours du mois (1 à 31) est attendue, pas {raw!r}")
    return tuple(sorted(set(raw)))


@lru_cache(maxsize=1)
def _dates() -> dict[str, DateParameter]:
    out = {}
    for name, entry in read_yaml(OWN).items():
        if entry["unit"] != "date":
            continue
        dated = tuple(sorted((start, item["value"]) for start, item in entry["values"].items()))
        out[name] = DateParameter(name, entry["description"], _source(entry), dated)
    return out


def parameter(name: str) -> Parameter:
    params = _all()
    if name not in params:
        raise ParameterError(f"paramètre inconnu: {name}")
    return params[name]


@lru_cache(maxsize=1)
def _all() -> dict[str, Parameter]:
    params: dict[str, Parameter] = {}
    for name, entry in read_yaml(OWN).items():
        if entry["unit"] in ("date", "days") or "brackets" in entry:
            continue
        params[name] = _build(name, entry["description"], entry["unit"], _source(entry), entry["values"])
    root = openfisca_parameters_dir()
    for name, rel in OPENFISCA.items():
        entry = read_yaml(root / rel)
        meta = entry.get("metadata", {})
        refs = meta.get("reference") or {}
        last_ref = refs[max(refs)] if refs else "openfisca-france"
        if isinstance(last_ref, list):
            last_ref = last_ref[0]
        source = last_ref.get("title", "openfisca-france") if isinstance(last_ref, dict) else str(last_ref)
        params[name] = _build(name, entry["description"], meta.get("unit", ""), source, entry["values"])
    return params


def _source(entry: dict) -> str:
    """The legal reference of one of our own parameters, or "hypothèse" (DOMAIN.md ASSUMPTION)."""
    return "hypothèse" if entry.get("hypothese") else entry["reference"]


def _build(name: str, description: str, unit: str, source: str, values: dict) -> Parameter:
    return Parameter(name, description, unit, source, _dated(values, unit))


def _dated(values: dict, unit: str = "") -> Dated:
    """Numbers by date of effect, sorted (amounts of unit ``currency`` to the cent)."""
    dated = []
    for start, item in sorted(values.items()):
        raw = item["value"] if isinstance(item, dict) else item
        number = None if raw is None else Decimal(str(raw))
        if number is not None and unit == "currency":
            number = number.quantize(Decimal("0.01"))
        dated.append((start if isinstance(start, date) else date.fromisoformat(str(start)), number))
    return tuple(dated)


@dataclass(frozen=True)
class Bracket:
    """One bracket of a scale in force on a date: from ``threshold`` (a share, /1) up to the
    next bracket's threshold; a value equal to the threshold is in it when ``inclusive``."""

    threshold: Decimal
    inclusive: bool
    rate: Decimal


@dataclass(frozen=True)
class Scale:
    """A dated bracket parameter, OpenFisca-like (``brackets`` of ``threshold`` and ``rate``)."""

    name: str
    description: str
    source: str
    brackets: tuple[tuple[Dated, bool, Dated], ...]  # (thresholds, inclusive, rates) as written

    def at(self, on: date) -> tuple[Bracket, ...]:
        """The brackets in force on ``on``, by increasing threshold."""
        out = []
        for thresholds, inclusive, rates in self.brackets:
            threshold, rate = _in_force(thresholds, on), _in_force(rates, on)
            if threshold is not None and rate is not None:
                out.append(Bracket(threshold, inclusive, rate))
        if not out:
            raise ParameterError(f"{self.name}: pas de valeur au {on:%d/%m/%Y}")
        return tuple(sorted(out, key=lambda b: b.threshold))


@lru_cache(maxsize=256)
def brackets(name: str, on: date) -> tuple[Bracket, ...]:
    """The brackets of the scale ``name`` in force on ``on``."""
    return scale(name).at(on)


def scale(name: str) -> Scale:
    scales = _scales()
    if name not in scales:
        raise ParameterError(f"barème inconnu: {name}")
    return scales[name]


@lru_cache(maxsize=1)
def _scales() -> dict[str, Scale]:
    out = {}
    for name, entry in read_yaml(OWN).items():
        if "brackets" not in entry:
            continue
        rows = tuple(
            (_dated(b["threshold"]), bool(b["inclusive"]), _dated(b["rate"])) for b in entry["brackets"]
        )
        out[name] = Scale(name, entry["description"], _source(entry), rows)
    return out


def openfisca_parameters_dir() -> Path:
    spec = importlib.util.find_spec("openfisca_france")
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError("le paquet openfisca-france est absent (make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "parameters"
