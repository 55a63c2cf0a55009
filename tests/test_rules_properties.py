"""Property tests of the certificat d'emploi through ``rules.validate`` (the CLI's code path).

Whatever the payload and the date, validation never raises, every message is French, and a
valid report is re-checked here against DOMAIN §8.1 without calling the rules code (only the
SMIC is read from ``rules.parameters``).
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms import load_all
from rules import parameters, validate

FORM = load_all()["certificat_emploi"]
RG, AIDE, PART = "remuneration_garantie", "aide_au_poste", "part_esat"
FIELDS = (RG, AIDE, PART)
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999.99")
# 2 × 2,000 certificats in `make test`; ESAT_PROPERTY_EXAMPLES=5000 gives INPUT-01's 10,000 (docs/reliability.md).
EXAMPLES = int(os.environ.get("ESAT_PROPERTY_EXAMPLES", "2000"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -----------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities too (json.loads accepts them)
    st.text(max_size=30),
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=4,
)
numberish = st.from_regex(
    r"[ ]?-{0,2}[0-9 \u00a0\u202f']{0,10}([.,][0-9]{0,4}){0,2}( ?[€%])?[ ]?",
    fullmatch=True,
)
plausible = st.decimals(min_value=0, max_value=6000, places=2).map(lambda d: f"{d:.2f}".replace(".", ","))
field_value = st.one_of(
    plausible,  # half of the values: an amount typed the French way
    st.one_of(
        junk,
        numberish,
        st.integers(min_value=-10, max_value=10**8),
        st.decimals(min_value=0, max_value=10**6, places=2).map(float),
    ),
)
extra_keys = st.dictionaries(st.text(max_size=20).filter(lambda k: k not in FIELDS), junk, max_size=2)
payloads = st.builds(
    lambda known, extra: extra | known,
    st.fixed_dictionaries({}, optional={f: field_value for f in FIELDS}),
    extra_keys,
)
contexts = st.one_of(
    st.none(),
    st.fixed_dictionaries({"rate_esat": st.decimals(min_value=1, max_value=100, places=2)}),
)


def _window_days(campaign: int) -> int:
    return (date(campaign + 1, 3, 1) - date(campaign, 12, 1)).days


window_dates = st.integers(min_value=2023, max_value=2035).flatmap(
    lambda campaign: st.integers(min_value=0, max_value=_window_days(campaign) - 1).map(
        lambda offset: date(campaign, 12, 1) + timedelta(days=offset)
    )
)


any_date = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
dates = st.one_of(any_date, window_dates)  # any date, with the certificat window well represented


# --- the oracle, written from DOMAIN §7 and §8.1 --------------------------------------------------


def campaign_smic(on: date) -> Decimal:
    campaign = on.year if on.month == 12 else on.year - 1
    return parameters.value("smic_mensuel", date(campaign, 11, 30))


FRENCH = re.compile(r"«|\b(est|doit|ne|pas|champ|montant|paramètres)\b", re.IGNORECASE)
ARTEFACTS = ("Decimal(", "None", "Traceback", "{", "}", "datetime", "Error", "\\x", "\\u")


def assert_french(issue, known_fields) -> None:
    text = issue.message
    assert isinstance(text, str)
    assert text.strip(), issue
    if issue.field is not None and issue.field not in known_fields:
        # an unknown key, echoed as sent: only the words around it are ours
        prefix, suffix = "Champ inconnu pour ce formulaire : ", "."
        assert text == f"{prefix}{issue.field}{suffix}", issue
        text = prefix.strip() + suffix
    assert FRENCH.search(text) or text.rstrip().endswith("."), issue
    assert "«" in text or text.rstrip().endswith("."), issue
    for artefact in ARTEFACTS:
        assert artefact not in text, (artefact, issue)


def simple_amount(raw) -> Decimal | None:
    """The value an ESAT means by a plainly typed amount (no sign, no separator)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, str) and re.fullmatch(r"[0-9]{1,7}([.,][0-9]{1,2})?", raw):
        return Decimal(raw.replace(",", "."))
    return None


def check_report(payload, on, report) -> None:
    known = {f.id for f in FORM.fields}
    for issue in report.errors + report.warnings:
        assert_french(issue, known)
        assert issue.field is None or issue.field in known or issue.field in {str(k)[:60] for k in payload}
    data = report.as_json()
    assert data["valid"] is report.valid
    if not report.valid:
        assert report.derived == {}
        return
    # a valid report, re-checked independently
    assert on.month in (12, 1, 2), "accepté hors de la période du 1er décembre à fin février"
    assert set(payload) <= set(FIELDS), "champ inconnu accepté"
    assert set(report.values) == set(FIELDS)
    for f in FIELDS:
        value = report.values[f]
        assert type(value) is Decimal, (f, value)
        assert value.is_finite()
        assert value == value.quantize(CENT), (f, value)
        assert -value.as_tuple().exponent <= 2, (f, value)
        assert Decimal(0) <= value <= MAX_AMOUNT, (f, value)
        expected = simple_amount(payload[f])
        if expected is not None:
            assert value == expected, (f, payload[f], value)
    smic = campaign_smic(on)
    rg = report.values[RG]
    assert rg <= 3 * smic, (rg, smic)
    assert report.values[AIDE] <= rg
    assert report.values[PART] <= rg
    assert set(report.derived) == {"part_esat_pourcentage_smic", "tranche_abattement"}


