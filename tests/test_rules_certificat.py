"""Every rule of the certificat d'emploi (DOMAIN §2.2, §7, §8.1), at its boundary.

The SMIC is never typed here: limits are computed from ``rules.parameters`` (SMIC of 30 November
of the campaign year) and the ratios written in DOMAIN §8.1.
"""

from datetime import date
from decimal import ROUND_CEILING, Decimal
from itertools import pairwise

import pytest

from forms import fmt, load_all
from forms.loader import read_yaml
from rules import calendar, parameters, validate
from rules.parameters import ParameterError

FORM = load_all()["certificat_emploi"]
RG, AIDE, PART = "remuneration_garantie", "aide_au_poste", "part_esat"
LABELS = {f.id: f.label for f in FORM.fields}
ON = date(2026, 12, 15)  # campaign 2026, parameters of 30/11/2026
CENT = Decimal("0.01")
NBSP = "\u00a0"

# DOMAIN §8.1 ratios, R243-5 and R243-6 CASF (values since 1 January 2018), all of the gross SMIC
PLAFOND_SMIC = Decimal(3)  # RG ≤ 3 × SMIC (sanity, error)
AIDE_MAX_SMIC = Decimal("0.507")  # aide au poste above 50.7 % SMIC × rate (+ 1 €) → warning
AIDE_TOLERANCE = Decimal("1.00")
PART_MIN_SMIC = Decimal("0.05")  # part ESAT < 5 % SMIC × rate → warning
ECART_MAX = Decimal("1.00")  # |aide + part − RG| > 1 € → warning
RG_MIN_SMIC, RG_MAX_SMIC = Decimal("0.557"), Decimal("1.107")  # RG outside, × rate → warning


def smic(campaign: int = 2026) -> Decimal:
    return parameters.value("smic_mensuel", date(campaign, 11, 30))


def cents(value: Decimal, rounding: str | None = None) -> Decimal:
    return value.quantize(CENT, rounding=rounding) if rounding else value.quantize(CENT)


def euros(value: Decimal) -> str:
    """A French amount as a user types it: ``1234,56``."""
    return f"{value:.2f}".replace(".", ",")


def coherent(campaign: int = 2026) -> dict[str, Decimal]:
    """A certificat that passes every rule without warning: aide at its cap, part at 10 % SMIC."""
    aide = cents(AIDE_MAX_SMIC * smic(campaign))
    part = cents(Decimal("0.10") * smic(campaign))
    return {RG: aide + part, AIDE: aide, PART: part}


def test_the_three_amounts_are_gross():
    # Like with like: every rule compares them with the gross SMIC; the labels say so and
    # are printed on the justificatif.
    assert FORM.version >= 2
    assert all("brut" in f.label for f in FORM.fields), LABELS
    assert "bruts" in (FORM.intro or "")
    assert all("brut" in d.label or "D821-10" in d.label for d in FORM.derived)


def run(values, on=ON, context=None):
    payload = {k: euros(v) if isinstance(v, Decimal) else v for k, v in values.items()}
    return validate(FORM, payload, on, context)


def fields(issues) -> list:
    return sorted((i.field or "_form") for i in issues)


def smic_warnings(report, field):
    return [w for w in report.warnings if w.field == field and "du SMIC mensuel" in w.message]


def sum_warnings(report):
    return [w for w in report.warnings if " + " in w.message]


# --- the baseline --------------------------------------------------------------------------


def test_coherent_certificat_is_clean():
    report = run(coherent())
    assert report.valid
    assert report.errors == []
    assert report.warnings == []
    assert report.values == coherent()
    assert all(isinstance(v, Decimal) for v in report.values.values())


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["1234,56", "1 234,56", "1234.56", "1\u00a0234,56 €", "1\u202f234,56", " 1234,56 ", "1234,56€", 1234.56],
)
def test_amount_formats_accepted(raw):
    report = validate(FORM, {RG: raw, AIDE: "0", PART: "0"}, ON)
    assert fields(report.errors) == []
    assert report.values[RG] == Decimal("1234.56")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, Decimal("0.00")),
        ("0", Decimal("0.00")),
        ("0,00", Decimal("0.00")),
        ("-0", Decimal("0.00")),
        (1234, Decimal("1234.00")),
        ("12,3", Decimal("12.30")),
        ("12,30", Decimal("12.30")),
        ("1234.560", Decimal("1234.56")),  # a useless trailing zero is not a third decimal
        (Decimal("99.9"), Decimal("99.90")),
    ],
)
def test_amount_values(raw, expected):
    report = validate(FORM, {RG: "5000", AIDE: raw, PART: "0"}, ON)
    assert [e for e in report.errors if e.field == AIDE] == []
    assert report.values[AIDE] == expected
    assert report.values[AIDE].as_tuple().exponent == -2


