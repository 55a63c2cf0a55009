"""Process-wide resources: settings and the store (one DuckDB connection per process)."""

from __future__ import annotations

import streamlit as st

from data.store import Store
from services.config import Settings, load_settings


def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def store() -> Store:
    """The shared store. It holds no per-user data in Python: every query is scoped by the caller."""
    return _store(settings().db)
