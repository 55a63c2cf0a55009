"""Export buttons (CSV for French Excel, XLSX) built by services/exports.py, audited."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.store import Store
from services import audit, exports
from services.accounts import Account


def _audited(store: Store, account: Account, name: str, build):  # type: ignore[no-untyped-def]
    def data() -> bytes:
        with store.transaction() as tx:
            audit.record(tx, account.id, "export", name)
        return build()

    return data


def export_buttons(frame: pd.DataFrame, name: str, store: Store, account: Account, key: str) -> None:
    """Two download buttons; the files are built (and the export audited) only when clicked."""
    csv_col, xlsx_col, _ = st.columns([1, 1, 3])
    csv_col.download_button(
        "Exporter (CSV)",
        data=_audited(store, account, f"{name}.csv", lambda: exports.to_csv(frame)),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{key}_csv",
        on_click="ignore",
    )
    xlsx_col.download_button(
        "Exporter (XLSX)",
        data=_audited(store, account, f"{name}.xlsx", lambda: exports.to_xlsx(frame)),
        file_name=f"{name}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        key=f"{key}_xlsx",
        on_click="ignore",
    )