def field_errors(raw, field=RG):
    payload = {RG: "1000", AIDE: "500", PART: "500"}
    payload[field] = raw
    report = validate(FORM, payload, ON)
    assert not report.valid
    errors = [e for e in report.errors if e.field == field]
    assert len(errors) == 1, report.errors
    assert field not in report.values
    return errors[0].message


def test_three_decimals_rejected():
    message = field_errors("12,345")
    assert f"« {LABELS[RG]} »" in message
    assert "deux chiffres après la virgule" in message


@pytest.mark.parametrize(
    "raw", ["abc", "1e3", "12,3,4", "--5", "1.234,56", "12 €€", "0x10", "nan", "inf", "½"]
)
def test_bad_format_rejected_with_the_label(raw):
    message = field_errors(raw)
    assert f"« {LABELS[RG]} »" in message
    assert "montant en chiffres" in message


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_is_required(raw):
    message = field_errors(raw)
    assert message == f"« {LABELS[RG]} » est obligatoire."


def test_missing_key_is_required():
    report = validate(FORM, {RG: "1000", AIDE: "500"}, ON)
    assert fields(report.errors) == [PART]
    assert report.errors[0].message == f"« {LABELS[PART]} » est obligatoire."


@pytest.mark.parametrize("raw", ["-5", "-0,01", -5, "- 5"])
def test_negative_rejected(raw):
    message = field_errors(raw, AIDE)
    assert message == f"« {LABELS[AIDE]} » ne peut pas être négatif."


def test_maximum_amount():
    # within the parser limit but above 3 × SMIC: the SMIC check, not the parser, refuses it
    report = validate(FORM, {RG: "9 999 999,99", AIDE: "0", PART: "0"}, ON)
    assert report.values[RG] == Decimal("9999999.99")
    message = field_errors("10 000 000")
    assert f"« {LABELS[RG]} »" in message
    assert "trop élevé" in message
    assert fmt.amount(Decimal("9999999.99")) in message
    assert field_errors("9999999,991")  # third decimal
    assert field_errors("1" * 30)


@pytest.mark.parametrize("raw", [True, False])
def test_booleans_rejected(raw):
    message = field_errors(raw)
    assert "montant en chiffres" in message


@pytest.mark.parametrize("raw", [[], {}, ["1"], {"a": 1}, b"12"])
def test_junk_rejected(raw):
    assert "montant en chiffres" in field_errors(raw)


def test_every_field_parsed_independently():
    report = validate(FORM, {RG: "abc", AIDE: "-1", PART: "1,234"}, ON)
    assert fields(report.errors) == sorted([RG, AIDE, PART])
    assert report.values == {}
    assert report.warnings == []  # cross-field checks skip invalid fields


# --- remuneration_garantie ≤ 3 × SMIC ------------------------------------------------------------


def test_rg_at_three_smic_is_valid():
    limit = cents(PLAFOND_SMIC * smic())
    report = run({RG: limit, AIDE: Decimal(0), PART: Decimal(0)})
    assert report.valid, report.errors


def test_rg_one_cent_above_three_smic_is_an_error():
    limit = cents(PLAFOND_SMIC * smic())
    report = run({RG: limit + CENT, AIDE: Decimal(0), PART: Decimal(0)})
    assert fields(report.errors) == [RG]
    message = report.errors[0].message
    assert f"« {LABELS[RG]} »" in message
    assert fmt.amount(limit) in message
    assert fmt.rate(PLAFOND_SMIC * 100) in message


# --- aide_au_poste ≤ RG, part_esat ≤ RG --------------------------------------------------------------


@pytest.mark.parametrize("field", [AIDE, PART])
def test_part_equal_to_rg_is_valid(field):
    total = Decimal("800.00")
    values = {RG: total, AIDE: Decimal(0), PART: Decimal(0)}
    values[field] = total
    report = run(values)
    assert report.valid, report.errors


