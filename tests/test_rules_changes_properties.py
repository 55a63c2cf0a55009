"""Property tests of the six changement-de-situation forms through the CLI's code path.

Payloads are JSON-like (as ``python -m rules check`` reads them), the context goes through the
CLI's own ``--context`` parsing, then ``rules.validate`` runs. For every generated example:

* validation never raises and every message is non-empty French;
* an oracle written here from DOMAIN §3.2, §4, §8.2–§8.4 — without calling ``rules.checks`` —
  re-checks every ACCEPTED payload (bounds, augmentation/réduction, sums, fin, return date,
  date windows, guards) on the values the rules kept;
* when the payload is made only of values the generator understands (no junk), the oracle also
  gives its own verdict, warnings and kept values, which must equal the report's.

The generators aim at the boundaries (``49,99``/``50``/``50,01``, 0, 100, today − 24 months,
today + 3 months, 01/01/2023, the known dates, departure + 3 years, each ± 1 day) so that 35–65 %
of the examples are valid and the oracle is exercised; the share is asserted and printed (``-s``).

10,000 examples per form come from ``random.Random(f"{seed}:{i}")``, a new seed each run
(``ESAT_PROPERTY_SEED`` replays one; a failure names its seed and example); 300 more per form use
hypothesis' own draws, so that a failure shrinks. The seeded ones ran through hypothesis until
issue 15: its engine took three quarters of the time and could not shrink them.
Removing any check, guard, exclusive bound or visibility condition of the six YAML definitions
makes these tests fail, except three changes that cannot alter any outcome (the ``sum_at_most``
of the fin, redundant with ``one_is_zero`` and the 100 % cap; ``min_exclusive`` on the fin's new
rates, which have no ``min``).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms import load_all
from rules import validate
from rules.__main__ import _context as cli_context

FORMS = load_all()
EXAMPLES = 10_000  # per form: ~3 s each on seeded examples
_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
SHRINKING = settings(max_examples=300, deadline=None, suppress_health_check=_HEALTH)  # ~5 ms each
MIN_VALID_SHARE = 0.25  # of the generated examples; the generators aim at about half

# --- DOMAIN constants (§3.2, §4, §8.2–§8.4), typed here and not read from the rules -----------------

MONTHS_BEFORE, MONTHS_AFTER = 24, 3  # date of a change: today − 24 months … today + 3 months
LEAVE_YEARS = 3  # return date ≤ departure + 3 years
SUM_MAX = Decimal(100)  # ESAT rate + MO rate ≤ 100 %
DECRETS = date(2023, 1, 1)  # décrets 2022-1561 and 2022-1614
FIRST_PARAMETERS = date(2023, 1, 1)  # the procedure's parameters start then
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
CONGES = ("conge_parental_education", "conge_presence_parentale")
MOTIFS = tuple(
    o["value"]
    for o in yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "rules" / "listes.yaml").read_text("utf-8")
    )["motifs_depart"]
)
DOUBLE_FORMS = ("modification_double_activite", "fin_double_activite")  # need a known double activity
RETURN_FORMS = ("retour_esat",)  # need a worker gone (left or on leave); double activity not read
STATUSES = ("ACTIVE", "LEFT", "ON_LEAVE")


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING = _Marker("MISSING")  # left empty, or key absent
INVALID = _Marker("INVALID")  # a value the rules must refuse whatever the rest (e.g. 31/02)


def shift_months(day: date, months: int) -> date:
    """Same day ``months`` later, or the last day of a shorter month (independent of rules.checks)."""
    month0 = day.month - 1 + months
    year = day.year + month0 // 12
    month = month0 % 12 + 1
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    d = day.day
    while d > 28:
        try:
            return date(year, month, d)
        except ValueError:
            d -= 1
    return date(year, month, d)


def window(on: date) -> tuple[date, date]:
    return shift_months(on, -MONTHS_BEFORE), shift_months(on, MONTHS_AFTER)


# --- the oracle -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One field as DOMAIN §8 describes it."""

    id: str
    kind: str  # rate, date, choice, certify
    required: bool = True
    lo: Decimal | None = None  # rates: lower bound
    lo_excl: bool = False
    hi: Decimal = HUNDRED  # rates: upper bound (every rate is ≤ 100 %)
    hi_excl: bool = False
    options: tuple[str, ...] = ()
    visible: Callable[[dict], bool] | None = None