# --- properties -------------------------------------------------------------------------------------


@SETTINGS
@given(payload=payloads, on=dates, context=contexts)
def test_any_payload_any_date(payload, on, context):
    report = validate(FORM, payload, on, context)
    check_report(payload, on, report)


def amount_text(value: Decimal, style: int):
    """One of the ways an amount reaches the rules: French text, dot, spaces, euro sign, JSON number."""
    text = f"{value:.2f}"
    if style == 0:
        return text.replace(".", ",")
    if style == 1:
        return text
    if style == 2:
        whole, cents = text.split(".")
        groups = f"{int(whole):,}".replace(",", "\u00a0") if not whole.startswith("-") else whole
        return f"{groups},{cents}"
    if style == 3:
        return text.replace(".", ",") + " €"
    if style == 4:
        return float(value)
    return int(value) if value == value.to_integral_value() else text.replace(".", ",")


cents_delta = st.integers(min_value=-150, max_value=150).map(lambda n: Decimal(n) * CENT)
styles = st.integers(min_value=0, max_value=5)


@st.composite
def near_boundary(draw):
    """RG near 3 × SMIC or anywhere below; aide and part near their caps and near RG − the other."""
    on = draw(window_dates)
    smic = campaign_smic(on)
    if draw(st.booleans()):
        rg = (3 * smic).quantize(CENT) + draw(cents_delta)
    else:
        rg = (smic * draw(st.decimals(min_value=0, max_value=3, places=3))).quantize(CENT)
    kind = draw(st.integers(min_value=0, max_value=3))
    if kind == 0:
        aide = (smic * Decimal("0.507")).quantize(CENT) + draw(cents_delta)
    elif kind == 1:
        aide = rg + draw(cents_delta)
    else:
        aide = (rg * draw(st.decimals(min_value=0, max_value=1, places=2))).quantize(CENT)
    part = rg - aide + draw(cents_delta) if draw(st.booleans()) else (smic * Decimal("0.05")).quantize(CENT)
    values = {RG: rg, AIDE: aide, PART: part}
    payload = {k: amount_text(v, draw(styles)) for k, v in values.items()}
    return payload, on


@st.composite
def coherent_certificat(draw):
    """A plausible certificat (shares of the gross SMIC, full time): part > 5 %; aide ≤ the R243-6
    value (50.7 %, less 0.5 point per point of part beyond 20 %); RG = aide + part ± a few cents,
    at least 55.7 % (R243-5) with a margin of 0.1 % for the rounding."""
    on = draw(window_dates)
    smic = campaign_smic(on)
    share = draw(st.decimals(min_value=Decimal("0.051"), max_value=Decimal("0.60"), places=4))
    expected = Decimal("0.507") - Decimal("0.5") * max(share - Decimal("0.20"), Decimal(0))
    low = max(Decimal("0.558") - share, Decimal("0.01"))
    aide = (smic * draw(st.decimals(min_value=low, max_value=expected, places=4))).quantize(CENT)
    part = (smic * share).quantize(CENT)
    rg = aide + part + draw(st.integers(min_value=-2, max_value=2).map(lambda n: Decimal(n) * CENT))
    payload = {k: amount_text(v, draw(styles)) for k, v in {RG: rg, AIDE: aide, PART: part}.items()}
    return payload, on


@SETTINGS
@given(case=near_boundary(), context=contexts)
def test_near_boundaries(case, context):
    payload, on = case
    report = validate(FORM, payload, on, context)
    check_report(payload, on, report)
    # independent verdict on the blocking rules, from the typed amounts
    values = {
        k: Decimal(str(v).replace("\u00a0", "").replace(" €", "").replace(",", "."))
        for k, v in payload.items()
    }
    smic = campaign_smic(on)
    blocking = (
        any(v < 0 for v in values.values())
        or values[RG] > 3 * smic
        or values[AIDE] > values[RG]
        or values[PART] > values[RG]
    )
    assert report.valid is not blocking, (payload, on, report.errors)


@settings(max_examples=300, deadline=None)
@given(case=coherent_certificat())
def test_coherent_certificats_are_valid_without_warning(case):
    payload, on = case
    report = validate(FORM, payload, on)
    check_report(payload, on, report)
    assert report.valid, report.errors
    assert report.warnings == [], report.warnings