@pytest.mark.parametrize("field", [AIDE, PART])
def test_part_above_rg_is_an_error(field):
    total = Decimal("800.00")
    values = {RG: total, AIDE: Decimal(0), PART: Decimal(0)}
    values[field] = total + CENT
    report = run(values)
    assert fields(report.errors) == [field]
    assert report.errors[0].message == f"« {LABELS[field]} » ne peut pas dépasser « {LABELS[RG]} »."


def test_both_parts_above_rg():
    report = run({RG: Decimal("10.00"), AIDE: Decimal("10.01"), PART: Decimal("10.01")})
    assert fields(report.errors) == sorted([AIDE, PART])


# --- warning: aide au poste above the R243-6 value ------------------------------------------------


def test_aide_at_cap_plus_tolerance_has_no_warning():
    values = coherent()
    assert values[AIDE] == cents(AIDE_MAX_SMIC * smic())
    values[AIDE] += AIDE_TOLERANCE
    values[RG] += AIDE_TOLERANCE
    assert run(values).warnings == []


def test_aide_above_cap_plus_tolerance_is_only_a_warning():
    values = coherent()
    values[AIDE] += AIDE_TOLERANCE + CENT
    values[RG] += AIDE_TOLERANCE + CENT
    report = run(values)
    assert report.valid
    assert fields(report.warnings) == [AIDE]
    message = report.warnings[0].message
    assert f"attendue, {fmt.amount(cents(AIDE_MAX_SMIC * smic()))}" in message
    assert fmt.rate(AIDE_MAX_SMIC * 100) in message  # "50,7 %"
    assert "R243-6" in message
    assert report.derived  # a warning does not block the recap


def aide_case(part_share: Decimal, aide: Decimal, campaign: int = 2025, rate: Decimal = Decimal(100)):
    """A certificat of ``campaign`` (SMIC 1 801,80 €: every bound is a whole cent) whose ESAT part is
    ``part_share`` of the SMIC of the working time, with RG = aide + part."""
    base = smic(campaign) * rate / 100
    part = cents(part_share * base)
    return run({RG: aide + part, AIDE: aide, PART: part}, date(campaign, 12, 15), {"rate_esat": rate})


def aide_warnings(report):
    return [w.message for w in report.warnings if w.field == AIDE]


@pytest.mark.parametrize(
    ("part_share", "expected_share"),
    [
        (Decimal("0.05"), AIDE_MAX_SMIC),
        (Decimal("0.20"), AIDE_MAX_SMIC),  # "inférieure ou égale à 20 %": not reduced yet
        (Decimal("0.30"), AIDE_MAX_SMIC - Decimal("0.05")),  # 10 points beyond 20 %: − 5 points
        (Decimal("0.60"), AIDE_MAX_SMIC - Decimal("0.20")),
    ],
)
@pytest.mark.parametrize("rate", [Decimal(100), Decimal(50)])
def test_aide_au_poste_follows_r243_6(part_share, expected_share, rate):
    expected = cents(expected_share * smic(2025) * rate / 100)
    assert aide_warnings(aide_case(part_share, expected + AIDE_TOLERANCE, rate=rate)) == []
    [message] = aide_warnings(aide_case(part_share, expected + AIDE_TOLERANCE + CENT, rate=rate))
    assert f"attendue, {fmt.amount(expected)}" in message
    assert ("réduite de 0,5 point" in message) == (part_share > Decimal("0.20"))
    assert f"au prorata d'un taux d'activité de {fmt.rate(rate)}" in message


def test_aide_reduction_starts_just_above_20_percent():
    base = smic(2025)
    twenty = cents(Decimal("0.20") * base)  # 360,36 €
    cap = cents(AIDE_MAX_SMIC * base)
    # 1,00 € of part beyond 20 % takes 0,50 € off the aide au poste
    report = run(
        {PART: twenty + 1, AIDE: cap + AIDE_TOLERANCE, RG: twenty + 1 + cap + AIDE_TOLERANCE},
        date(2025, 12, 15),
    )
    [message] = aide_warnings(report)
    assert f"attendue, {fmt.amount(cap - Decimal('0.50'))}" in message


