"""Exports for French spreadsheets: CSV (UTF-8 with BOM, ";") and XLSX.

No cell may start with = + - @ or a control character: such text is prefixed with an
apostrophe so a spreadsheet shows it as typed instead of running it (formula injection,
RELIABILITY EXP-01). Plain numbers stay numbers.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from forms import fmt

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_text(value: str) -> str:
    """Text that a spreadsheet will never read as a formula."""
    value = _CONTROL.sub("", value)
    return "'" + value if value.startswith(_DANGEROUS) else value


def cell(value: Any) -> Any:
    """One exported value: numbers stay numbers, dates in French, text neutralised."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        return fmt.timestamp(value)
    if isinstance(value, date):
        return fmt.day(value)
    return safe_text(str(value))


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [safe_text(str(c)) for c in out.columns]
    for column in out.columns:
        out[column] = out[column].map(cell).astype(object)
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV for French Excel: UTF-8 with BOM, ";" separator, decimal comma."""
    clean = _clean(frame)
    for column in clean.columns:
        clean[column] = clean[column].map(_csv_number)
    return clean.to_csv(sep=";", index=False, lineterminator="\r\n").encode("utf-8-sig")


def _csv_number(value: Any) -> Any:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value).replace(".", ",")
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return value


def to_xlsx(frame: pd.DataFrame, sheet: str = "Export") -> bytes:
    buffer = io.BytesIO()
    clean = _clean(frame)
    for column in clean.columns:
        clean[column] = clean[column].map(lambda v: float(v) if isinstance(v, Decimal) else v)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        clean.to_excel(writer, index=False, sheet_name=safe_text(sheet)[:31])
    return buffer.getvalue()
