"""French display formats: dates JJ/MM/AAAA, amounts ``1 234,56 €``, rates ``62,5 %``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

NBSP = "\u00a0"


def amount(value: Decimal) -> str:
    """``Decimal('1234.5')`` → ``1 234,50 €`` (no-break spaces)."""
    text = f"{value.quantize(Decimal('0.01')):,.2f}"
    return text.replace(",", NBSP).replace(".", ",") + NBSP + "€"


def number(value: Decimal) -> str:
    """A decimal without useless zeros: ``62.50`` → ``62,5``; ``100.00`` → ``100``."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def rate(value: Decimal) -> str:
    return number(value) + NBSP + "%"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def timestamp(value: datetime) -> str:
    return value.strftime("%d/%m/%Y à %H:%M")


def value(field_type: str, raw: Any, options: dict[str, str] | None = None) -> str:
    """Format a typed value of a form field for the recap and the PDF."""
    if raw is None or raw == "":
        return "Non renseigné"
    if field_type == "amount":
        return amount(raw)
    if field_type == "rate":
        return rate(raw)
    if field_type == "date":
        return day(raw)
    if field_type == "yesno":
        return "Oui" if raw else "Non"
    if field_type == "certify":
        return "Certifié" if raw else "Non certifié"
    if field_type == "choice" and options:
        return options.get(raw, str(raw))
    return str(raw)