def test_aide_cap_of_a_2017_campaign_is_50_percent():
    # décret 2018-194: 50,7 % for the rights from 1 January 2018; 50 % before
    ref = date(2017, 11, 30)
    assert parameters.value("aide_au_poste_max_smic", ref) == Decimal("0.50")
    assert parameters.value("aide_au_poste_max_smic", date(2018, 1, 1)) == AIDE_MAX_SMIC
    base = smic(2017)
    cap = cents(Decimal("0.50") * base)
    part = cents(Decimal("0.10") * base)
    on = date(2017, 12, 15)
    assert run({RG: cap + part, AIDE: cap + AIDE_TOLERANCE, PART: part}, on).warnings == []
    report = run({RG: cap + part, AIDE: cap + AIDE_TOLERANCE + CENT, PART: part}, on)
    assert [w.field for w in report.warnings] == [AIDE, AIDE]  # R243-6 and the sum
    assert f"attendue, {fmt.amount(cap)}" in aide_warnings(report)[0]


# --- warning: RG outside the R243-5 bounds ---------------------------------------------------------


def rg_warnings(report):
    return [w.message for w in report.warnings if w.field == RG]


def test_full_time_rg_of_400_euros_is_a_warning():
    report = run({RG: Decimal("400.00"), AIDE: Decimal("300.00"), PART: Decimal("100.00")})
    assert report.valid
    [message] = rg_warnings(report)
    low, high = cents(RG_MIN_SMIC * smic()), cents(RG_MAX_SMIC * smic())
    assert f"de {fmt.amount(low)} à {fmt.amount(high)}" in message
    assert f"55,7{NBSP}% à 110,7{NBSP}% du SMIC mensuel brut" in message
    assert "R243-5" in message


@pytest.mark.parametrize("rate", [Decimal(100), Decimal(80), Decimal(50)])
def test_rg_bounds_edges(rate):
    context = {"rate_esat": rate}
    low = cents(RG_MIN_SMIC * smic() * rate / 100)
    high = cents(RG_MAX_SMIC * smic() * rate / 100)

    def rg(total: Decimal):
        part = cents(Decimal("0.10") * smic() * rate / 100)
        return run({RG: total, AIDE: total - part, PART: part}, context=context)

    assert rg_warnings(rg(low)) == []
    assert rg_warnings(rg(high)) == []
    assert len(rg_warnings(rg(low - CENT))) == 1
    assert len(rg_warnings(rg(high + CENT))) == 1


def test_rates_of_50_and_100_percent_halve_and_double_the_figures():
    # Point 2 of issue 12: the prorata reads the context's rate (the timeline as of 30/11/N).
    part = cents(PART_MIN_SMIC * smic())  # 5 % of a full-time SMIC = 10 % of a half-time one
    values = {RG: Decimal("400.00"), AIDE: Decimal("400.00") - part, PART: part}
    full = run(values, context={"rate_esat": Decimal(100)})
    half = run(values, context={"rate_esat": Decimal(50)})
    assert full.derived["part_esat_pourcentage_smic"] == f"5{NBSP}%"
    assert half.derived["part_esat_pourcentage_smic"] == f"10{NBSP}%"
    assert full.derived["tranche_abattement"].startswith("Aucun")  # exactly 5 %: no band
    assert half.derived["tranche_abattement"] == f"4{NBSP}%"  # exactly 10 %: 4 %
    [full_rg] = rg_warnings(full)
    [half_rg] = rg_warnings(half)
    assert fmt.amount(cents(RG_MIN_SMIC * smic())) in full_rg
    assert fmt.amount(cents(RG_MIN_SMIC * smic() / 2)) in half_rg


# --- warning: aide + part ≠ RG (tolerance 1 €) --------------------------------------------------------


@pytest.mark.parametrize("delta", [Decimal("0"), Decimal("1.00"), Decimal("-1.00"), Decimal("0.99")])
def test_sum_within_one_euro(delta):
    values = coherent()
    values[RG] += delta
    report = run(values)
    assert report.valid
    assert report.warnings == []


@pytest.mark.parametrize("delta", [Decimal("1.01"), Decimal("-1.01"), Decimal("100")])
def test_sum_beyond_one_euro_is_a_warning(delta):
    values = coherent()
    values[RG] += delta
    report = run(values)
    assert report.valid
    assert fields(report.warnings) == [AIDE]
    assert sum_warnings(report) == report.warnings
    message = report.warnings[0].message
    assert fmt.amount(values[AIDE] + values[PART]) in message
    assert fmt.amount(values[RG]) in message
    for label in LABELS.values():
        assert f"« {label} »" in message


# --- warning: part ESAT < 5 % SMIC × rate -------------------------------------------------------------


