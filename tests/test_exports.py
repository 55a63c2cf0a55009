"""Exports for French spreadsheets: read back, hostile names never become formulas (EXP-01)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services import exports

HOSTILE = [
    '=HYPERLINK("http://evil.example";"clic")',
    "+33 6 00 00 00 00",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A2)",
    "\tTAB",
    "\rCR",
    'Zoé "la" ; Dupont',
    "ligne 1\nligne 2",
    "O'Brien; ; ;",
    "日本語 ☃ é ß",
    "",
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\0")


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "nom": HOSTILE,
            "taux": [Decimal("62.50")] * len(HOSTILE),
            "recue_le": [datetime(2026, 12, 10, 9, 30)] * len(HOSTILE),
            "naissance": [date(1980, 2, 29)] * len(HOSTILE),
            "n": list(range(-5, len(HOSTILE) - 5)),
        }
    )


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_csv_reads_back_with_every_text_cell_neutralised():
    rows = read_csv(exports.to_csv(frame()))
    assert rows[0] == ["nom", "taux", "recue_le", "naissance", "n"]
    names = [r[0] for r in rows[1:]]
    assert len(names) == len(HOSTILE)
    for original, exported in zip(HOSTILE, names, strict=True):
        assert not exported.startswith(DANGEROUS)
        assert exported == ("'" + original if original.startswith(DANGEROUS) else original)
    assert 'Zoé "la" ; Dupont' in names and "ligne 1\nligne 2" in names
    assert rows[1][1] == "62,50" and rows[1][2] == "10/12/2026 à 09:30" and rows[1][3] == "29/02/1980"


def test_xlsx_reads_back_with_every_text_cell_neutralised_and_numbers_as_numbers():
    sheet = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(frame()))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("nom", "taux", "recue_le", "naissance", "n")
    for row in rows[1:]:
        name = row[0] or ""
        assert not str(name).startswith(DANGEROUS)
        assert isinstance(row[1], float) and row[1] == 62.5
        assert isinstance(row[4], int)
    for cell in sheet["A"][1:]:
        assert cell.data_type != "f", "no formula cell"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=8))
def test_no_generated_text_ever_starts_a_formula(texts):
    data = pd.DataFrame({"texte": texts})
    for row in read_csv(exports.to_csv(data))[1:]:
        assert not row[0].startswith(DANGEROUS)
    sheet = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(data))).active
    for (value,) in sheet.iter_rows(min_row=2, values_only=True):
        assert not str(value or "").startswith(DANGEROUS)


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@a", "\t", "\r", "\0x"])
def test_safe_text_prefixes_each_dangerous_start(value):
    assert exports.safe_text(value).startswith("'") or exports.safe_text(value) == value.replace("\0", "")
    assert not exports.safe_text(value).startswith(DANGEROUS)