def part_time(fid: str, required: bool = True, **kw) -> Spec:
    """0 < t < 100 (double activity: both activities part-time, DOMAIN §3.2)."""
    return Spec(fid, "rate", required, lo=Decimal(0), lo_excl=True, hi_excl=True, **kw)


def positive(fid: str) -> Spec:
    """0 < t ≤ 100."""
    return Spec(fid, "rate", lo=Decimal(0), lo_excl=True)


def differs(v: dict) -> bool:
    return (
        v.get("taux_esat_apres") is not None
        and v.get("taux_esat_avant") is not None
        and (v["taux_esat_apres"] != v["taux_esat_avant"])
    )


SPECS: dict[str, list[Spec]] = {
    "modification_activite": [  # §8.2.a
        Spec("sens", "choice", options=("augmentation", "reduction")),
        Spec("date_changement", "date"),
        positive("taux_avant"),
        positive("nouveau_taux"),
        Spec("certification", "certify", visible=lambda v: v.get("nouveau_taux") is not None),
    ],
    "depart_esat": [  # §8.2.b, §4
        Spec("date_depart", "date"),
        Spec("motif_depart", "choice", options=MOTIFS),
        Spec("date_retour_prevue", "date", visible=lambda v: v.get("motif_depart") in CONGES),
    ],
    "debut_double_activite": [  # §8.3.a
        Spec("date_debut", "date"),
        positive("taux_esat_avant"),
        part_time("taux_esat_apres"),
        part_time("taux_milieu_ordinaire"),
    ],
    "modification_double_activite": [  # §8.3.b
        Spec("date_modification", "date"),
        part_time("taux_esat_avant"),
        part_time("taux_mo_avant", required=False),
        part_time("taux_esat_apres"),
        part_time("taux_mo_apres", required=False, visible=differs),
        Spec("certification", "certify", visible=differs),
    ],
    "fin_double_activite": [  # §8.3.c
        Spec("date_fin", "date"),
        part_time("taux_esat_avant"),
        part_time("taux_mo_avant"),
        Spec("taux_esat_apres", "rate", lo=Decimal(0)),
        Spec("taux_mo_apres", "rate", lo=Decimal(0)),
        Spec("motif_depart", "choice", options=MOTIFS, visible=lambda v: v.get("taux_esat_apres") == 0),
        Spec("date_retour_prevue", "date", visible=lambda v: v.get("motif_depart") in CONGES),
    ],
    "retour_esat": [  # issue 12, point 11: droit au retour
        Spec("date_retour", "date"),
        positive("taux_activite"),
    ],
}
DATE_FIELD = {
    "modification_activite": "date_changement",
    "depart_esat": "date_depart",
    "debut_double_activite": "date_debut",
    "modification_double_activite": "date_modification",
    "fin_double_activite": "date_fin",
    "retour_esat": "date_retour",
}


def empty(raw: Any) -> bool:
    return raw is MISSING or raw is None or (isinstance(raw, str) and raw.strip() == "")


def typed(spec: Spec, intended: Any) -> tuple[bool, Any]:
    """(accepted, value) for one field's intended value."""
    if empty(intended):
        return (not spec.required), None
    if intended is INVALID:
        return False, None
    if spec.kind == "rate":
        v = intended
        if not isinstance(v, Decimal) or not v.is_finite():
            return False, None
        if v < 0 or v != v.quantize(CENT) or v > spec.hi or (spec.hi_excl and v == spec.hi):
            return False, None
        if spec.lo is not None and (v < spec.lo or (spec.lo_excl and v == spec.lo)):
            return False, None
        return True, v.quantize(CENT)
    if spec.kind == "date":
        return isinstance(intended, date), intended
    if spec.kind == "choice":
        return intended in spec.options, intended
    if spec.kind == "certify":
        ok = intended is True or (isinstance(intended, str) and intended.strip().lower() in ("oui", "true"))
        return ok, True if ok else None
    raise AssertionError(spec.kind)