def with_part(part: Decimal, campaign: int = 2026, rate: Decimal | None = None) -> dict[str, Decimal]:
    """A certificat whose only question is its ESAT part: the aide au poste at its cap for the
    working time, and the RG 1 € above their sum (within the tolerance, and never under the
    R243-5 floor through rounding)."""
    aide = cents(AIDE_MAX_SMIC * smic(campaign) * (rate or 100) / 100)
    return {RG: aide + part + ECART_MAX, AIDE: aide, PART: part}


def test_part_at_floor_has_no_warning():
    floor = cents(PART_MIN_SMIC * smic())
    report = run(with_part(floor))
    assert report.valid
    assert report.warnings == []


def test_part_one_cent_below_floor_is_a_warning():
    floor = cents(PART_MIN_SMIC * smic())
    report = run(with_part(floor - CENT))
    assert report.valid
    assert fields(report.warnings) == [PART]
    message = report.warnings[0].message
    assert fmt.amount(floor) in message
    assert fmt.rate(PART_MIN_SMIC * 100) in message  # "5 %"


@pytest.mark.parametrize("context", [None, {}, {"rate_esat": Decimal("100")}, {"rate_esat": None}])
def test_default_rate_is_100(context):
    floor = cents(PART_MIN_SMIC * smic())
    assert run(with_part(floor), context=context).warnings == []
    assert fields(run(with_part(floor - CENT), context=context).warnings) == [PART]


def test_half_time_rate_halves_the_floor():
    context = {"rate_esat": Decimal("50")}
    floor = cents(PART_MIN_SMIC * smic() * Decimal("0.5"))
    full_floor = cents(PART_MIN_SMIC * smic())
    half = Decimal(50)
    assert run(with_part(floor, rate=half), context=context).warnings == []
    assert run(with_part(full_floor - CENT, rate=half), context=context).warnings == []
    report = run(with_part(floor - CENT, rate=half), context=context)
    assert fields(report.warnings) == [PART]
    message = report.warnings[0].message
    assert fmt.amount(floor) in message
    assert f"au prorata d'un taux d'activité de 50{NBSP}%" in message


# --- calendar window -------------------------------------------------------------------------------

WINDOW_PAYLOAD = {RG: "950,00", AIDE: "850,00", PART: "100,00"}


@pytest.mark.parametrize(
    "on",
    [date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 15), date(2027, 2, 28), date(2028, 2, 29)],
)
def test_window_open(on):
    report = validate(FORM, WINDOW_PAYLOAD, on)
    assert report.errors == []


@pytest.mark.parametrize(
    "on",
    [
        date(2026, 11, 30),
        date(2027, 3, 1),
        date(2028, 3, 1),
        date(2027, 6, 15),
        date(2026, 1, 1).replace(month=9),
    ],
)
def test_window_closed(on):
    report = validate(FORM, WINDOW_PAYLOAD, on)
    assert not report.valid
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.field is None
    assert error.message == (
        f"« {FORM.title} » ne peut être déclaré que du 1er décembre au dernier jour de février."
    )
    assert report.derived == {}


def test_window_error_comes_with_field_errors():
    report = validate(FORM, {RG: "abc"}, date(2027, 3, 1))
    assert fields(report.errors) == sorted(["_form", RG, AIDE, PART])


# --- rules.calendar ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "campaign"),
    [
        (date(2026, 12, 1), 2026),
        (date(2026, 12, 31), 2026),
        (date(2027, 1, 1), 2026),
        (date(2027, 2, 28), 2026),
        (date(2028, 2, 29), 2027),
        (date(2027, 3, 1), 2027),
        (date(2026, 11, 30), 2026),
    ],
)
def test_campaign_of(on, campaign):
    assert calendar.campaign_of(on) == campaign


def test_window_end():
    assert calendar.window_end(2027) == date(2028, 2, 29)
    assert calendar.window_end(2026) == date(2027, 2, 28)
    assert calendar.window_end(2099) == date(2100, 2, 28)  # not a leap year
    assert calendar.window_end(1999) == date(2000, 2, 29)


def test_certificat_open_matches_window_end():
    for campaign in (2025, 2026, 2027):
        end = calendar.window_end(campaign)
        assert calendar.certificat_open(date(campaign, 12, 1))
        assert calendar.certificat_open(end)
        assert not calendar.certificat_open(date(campaign, 11, 30))
        assert not calendar.certificat_open(date(end.year, 3, 1))


def test_reference_date_is_30_november():
    assert calendar.reference_date(FORM, date(2027, 1, 10)) == date(2026, 11, 30)
    assert calendar.reference_date(FORM, date(2026, 12, 1)) == date(2026, 11, 30)
    assert calendar.reference_date(FORM, date(2028, 2, 29)) == date(2027, 11, 30)


