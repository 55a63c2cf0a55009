"""Baseline for scripts/bench_screens.py: the naive page.

Every worker of the demo ESAT in one ``st.dataframe``, read on every run by a direct DuckDB
query (a new read-only connection each run, no cache): what a plain Streamlit page would do.
Reads ``ESAT_DB`` (the seeded demo store); nothing of the project's code is used.
"""

import os
from pathlib import Path

import duckdb
import streamlit as st

DB = os.environ.get("ESAT_DB") or str(Path(__file__).resolve().parent.parent / "data" / "esat.duckdb")
DEMO_ESAT_ID = 1  # data.demo.DEMO_ESAT_ID: 620 workers over 2 Caf

st.title("Travailleurs")
with duckdb.connect(DB, read_only=True) as con:
    workers = con.execute(
        "SELECT caf_code, allocataire, last_name, first_name, birth_date, rate_esat, rate_mo, "
        "double_activity, status FROM worker WHERE esat_id = ? ORDER BY last_name, first_name",
        [DEMO_ESAT_ID],
    ).df()
st.dataframe(workers)
