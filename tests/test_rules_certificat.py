"""Every rule of the certificat d'emploi (DOMAIN §2.2, §7, §8.1), at its boundary.

The SMIC is never typed here: limits are computed from ``rules.parameters`` (SMIC of 30 November
of the campaign year) and the ratios written in DOMAIN §8.1.
"""

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest

from forms import fmt, load_all
from rules import calendar, parameters, validate
from rules.parameters import ParameterError

FORM = load_all()["certificat_emploi"]
RG, AIDE, PART = "remuneration_garantie", "aide_au_poste", "part_esat"
LABELS = {f.id: f.label for f in FORM.fields}
ON = date(2026, 12, 15)  # campaign 2026, parameters of 30/11/2026
CENT = Decimal("0.01")
NBSP = "\u00a0"

# DOMAIN §8.1 ratios
PLAFOND_SMIC = Decimal(3)  # RG ≤ 3 × SMIC (sanity, error)
AIDE_MAX_SMIC = Decimal("0.507")  # aide au poste > 50.7 % SMIC → warning
PART_MIN_SMIC = Decimal("0.05")  # part ESAT < 5 % SMIC × rate → warning
ECART_MAX = Decimal("1.00")  # |aide + part − RG| > 1 € → warning


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


# --- warning: aide au poste > 50.7 % SMIC ------------------------------------------------------------


def test_aide_at_cap_has_no_warning():
    values = coherent()
    assert values[AIDE] == cents(AIDE_MAX_SMIC * smic())
    report = run(values)
    assert smic_warnings(report, AIDE) == []


def test_aide_one_cent_above_cap_is_only_a_warning():
    values = coherent()
    values[AIDE] += CENT
    values[RG] += CENT
    report = run(values)
    assert report.valid
    assert fields(report.warnings) == [AIDE]
    message = report.warnings[0].message
    assert fmt.amount(cents(AIDE_MAX_SMIC * smic())) in message
    assert fmt.rate(AIDE_MAX_SMIC * 100) in message  # "50,7 %"
    assert report.derived  # a warning does not block the recap


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


def with_part(part: Decimal) -> dict[str, Decimal]:
    aide = Decimal("500.00")
    return {RG: aide + part, AIDE: aide, PART: part}


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
    assert run(with_part(floor), context=context).warnings == []
    assert run(with_part(full_floor - CENT), context=context).warnings == []
    report = run(with_part(floor - CENT), context=context)
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


@pytest.mark.parametrize(
    ("percent", "rounding", "band"),
    [
        (Decimal("4.99"), ROUND_FLOOR, "Aucun (part ESAT inférieure à 5 % du SMIC)"),
        (Decimal("5"), ROUND_CEILING, "3,5 %"),
        (Decimal("9.99"), ROUND_FLOOR, "3,5 %"),
        (Decimal("10"), ROUND_CEILING, "4 %"),
        (Decimal("14.99"), ROUND_FLOOR, "4 %"),
        (Decimal("15"), ROUND_CEILING, "4,5 %"),
        (Decimal("19.99"), ROUND_FLOOR, "4,5 %"),
        (Decimal("20"), ROUND_CEILING, "5 %"),
        (Decimal("60"), ROUND_CEILING, "5 %"),
    ],
)
def test_abattement_band(percent, rounding, band):
    part = cents(percent / 100 * smic(), rounding)
    report = run(with_part(part))
    assert report.valid
    assert report.derived["tranche_abattement"].replace(NBSP, " ") == band
    assert report.derived["part_esat_pourcentage_smic"] == french_rate(cents(part * 100 / smic()))


@pytest.mark.parametrize("campaign", [2023, 2024, 2025, 2026])
@pytest.mark.parametrize("rate", [None, Decimal("80"), Decimal("50")])
def test_band_agrees_with_the_floor_warning(campaign, rate):
    # One cent under the 5 % floor: the warning fires and no abattement band applies, even
    # when the percentage, rounded for display, reads 5 % (bug fixed in rules.checks.derive).
    context = {"rate_esat": rate} if rate else None
    floor = cents(PART_MIN_SMIC * smic(campaign) * (rate or 100) / 100)
    on = date(campaign, 12, 15)
    below = run(with_part(floor - CENT), on=on, context=context)
    assert fields(below.warnings) == [PART]
    assert below.derived["tranche_abattement"].startswith("Aucun")
    at = run(with_part(floor), on=on, context=context)
    assert at.warnings == []
    assert at.derived["tranche_abattement"] == f"3,5{NBSP}%"


def test_abattement_band_prorata():
    # a half-time worker: 5 % of a half-time SMIC is enough for the first band
    context = {"rate_esat": Decimal("50")}
    part = cents(Decimal("0.025") * smic(), ROUND_CEILING)
    report = run(with_part(part), context=context)
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
    }


# --- dates without parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("on", [date(2000, 12, 15), date(2020, 12, 15), date(2000, 6, 1), date(1960, 1, 5)])
def test_date_without_parameters_is_reported_not_raised(on):
    report = validate(FORM, WINDOW_PAYLOAD, on)
    assert not report.valid
    messages = [e.message for e in report.errors if e.field is None]
    assert any("paramètres" in m for m in messages), report.errors
    assert all(m.endswith(".") for m in messages)
    assert report.derived == {}


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
    assert parameters.value("part_esat_min_smic", ref) == PART_MIN_SMIC
    assert parameters.value("ecart_composition_max", ref) == ECART_MAX


def test_abattement_bands_from_openfisca():
    ref = date(2026, 11, 30)
    bands = [parameters.value(name, ref) for _, name in parameters.ABATTEMENT_BANDS]
    assert bands == [Decimal("0.035"), Decimal("0.04"), Decimal("0.045"), Decimal("0.05")]


def test_parameter_before_its_first_value():
    first = parameters.parameter("smic_mensuel").values[0][0]
    with pytest.raises(ParameterError):
        parameters.value("smic_mensuel", date(first.year - 1, 1, 1))
    with pytest.raises(ParameterError):
        parameters.value("plafond_montant_smic", date(2000, 1, 1))


def test_unknown_parameter():
    with pytest.raises(ParameterError, match="inconnu"):
        parameters.value("smic_horaire_inexistant", ON)


def test_parameters_name_their_source():
    for name in ("smic_mensuel", "plafond_montant_smic", "aide_au_poste_max_smic", "abattement_esat_5_10"):
        assert parameters.parameter(name).source
    assert parameters.parameter("plafond_montant_smic").source == "hypothèse"