def test_limit_of_a_january_declaration_uses_the_smic_of_30_november():
    limit = cents(PLAFOND_SMIC * parameters.value("smic_mensuel", date(2026, 11, 30)))
    on = date(2027, 1, 10)
    assert run({RG: limit, AIDE: Decimal(0), PART: Decimal(0)}, on=on).valid
    report = run({RG: limit + CENT, AIDE: Decimal(0), PART: Decimal(0)}, on=on)
    assert fields(report.errors) == [RG]
    assert fmt.amount(limit) in report.errors[0].message


def test_smic_raised_on_1_january_is_not_used_for_the_campaign():
    # The SMIC rose on 1 January 2026: a certificat filed on 10 January 2026 (campaign 2025)
    # is still checked against the SMIC of 30 November 2025.
    november, january = (parameters.value("smic_mensuel", d) for d in (date(2025, 11, 30), date(2026, 1, 10)))
    assert november < january  # otherwise this test proves nothing
    limit = cents(PLAFOND_SMIC * november)
    on = date(2026, 1, 10)
    assert run({RG: limit, AIDE: Decimal(0), PART: Decimal(0)}, on=on).valid
    report = run({RG: limit + CENT, AIDE: Decimal(0), PART: Decimal(0)}, on=on)
    assert fields(report.errors) == [RG]
    assert fmt.amount(limit) in report.errors[0].message


# --- unknown keys, derived values ---------------------------------------------------------------------


def test_unknown_payload_key_is_an_error():
    payload = {k: euros(v) for k, v in coherent().items()} | {"prime": "12"}
    report = validate(FORM, payload, ON)
    assert not report.valid
    assert fields(report.errors) == ["prime"]
    assert report.errors[0].message == "Champ inconnu pour ce formulaire : prime."
    assert "prime" not in report.values
    assert report.derived == {}


def test_derived_values_present_only_when_valid():
    values = coherent()
    report = run(values)
    assert set(report.derived) == {"part_esat_pourcentage_smic", "tranche_abattement"}
    pct = cents(values[PART] * 100 / smic())
    assert report.derived["part_esat_pourcentage_smic"] == french_rate(pct)

    values[AIDE] = values[RG] + CENT
    assert run(values).derived == {}


def french_rate(pct: Decimal) -> str:
    text = f"{pct:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}{NBSP}%"


EDGES_CAMPAIGN = 2025  # SMIC 1 801,80 €: 5, 10, 15, 20 and 50 % of it are whole cents


@pytest.mark.parametrize(
    ("percent", "delta", "band", "floor_warning"),
    [
        (Decimal(5), -CENT, "Aucun (part ESAT inférieure ou égale à 5 % du SMIC)", True),
        (Decimal(5), Decimal(0), "Aucun (part ESAT inférieure ou égale à 5 % du SMIC)", False),
        (Decimal(5), CENT, "3,5 %", False),
        (Decimal(10), -CENT, "3,5 %", False),
        (Decimal(10), Decimal(0), "4 %", False),
        (Decimal(10), CENT, "4 %", False),
        (Decimal(15), -CENT, "4 %", False),
        (Decimal(15), Decimal(0), "4,5 %", False),
        (Decimal(15), CENT, "4,5 %", False),
        (Decimal(20), -CENT, "4,5 %", False),
        (Decimal(20), Decimal(0), "5 %", False),
        (Decimal(20), CENT, "5 %", False),
        (Decimal(50), -CENT, "5 %", False),
        (Decimal(50), Decimal(0), "Aucun (part ESAT d'au moins 50 % du SMIC)", False),
        (Decimal(50), CENT, "Aucun (part ESAT d'au moins 50 % du SMIC)", False),
    ],
)
def test_abattement_band_edges(percent, delta, band, floor_warning):
    # D821-10: "supérieure à 5 % et inférieure à 10 %"; R243-6: part "ne peut être inférieure à 5 %"
    bound = percent / 100 * smic(EDGES_CAMPAIGN)
    assert bound == cents(bound)  # an exact edge, not a rounded one
    part = bound + delta
    report = run(with_part(part, EDGES_CAMPAIGN), on=date(EDGES_CAMPAIGN, 12, 15))
    assert report.valid
    assert report.derived["tranche_abattement"].replace(NBSP, " ") == band
    assert (PART in fields(report.warnings)) == floor_warning
    if delta == 0:
        assert report.derived["part_esat_pourcentage_smic"] == french_rate(percent)


