"""Export buttons (CSV for French Excel, XLSX) built by services/exports.py, audited."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.store import Store
from services import audit, exports
from services.accounts import Account


def _audited(store: Store, account: Account, name: str, build):  # type: ignore[no-untyped-def]
    def data() -> bytes:
        audit.log(store, account.id, "export", name)
        return build()

    return data


def export_buttons(frame: pd.DataFrame, name: str, store: Store, account: Account, key: str) -> None:
    """Two download buttons; the files are built (and the export audited) only when clicked."""
    formats = (
        ("csv", "text/csv", exports.to_csv),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", exports.to_xlsx),
    )
    for column, (ext, mime, build) in zip(st.columns([1, 1, 3]), formats, strict=False):
        column.download_button(
            f"Exporter ({ext.upper()})",
            data=_audited(store, account, f"{name}.{ext}", lambda build=build: build(frame)),
            file_name=f"{name}.{ext}",
            mime=mime,
            icon=":material/download:",
            key=f"{key}_{ext}",
            on_click="ignore",
        )