def rules_of(form_id: str, v: dict, on: date, ctx: dict) -> tuple[list[str], Counter]:
    """The blocking problems and the warnings (by field) of valid visible values ``v``."""
    problems: list[str] = []
    warnings: Counter = Counter()
    start, end = window(on)
    day = v.get(DATE_FIELD[form_id])
    if day is not None:
        if not start <= day <= end:
            problems.append("date hors de la fenêtre")
        if ctx.get("last_change_date") is not None and day < ctx["last_change_date"]:
            problems.append("date antérieure au dernier changement")
        since = ctx.get("double_activity_since") if form_id in DOUBLE_FORMS else None
        if since is not None and day <= since:
            problems.append("date pas postérieure au début connu")
        if form_id == "debut_double_activite" and day < DECRETS:
            problems.append("début avant les décrets")

    def both(a: str, b: str) -> bool:
        return v.get(a) is not None and v.get(b) is not None

    def known_differs(fid: str, key: str) -> None:
        if v.get(fid) is not None and ctx.get(key) is not None and v[fid] != ctx[key]:
            warnings[fid] += 1

    def leave(start_field: str) -> None:
        if both("date_retour_prevue", start_field):
            back, left = v["date_retour_prevue"], v[start_field]
            if back <= left:
                problems.append("retour pas après le départ")
            if back > shift_months(left, 12 * LEAVE_YEARS):
                problems.append("retour plus de 3 ans après")

    if form_id == "modification_activite":
        if both("taux_avant", "nouveau_taux"):
            old, new = v["taux_avant"], v["nouveau_taux"]
            if v.get("sens") == "augmentation" and not new > old:
                problems.append("augmentation sans hausse")
            if v.get("sens") == "reduction" and not new < old:
                problems.append("réduction sans baisse")
        known_differs("taux_avant", "rate_esat")
    elif form_id == "depart_esat":
        leave("date_depart")
    elif form_id == "debut_double_activite":
        if both("taux_esat_apres", "taux_milieu_ordinaire") and (
            v["taux_esat_apres"] + v["taux_milieu_ordinaire"] > SUM_MAX
        ):
            problems.append("somme > 100")
        if both("taux_esat_apres", "taux_esat_avant") and v["taux_esat_apres"] > v["taux_esat_avant"]:
            warnings["taux_esat_apres"] += 1
        known_differs("taux_esat_avant", "rate_esat")
    elif form_id == "modification_double_activite":
        if both("taux_esat_apres", "taux_esat_avant") and v["taux_esat_apres"] == v["taux_esat_avant"]:
            problems.append("taux ESAT inchangé")
        if both("taux_esat_apres", "taux_mo_apres") and v["taux_esat_apres"] + v["taux_mo_apres"] > SUM_MAX:
            problems.append("somme > 100")
        known_mo = ctx.get("rate_mo")  # an empty new MO rate: the known one counts (version 2)
        new_esat, new_mo = v.get("taux_esat_apres"), v.get("taux_mo_apres")
        if new_esat is not None and new_mo is None and known_mo is not None and new_esat + known_mo > SUM_MAX:
            problems.append("somme avec le taux connu > 100")
        known_differs("taux_esat_avant", "rate_esat")
        known_differs("taux_mo_avant", "rate_mo")
    elif form_id == "fin_double_activite":
        if both("taux_esat_apres", "taux_mo_apres"):
            esat, mo = v["taux_esat_apres"], v["taux_mo_apres"]
            if esat != 0 and mo != 0:
                problems.append("aucun taux à 0")
            if esat + mo > SUM_MAX:
                problems.append("somme > 100")
        leave("date_fin")
        known_differs("taux_esat_avant", "rate_esat")
        known_differs("taux_mo_avant", "rate_mo")
    return problems, warnings


@dataclass
class Verdict:
    problems: list[str]
    warnings: Counter
    values: dict  # typed values of the visible fields (None for an optional one left empty)


