"""French display formats (forms.fmt): amounts, rates, dates."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from forms import fmt

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.5"), f"1{NBSP}234,50{NBSP}€"),
        (Decimal("0"), f"0,00{NBSP}€"),
        (Decimal("0.5"), f"0,50{NBSP}€"),
        (Decimal("12"), f"12,00{NBSP}€"),
        (Decimal("999.99"), f"999,99{NBSP}€"),
        (Decimal("1000"), f"1{NBSP}000,00{NBSP}€"),
        (Decimal("1867.02"), f"1{NBSP}867,02{NBSP}€"),
        (Decimal("5601.06"), f"5{NBSP}601,06{NBSP}€"),
        (Decimal("9999999.99"), f"9{NBSP}999{NBSP}999,99{NBSP}€"),
        (Decimal("1234567890.12"), f"1{NBSP}234{NBSP}567{NBSP}890,12{NBSP}€"),
    ],
)
def test_amount(value, expected):
    assert fmt.amount(value) == expected


def test_amount_has_no_plain_space_or_dot():
    text = fmt.amount(Decimal("1234567.89"))
    assert " " not in text
    assert "." not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("62.50"), f"62,5{NBSP}%"),
        (Decimal("100.00"), f"100{NBSP}%"),
        (Decimal("100"), f"100{NBSP}%"),
        (Decimal("50.7"), f"50,7{NBSP}%"),
        (Decimal("3.5"), f"3,5{NBSP}%"),
        (Decimal("8.25"), f"8,25{NBSP}%"),
        (Decimal("10"), f"10{NBSP}%"),
        (Decimal("0"), f"0{NBSP}%"),
    ],
)
def test_rate(value, expected):
    assert fmt.rate(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2028, 2, 29), "29/02/2028"),
        (date(2026, 12, 1), "01/12/2026"),
        (date(2027, 1, 5), "05/01/2027"),
    ],
)
def test_day(value, expected):
    assert fmt.day(value) == expected


def test_timestamp():
    assert fmt.timestamp(datetime(2027, 1, 5, 9, 7)) == "05/01/2027 à 09:07"


@pytest.mark.parametrize(
    ("field_type", "raw", "expected"),
    [
        ("amount", Decimal("1234.5"), f"1{NBSP}234,50{NBSP}€"),
        ("rate", Decimal("62.50"), f"62,5{NBSP}%"),
        ("date", date(2028, 2, 29), "29/02/2028"),
        ("yesno", True, "Oui"),
        ("yesno", False, "Non"),
        ("text", "abc", "abc"),
        ("amount", None, "Non renseigné"),
        ("text", "", "Non renseigné"),
    ],
)
def test_value(field_type, raw, expected):
    assert fmt.value(field_type, raw) == expected


def test_value_choice_uses_the_option_label():
    assert fmt.value("choice", "deces", {"deces": "Décès"}) == "Décès"
    assert fmt.value("choice", "autre", {"deces": "Décès"}) == "autre"
