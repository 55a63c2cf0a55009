"""The procedure's calendar: the certificat d'emploi window and its campaign (DOMAIN §7)."""

from __future__ import annotations

import calendar
from datetime import date

from forms.schema import FormDefinition


def certificat_open(on: date) -> bool:
    """From 1 December N to the last day of February N+1 (29 February in leap years)."""
    return on.month in (12, 1, 2)


def campaign_of(on: date) -> int:
    """The campaign year N: the year of the 1 December opening that ``on`` belongs to.

    Outside the window this is the campaign that opens next December (or the one just
    closed, for January and February).
    """
    return on.year if on.month == 12 or on.month > 2 else on.year - 1


def window_end(campaign: int) -> date:
    year = campaign + 1
    return date(year, 2, calendar.monthrange(year, 2)[1])


def form_open(form: FormDefinition, on: date) -> bool:
    return form.window == "always" or (form.window == "certificat" and certificat_open(on))


def reference_date(form: FormDefinition, on: date) -> date:
    """The date whose parameters apply: 30 November N for a certificat, else ``on``."""
    if form.window == "certificat":
        return date(campaign_of(on), 11, 30)
    return on


def closed_message(form: FormDefinition, on: date) -> str:
    return (
        f"« {form.title} » ne peut être déclaré que du 01/12 au dernier jour de février "
        f"(nous sommes le {on:%d/%m/%Y})."
    )