@pytest.mark.parametrize("campaign", [2023, 2024, 2025, 2026])
@pytest.mark.parametrize("rate", [None, Decimal("80"), Decimal("50")])
def test_band_agrees_with_the_floor_warning(campaign, rate):
    # One cent under the 5 % floor: the warning fires and no abattement band applies, even
    # when the percentage, rounded for display, reads 5 % (bug fixed in rules.checks.derive).
    # At the floor: no warning (R243-6) and still no band ("supérieure à 5 %", D821-10).
    context = {"rate_esat": rate} if rate else None
    floor = cents(PART_MIN_SMIC * smic(campaign) * (rate or 100) / 100)
    on = date(campaign, 12, 15)
    below = run(with_part(floor - CENT, campaign, rate), on=on, context=context)
    assert fields(below.warnings) == [PART]
    assert below.derived["tranche_abattement"].startswith("Aucun")
    at = run(with_part(floor, campaign, rate), on=on, context=context)
    assert at.warnings == []
    assert at.derived["tranche_abattement"].startswith("Aucun")
    above = run(with_part(floor + CENT, campaign, rate), on=on, context=context)
    assert above.warnings == []
    assert above.derived["tranche_abattement"] == f"3,5{NBSP}%"


def test_abattement_band_prorata():
    # a half-time worker: just above 5 % of a half-time SMIC is enough for the first band
    context = {"rate_esat": Decimal("50")}
    part = cents(Decimal("0.025") * smic(), ROUND_CEILING) + CENT
    report = run(with_part(part, rate=Decimal(50)), context=context)
    assert report.derived["tranche_abattement"].replace(NBSP, " ") == "3,5 %"
    assert report.derived["part_esat_pourcentage_smic"] == french_rate(cents(part * 200 / smic()))


def test_as_json():
    values = coherent()
    values[AIDE] = values[RG] + CENT
    data = run(values).as_json()
    assert data == {
        "valid": False,
        "errors": [{"field": AIDE, "message": f"« {LABELS[AIDE]} » ne peut pas dépasser « {LABELS[RG]} »."}],
        "warnings": data["warnings"],
        "derived": {},
    }
    assert run(coherent()).as_json()["derived"] == {
        "part_esat_pourcentage_smic": f"10{NBSP}%",
        "tranche_abattement": f"4{NBSP}%",
    }


# --- dates without parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("on", [date(2000, 12, 15), date(2006, 12, 15), date(2000, 6, 1), date(1960, 1, 5)])
def test_date_without_parameters_is_reported_not_raised(on):
    report = validate(FORM, WINDOW_PAYLOAD, on)
    assert not report.valid
    messages = [e.message for e in report.errors if e.field is None]
    assert any("paramètres" in m for m in messages), report.errors
    assert all(m.endswith(".") for m in messages)
    assert report.derived == {}


@pytest.mark.parametrize("campaign", [2007, 2017, 2022])
def test_an_old_campaign_can_be_checked(campaign):
    # Every parameter has its values from its first effect: a certificat of the 2022 campaign
    # (30/11/2022) used to fail with "paramètres … du 30/11/2022 ne sont pas connus".
    report = run(coherent(campaign), on=date(campaign, 12, 15))
    assert report.valid, report.errors
    if campaign >= 2018:  # before, the aide au poste of coherent() (50,7 %) is above the cap
        assert report.warnings == []
    assert set(report.derived) == {"part_esat_pourcentage_smic", "tranche_abattement"}
    assert report.derived["tranche_abattement"] == f"4{NBSP}%"
    low = run(with_part(Decimal("0.00"), campaign), on=date(campaign, 12, 15))
    assert PART in fields(low.warnings)


# --- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2024, 1, 1), Decimal("1766.92")),
        (date(2024, 11, 1), Decimal("1801.80")),
        (date(2025, 11, 30), Decimal("1801.80")),
        (date(2026, 1, 1), Decimal("1823.03")),
        (date(2026, 6, 1), Decimal("1867.02")),
    ],
)
def test_smic_from_openfisca(on, expected):
    value = parameters.value("smic_mensuel", on)
    assert value == expected
    assert value.as_tuple().exponent == -2