def oracle(form_id: str, keys: set[str], intended: dict, on: date, ctx: dict) -> Verdict:
    problems: list[str] = []
    if on < FIRST_PARAMETERS:
        problems.append("pas de paramètres")
    status, flag = ctx.get("status"), ctx.get("double_activity")
    if form_id in RETURN_FORMS:
        if status == "ACTIVE":
            problems.append("travailleur déjà en activité")
    elif status not in (None, "ACTIVE"):
        problems.append(f"travailleur {status}")
    if flag is not None and form_id not in RETURN_FORMS and flag != (form_id in DOUBLE_FORMS):
        problems.append("double activité incohérente avec le formulaire")
    specs = SPECS[form_id]
    if keys - {s.id for s in specs}:
        problems.append("champ inconnu")
    values: dict = {}
    for spec in specs:
        if spec.visible is not None and not spec.visible(values):
            continue
        ok, value = typed(spec, intended.get(spec.id, MISSING))
        if not ok:
            problems.append(f"{spec.id} refusé")
            continue
        values[spec.id] = value
    more, warnings = rules_of(form_id, values, on, ctx)
    return Verdict(problems + more, warnings, values)


# --- messages ---------------------------------------------------------------------------------------

FRENCH = re.compile(
    r"«|\b(est|doit|ne|pas|date|taux|travailleur|déclarez|double|activité|champ|paramètres)\b", re.IGNORECASE
)
ARTEFACTS = ("Decimal(", "None", "Traceback", "{", "}", "datetime", "Error", "\\x", "\\u", "Infinity")
NOT_A_NUMBER = re.compile(r"\bnan\b", re.IGNORECASE)


def assert_french(issue, known_fields: set[str]) -> None:
    text = issue.message
    assert isinstance(text, str) and text.strip(), issue
    if issue.field is not None and issue.field not in known_fields:
        prefix = "Champ inconnu pour ce formulaire : "
        assert text == f"{prefix}{issue.field}.", issue  # an unknown key, echoed as sent
        text = prefix + "."
    assert FRENCH.search(text), issue
    for artefact in ARTEFACTS:
        assert artefact not in text, (artefact, issue)
    assert not NOT_A_NUMBER.search(text), issue
    if issue.field in known_fields:
        assert "«" in text and "»" in text, issue


# --- generators ---------------------------------------------------------------------------------------
#
# Each value is mostly drawn where the rules accept it (so that about half of the declarations are
# valid), often at a boundary ± 1 (cent or day), and sometimes out of bounds, badly written or junk.
# The generator reads its choices from a ``Source``: a seeded ``random.Random`` for the 10,000
# examples per form (hypothesis' own draws cost ~5 ms per example here, 4 minutes in all), or
# hypothesis' draws for a smaller run whose failures shrink.

