"""French display formats: dates JJ/MM/AAAA, amounts ``1 234,56 €``, rates ``62,5 %``, and the
figures of dashboards: counts ``1 234``, decimals ``3,8``, shares ``12,5 %``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
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


def integer(value: int) -> str:
    """A count: ``1234`` → ``1 234`` (no-break space between thousands)."""
    return f"{int(value):,}".replace(",", NBSP)


def decimal(value: float | Decimal, places: int = 1) -> str:
    """A figure with ``places`` decimals, rounded half up, thousands grouped:
    ``1234.56`` → ``1 234,6``; ``3.75`` → ``3,8``; ``4`` → ``4,0``."""
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not rounded:
        rounded = abs(rounded)  # -0.04 is printed 0,0, not -0,0
    return f"{rounded:,f}".replace(",", NBSP).replace(".", ",")


def percent(share: float | Decimal, places: int = 1) -> str:
    """A share of a whole as a percentage: ``0.125`` → ``12,5 %``; ``places=0``: ``0.625`` → ``63 %``."""
    return decimal(Decimal(str(share)) * 100, places) + NBSP + "%"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def month(value: date) -> str:
    """A month in words, as a screen reader says it well: ``date(2026, 11, 1)`` → ``novembre 2026``."""
    return f"{MONTHS[value.month - 1]} {value.year}"


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