def test_own_parameters_match_domain():
    ref = date(2026, 11, 30)
    assert parameters.value("plafond_montant_smic", ref) == PLAFOND_SMIC
    assert parameters.value("aide_au_poste_max_smic", ref) == AIDE_MAX_SMIC
    assert parameters.value("aide_au_poste_tolerance", ref) == AIDE_TOLERANCE
    assert parameters.value("part_esat_min_smic", ref) == PART_MIN_SMIC
    assert parameters.value("ecart_composition_max", ref) == ECART_MAX
    assert parameters.value("remuneration_garantie_min_smic", ref) == RG_MIN_SMIC
    assert parameters.value("remuneration_garantie_max_smic", ref) == RG_MAX_SMIC


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("aide_au_poste_max_smic", "0.50", "0.507"),
        ("remuneration_garantie_min_smic", "0.55", "0.557"),
        ("remuneration_garantie_max_smic", "1.10", "1.107"),
    ],
)
def test_decret_2018_194_applies_from_1_january_2018(name, before, after):
    assert parameters.value(name, date(2007, 1, 1)) == Decimal(before)
    assert parameters.value(name, date(2017, 12, 31)) == Decimal(before)
    assert parameters.value(name, date(2018, 1, 1)) == Decimal(after)
    with pytest.raises(ParameterError):
        parameters.value(name, date(2006, 12, 31))


def shape(on: date) -> list[tuple[Decimal, bool, Decimal]]:
    return [(b.threshold, b.inclusive, b.rate) for b in parameters.brackets("abattement_esat", on)]


def test_abattement_brackets_are_dated():
    d = Decimal
    assert shape(date(2006, 6, 17)) == [
        (d("0.05"), False, d("0.01")),
        (d("0.10"), True, d("0.02")),
        (d("0.15"), True, d("0.03")),
        (d("0.20"), True, d("0.04")),
        (d("0.25"), True, d("0.05")),
        (d("0.50"), True, d("0")),
    ]
    assert (
        shape(date(2007, 1, 1))
        == shape(date(2026, 11, 30))
        == [
            (d("0.05"), False, d("0.035")),
            (d("0.10"), True, d("0.04")),
            (d("0.15"), True, d("0.045")),
            (d("0.20"), True, d("0.05")),
            (d("0.50"), True, d("0")),
        ]
    )
    with pytest.raises(ParameterError):
        parameters.brackets("abattement_esat", date(2006, 6, 16))


def test_abattement_brackets_agree_with_openfisca():
    # openfisca-france keeps one file per band (esat_<lower>_<upper>.yaml, null once removed)
    folder = parameters.openfisca_parameters_dir() / (
        "prestations_sociales/prestations_etat_de_sante/invalidite/aah/travail_esat/abattement_esat"
    )
    files = sorted(folder.glob("esat_*.yaml"))
    assert len(files) == 6
    days = {day for f in files for day in read_yaml(f)["values"]}
    assert days == {date(2006, 6, 17), date(2007, 1, 1)}
    for day in days:
        brackets = parameters.brackets("abattement_esat", day)
        ours = {
            (int(low.threshold * 100), int(high.threshold * 100), low.rate)
            for low, high in pairwise(brackets)
        }
        theirs = set()
        for f in files:
            _, low, high = f.stem.split("_")
            entry = read_yaml(f)["values"]
            started = [k for k in entry if k <= day]
            value = entry[max(started)]["value"] if started else None
            if value is not None:
                theirs.add((int(low), int(high), Decimal(str(value))))
        assert ours == theirs, day


def test_parameter_before_its_first_value():
    first = parameters.parameter("smic_mensuel").values[0][0]
    with pytest.raises(ParameterError):
        parameters.value("smic_mensuel", date(first.year - 1, 1, 1))
    with pytest.raises(ParameterError):
        parameters.value("plafond_montant_smic", date(2000, 1, 1))


def test_unknown_parameter():
    with pytest.raises(ParameterError, match="inconnu"):
        parameters.value("smic_horaire_inexistant", ON)
    with pytest.raises(ParameterError, match="inconnu"):
        parameters.brackets("bareme_inexistant", ON)


def test_parameters_name_their_source():
    for name in (
        "smic_mensuel",
        "plafond_montant_smic",
        "aide_au_poste_max_smic",
        "remuneration_garantie_min_smic",
    ):
        assert parameters.parameter(name).source
    assert "2018-194" in parameters.parameter("aide_au_poste_max_smic").source
    assert "D821-10" in parameters.scale("abattement_esat").source
    assert parameters.parameter("plafond_montant_smic").source == "hypothèse"