BOUNDS = [Decimal(x) for x in ("0", "0.01", "49.99", "50", "50.01", "99.99", "100", "100.01")]
DELTAS = [Decimal(0), Decimal(0), CENT, -CENT]
JUNK = [
    "abc", "", " ", "12,3,4", "1e3", "--5", "½", "nan", "inf", "-inf", "0x10", "1.234,56", "50 %%", "%", "€",
    "31/02/2026", "2026-13-01", "00/00/0000", "1/1/1", "29/02/2027", "9" * 40, "12.345", "٣٠", "5\u00a0%",
    "oui", "non", "true", "None", "null", "\x00", "« »", "{label}", [], {}, [1], {"a": 1}, True, False, None,
    0, -1, 10**12, 1e309, float("nan"), 0.1 + 0.2, 50.005,
]  # fmt: skip
ALPHABET = "0123456789,. -%€/\u00a0\u202f'abcé«»\x00\n"
junk = st.one_of(
    st.sampled_from(JUNK),
    st.text(max_size=12),
    st.integers(min_value=-(10**6), max_value=10**12),
    st.floats(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.from_regex(r"-?[0-9 ]{0,4}([.,][0-9]{0,3})? ?%?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{1,5}", fullmatch=True),
)


class Source:
    """Where the generator's choices come from."""

    def int_in(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def junk(self) -> Any:
        raise NotImplementedError

    def pct(self) -> int:
        return self.int_in(0, 99)

    def chance(self, pct: int) -> bool:
        return self.pct() < pct

    def pick(self, items):
        return items[self.int_in(0, len(items) - 1)]

    def cents(self, lo: Decimal, hi: Decimal) -> Decimal:
        return Decimal(self.int_in(int(lo * 100), int(hi * 100))) / 100

    def day(self, lo: date, hi: date) -> date:
        return lo + timedelta(days=self.int_in(0, (hi - lo).days))


class RandomSource(Source):
    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def int_in(self, lo: int, hi: int) -> int:
        return self.rnd.randint(lo, hi)

    def junk(self) -> Any:
        if self.rnd.random() < 0.6:
            return self.rnd.choice(JUNK)
        return "".join(self.rnd.choice(ALPHABET) for _ in range(self.rnd.randint(1, 10)))


class DrawSource(Source):
    def __init__(self, draw) -> None:
        self.draw = draw

    def int_in(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(min_value=lo, max_value=hi))

    def junk(self) -> Any:
        return self.draw(junk)


def between(src: Source, lo: Decimal, hi: Decimal) -> Decimal:
    lo, hi = max(lo, CENT), min(hi, HUNDRED)
    if lo > hi:
        lo, hi = CENT, HUNDRED
    return src.cents(lo, hi)


def rate_value(src: Source, good: tuple[Decimal, Decimal], edges: tuple[Decimal, ...] = ()) -> Decimal:
    """Mostly in ``good``; else a boundary (± 1 cent), 3 decimals, negative, or above 100."""
    r = src.pct()
    if r < 74:
        return between(src, *good)
    if r < 94:
        return src.pick([*BOUNDS, *edges, *edges]) + src.pick(DELTAS)
    if r < 97:
        return between(src, Decimal(0), HUNDRED) + Decimal("0.005")
    if r < 98:
        return -between(src, CENT, Decimal(50))
    return src.cents(Decimal(0), Decimal(150))


def rate_text(src: Source, value: Decimal) -> Any:
    """One of the ways a rate reaches the CLI: French text, dot, %, spaces, JSON number."""
    text = f"{value:f}"
    style = src.int_in(0, 6)
    if style == 0:
        return text.replace(".", ",")
    if style == 1:
        return text
    if style == 2:
        return text.replace(".", ",") + " %"
    if style == 3:
        return int(value) if value == value.to_integral_value() else float(value)
    if style == 4:
        return f"{value:.2f}".replace(".", ",") if value == value.quantize(CENT) else text
    if style == 5:
        return f" {text}% "
    return f"{value:.3f}" if value == value.quantize(CENT) else text  # a useless trailing zero


def date_value(src: Source, good: tuple[date, date], edges: list[date]) -> date:
    """Mostly in ``good``; else an edge ± 1 day, or anywhere around."""
    r = src.pct()
    lo, hi = good
    if r < 72 and lo <= hi:
        return src.day(lo, hi)
    if r < 96:
        return src.pick(edges) + timedelta(days=src.pick([-1, 0, 0, 1]))
    return lo + timedelta(days=src.int_in(-1000, 1000))


def date_text(src: Source, day: date) -> tuple[Any, Any]:
    """(raw, intended) — sometimes an impossible date that must be refused."""
    r = src.pct()
    if r < 2:
        return f"31/02/{day.year:04d}", INVALID
    if r < 3:
        return f"{day:%Y/%m/%d}", INVALID
    if r < 40:
        return f"{day:%d/%m/%Y}", day
    if r < 80:
        return day.isoformat(), day
    if r < 90:
        return f"{day.day}/{day.month}/{day.year:04d}", day
    return f" {day:%d/%m/%Y} ", day


class Draft:
    """A payload being built: raw JSON-like values and what each one means."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.payload: dict[str, Any] = {}
        self.intended: dict[str, Any] = {}
        self.exotic = False

    def put(self, fid: str, raw: Any, intended: Any, required: bool = True) -> None:
        if self.src.chance(2 if required else 30):
            how = self.src.int_in(0, 3)
            if how:
                self.payload[fid] = (None, "", "  ")[how - 1]
            self.intended[fid] = MISSING
            return
        self.payload[fid] = raw
        self.intended[fid] = intended

    def rate(self, fid: str, good=(CENT, HUNDRED), edges=(), required: bool = True) -> Decimal | None:
        value = rate_value(self.src, good, edges)
        self.put(fid, rate_text(self.src, value), value, required)
        return value if self.intended[fid] is value else None

    def date(self, fid: str, good: tuple[date, date], edges: list[date]) -> date:
        day = date_value(self.src, good, edges)
        raw, intended = date_text(self.src, day)
        self.put(fid, raw, intended)
        return day

    def choice(self, fid: str, options: tuple[str, ...]) -> str:
        value = self.src.pick(options) if self.src.chance(97) else "Démission"
        self.put(fid, value, value)
        return value

    def certify(self, fid: str) -> None:
        good, bad = [True, "oui", "Oui", "true", " TRUE "], [False, "non", "1", "x"]
        raw = self.src.pick(good if self.src.chance(95) else bad)
        self.put(fid, raw, raw)

    def spoil(self) -> None:
        """Now and then, junk in one field or an unknown key (no verdict for these)."""
        if self.src.chance(7) and self.payload:
            self.payload[self.src.pick(sorted(self.payload))] = self.src.junk()
            self.exotic = True
        if self.src.chance(2):
            self.payload[self.src.pick(["taux", "motif", "Date_depart", ""])] = self.src.junk()
            self.exotic = True


def on_date(src: Source) -> date:
    r = src.pct()
    if r < 2:
        return src.day(date(2019, 1, 1), date(2022, 12, 31))
    if r < 50:
        return src.day(date(2023, 1, 1), date(2025, 3, 31))
    return src.day(date(2025, 4, 1), date(2035, 12, 31))


def context_json(src: Source, form_id: str, day: date, rates: dict[str, Decimal | None]) -> dict | None:
    """What the Caf knows, as given to ``--context``; mostly consistent with the form."""
    if src.chance(10):
        return None  # the CLI without --context
    ctx: dict[str, Any] = {}
    if src.chance(80):
        expected = form_id in DOUBLE_FORMS
        ctx["double_activity"] = expected if src.chance(95) else src.pick([not expected, None])
    if src.chance(80):
        usual = src.pick(["LEFT", "ON_LEAVE"]) if form_id in RETURN_FORMS else "ACTIVE"
        ctx["status"] = usual if src.chance(95) else src.pick([*STATUSES, None])
    for key, which in (("rate_esat", "esat"), ("rate_mo", "mo")):
        if src.chance(60):
            known = rates.get(which)
            if known is None or src.chance(35):
                known = src.cents(CENT, HUNDRED)
            ctx[key] = None if src.chance(5) else src.pick([f"{known:f}", float(known), f"{known:f}"])
    for key, likely in (("double_activity_since", form_id in DOUBLE_FORMS), ("last_change_date", True)):
        if src.chance(55 if likely else 15):
            # the day before, of, after the declared change; or long before
            back = src.pick([-1, 0, 1, 2]) if src.chance(25) else src.int_in(1, 900)
            ctx[key] = None if src.chance(5) else (day - timedelta(days=back)).isoformat()
    return ctx


def leave_dates(d: Draft, day: date) -> None:
    years = shift_months(day, 12 * LEAVE_YEARS)
    d.date("date_retour_prevue", (day + timedelta(days=1), years), [day, years])


Example = tuple[date, dict, dict, bool, dict | None]


def make_example(form_id: str, src: Source) -> Example:
    """(on, payload, intended values, has junk, context JSON) for one declaration."""
    on = on_date(src)
    start, end = window(on)
    if form_id == "debut_double_activite":
        good, edges = (max(start, DECRETS), end), [start, end, DECRETS, on]
    else:
        good, edges = (start, end), [start, end, on]
    d = Draft(src)
    rates: dict[str, Decimal | None] = {}
    top = Decimal("99.99")
    if form_id == "modification_activite":
        sens = d.choice("sens", ("augmentation", "reduction"))
        day = d.date("date_changement", good, edges)
        old = d.rate("taux_avant", edges=(HUNDRED,))
        if old is None or not CENT <= old <= HUNDRED:
            d.rate("nouveau_taux")
        elif sens == "augmentation":
            d.rate("nouveau_taux", (old + CENT, HUNDRED), (old,))
        else:
            d.rate("nouveau_taux", (CENT, old - CENT), (old,))
        if src.chance(98):
            d.certify("certification")
        rates["esat"] = old
    elif form_id == "depart_esat":
        day = d.date("date_depart", good, edges)
        motif = d.choice("motif_depart", MOTIFS + CONGES * 3)
        if (motif in CONGES and src.chance(98)) or src.chance(20):
            leave_dates(d, day)
    elif form_id == "debut_double_activite":
        day = d.date("date_debut", good, edges)
        before = d.rate("taux_esat_avant", edges=(HUNDRED,))
        after = d.rate("taux_esat_apres", (CENT, min(before or HUNDRED, top)), (before or HUNDRED,))
        rest = HUNDRED - (after or 0)
        d.rate("taux_milieu_ordinaire", (CENT, min(rest, top)), (rest,))
        rates["esat"] = before
    elif form_id == "modification_double_activite":
        day = d.date("date_modification", good, edges)
        before = d.rate("taux_esat_avant", (CENT, top))
        mo_before = d.rate("taux_mo_avant", (CENT, HUNDRED - (before or 0)), required=False)
        after = d.rate("taux_esat_apres", (CENT, top), (before or HUNDRED,))
        rest = HUNDRED - (after or 0)
        d.rate("taux_mo_apres", (CENT, min(rest, top)), (rest,), required=False)
        if src.chance(98):
            d.certify("certification")
        rates |= {"esat": before, "mo": mo_before}
    elif form_id == "retour_esat":
        day = d.date("date_retour", good, edges)
        d.rate("taux_activite", edges=(HUNDRED,))
    else:
        day = d.date("date_fin", good, edges)
        before = d.rate("taux_esat_avant", (CENT, top))
        mo_before = d.rate("taux_mo_avant", (CENT, HUNDRED - (before or 0)))
        zero = src.pick(["esat", "esat", "mo", "mo", "both", "none"])
        esat = Decimal(0) if zero in ("esat", "both") else rate_value(src, (CENT, HUNDRED), (HUNDRED,))
        rest = HUNDRED - esat
        mo = Decimal(0) if zero in ("mo", "both") else rate_value(src, (CENT, rest), (rest,))
        d.put("taux_esat_apres", rate_text(src, esat), esat)
        d.put("taux_mo_apres", rate_text(src, mo), mo)
        motif = None
        if (esat == 0 and src.chance(97)) or src.chance(20):
            motif = d.choice("motif_depart", MOTIFS + CONGES * 2)
        if (motif in CONGES and src.chance(97)) or src.chance(15):
            leave_dates(d, day)
        rates |= {"esat": before, "mo": mo_before}
    d.spoil()
    return on, d.payload, d.intended, d.exotic, context_json(src, form_id, day, rates)


@st.composite
def drawn(draw, form_id: str) -> Example:
    return make_example(form_id, DrawSource(draw))


# --- the property, per form -----------------------------------------------------------------------------


def check(form_id: str, on: date, payload: dict, intended: dict, exotic: bool, ctx_json: dict | None):
    form = FORMS[form_id]
    payload = json.loads(json.dumps(payload))  # exactly what the CLI reads on its standard input
    context = cli_context(json.dumps(ctx_json)) if ctx_json is not None else cli_context("{}")
    report = validate(form, payload, on, context)  # must not raise
    known = {f.id for f in form.fields}
    for issue in report.errors + report.warnings:
        assert_french(issue, known)
    assert json.loads(json.dumps(report.as_json(), ensure_ascii=False))["valid"] is report.valid

    if report.valid:  # every blocking rule holds, re-checked on the values the rules kept
        kept = oracle(form_id, set(payload), report.values, on, context)
        assert kept.problems == [], (kept.problems, payload, context, report.values)
        assert set(report.values) == set(kept.values), (report.values, kept.values)
        for fid, value in report.values.items():
            spec = next(s for s in SPECS[form_id] if s.id == fid)
            if spec.kind == "rate" and value is not None:
                assert type(value) is Decimal and value.as_tuple().exponent == -2, (fid, value)
            if spec.kind == "date" and value is not None:
                assert type(value) is date, (fid, value)
    if exotic:
        return report.valid
    expected = oracle(form_id, set(payload), intended, on, context)
    detail = (expected.problems, payload, context, on, report.errors, report.warnings)
    assert report.valid is (not expected.problems), detail
    got = Counter(w.field for w in report.warnings)
    assert got == expected.warnings, detail
    # valid or not, the values kept are those of the visible fields the oracle accepts
    assert report.values == expected.values, (report.values, expected.values, payload)
    return report.valid


def run_seeded(form_id: str, seed: str) -> Counter:
    """``EXAMPLES`` examples, example ``i`` made from ``random.Random(f"{seed}:{i}")``."""
    stats: Counter = Counter()
    for i in range(EXAMPLES):
        try:
            example = make_example(form_id, RandomSource(random.Random(f"{seed}:{i}")))
            stats[check(form_id, *example)] += 1
        except Exception as exc:
            exc.add_note(f"{form_id}: example {i} of ESAT_PROPERTY_SEED={seed}")
            raise
    return stats


def run_examples(form_id: str, strategy: st.SearchStrategy[Example], config: settings) -> Counter:
    stats: Counter = Counter()

    @config
    @given(example=strategy)
    def prop(example: Example) -> None:
        on, payload, intended, exotic, ctx = example
        stats[check(form_id, on, payload, intended, exotic, ctx)] += 1

    prop()
    return stats


@pytest.mark.parametrize("form_id", sorted(SPECS))
def test_changes_never_raise_and_obey_the_rules(form_id: str):
    stats = run_seeded(form_id, os.environ.get("ESAT_PROPERTY_SEED") or os.urandom(8).hex())
    total = sum(stats.values())
    share = stats[True] / max(1, total)
    print(f"\n{form_id}: {total} exemples, {share:.0%} valides")
    assert total >= EXAMPLES
    assert share >= MIN_VALID_SHARE, f"{form_id}: {share:.0%} d'exemples valides seulement"


@pytest.mark.parametrize("form_id", sorted(SPECS))
def test_changes_with_shrinking(form_id: str):
    """The same property on hypothesis' own draws: fewer examples, but a failure shrinks."""
    stats = run_examples(form_id, drawn(form_id), SHRINKING)
    assert stats[True] > 0, f"{form_id}: aucun exemple valide"


def test_every_form_has_an_oracle():
    changes = {f.id for f in FORMS.values() if f.id != "certificat_emploi"}
    assert set(SPECS) == changes
    for form_id, specs in SPECS.items():
        assert [s.id for s in specs] == [f.id for f in FORMS[form_id].fields], form_id


def test_the_oracle_itself():
    """A few hand-made verdicts, so that a lenient oracle cannot pass unnoticed."""
    on = date(2026, 6, 15)
    ok = {"sens": "augmentation", "date_changement": on, "taux_avant": Decimal(50)}
    ok |= {"nouveau_taux": Decimal(80), "certification": True}
    assert oracle("modification_activite", set(ok), ok, on, {}).problems == []
    for change in (
        {"nouveau_taux": Decimal(50)},
        {"nouveau_taux": Decimal("100.01")},
        {"taux_avant": Decimal(0)},
        {"date_changement": date(2024, 6, 14)},
        {"date_changement": date(2026, 9, 16)},
        {"certification": False},
    ):
        assert oracle("modification_activite", set(ok), ok | change, on, {}).problems, change
    assert oracle("modification_activite", set(ok), ok, on, {"double_activity": True}).problems
    assert oracle("modification_activite", set(ok), ok, on, {"status": "ON_LEAVE"}).problems
    assert oracle("modification_activite", set(ok), ok, date(2022, 6, 1), {}).problems
    fin = {"date_fin": on, "taux_esat_avant": Decimal(60), "taux_mo_avant": Decimal(40)}
    fin |= {"taux_esat_apres": Decimal(0), "taux_mo_apres": Decimal(0), "motif_depart": "demission"}
    assert oracle("fin_double_activite", set(fin), fin, on, {}).problems == []
    both = fin | {"taux_esat_apres": Decimal(1), "taux_mo_apres": Decimal(1)}
    assert oracle("fin_double_activite", set(both), both, on, {}).problems == ["aucun taux à 0"]
    assert shift_months(date(2028, 2, 29), -12) == date(2027, 2, 28)
    assert shift_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
