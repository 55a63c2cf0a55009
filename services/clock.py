"""Time: Europe/Paris for display, naive UTC in the store; ``ESAT_TODAY`` overrides the date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from services.config import Settings

PARIS = ZoneInfo("Europe/Paris")


def today(settings: Settings) -> date:
    return settings.today or datetime.now(PARIS).date()


def now_utc(settings: Settings) -> datetime:
    """Naive UTC now; with ``ESAT_TODAY`` set, that day at the current Paris time."""
    now = datetime.now(PARIS)
    if settings.today:
        now = datetime.combine(settings.today, now.timetz())
    return now.astimezone(UTC).replace(tzinfo=None)


def to_paris(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=UTC).astimezone(PARIS).replace(tzinfo=None)


def years_before(on: date, years: int) -> date:
    """Same day ``years`` earlier (28 February for a 29 February)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)
