"""Process-wide resources: settings, the store (one DuckDB connection per process), the pages of
the navigation and the favicon. Nothing here holds per-user data (ST-07): personal data is read
per session (ui/state.py ``Session.remember``), never cached across sessions.

Each is built once per process rather than on every script run (docs/benchmarks.md, P1).
"""

from __future__ import annotations

import base64
import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.scriptrunner import get_script_run_ctx

from data.store import Store
from services.config import Settings, load_settings

# Every variable services.config.load_settings reads: the cached settings are rebuilt when one of
# them changes (tests change them between tests). tests/test_rerun_cost.py keeps the list complete.
SETTINGS_ENV = (
    "ESAT_DB",
    "ESAT_OUTBOX",
    "ESAT_SMTP_HOST",
    "ESAT_SMTP_PORT",
    "ESAT_MAIL_FROM",
    "ESAT_TODAY",
    "ESAT_DEMO_PASSWORD",
    "ESAT_SECRET",
    "ESAT_DEMO",
    "ESAT_BASE_URL",
)
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"

_settings: tuple[tuple[str | None, ...], Settings] | None = None
_stores: dict[str, Store] = {}
_pages: dict[tuple[Any, ...], StreamlitPage] = {}


def settings() -> Settings:
    """The settings from the environment, rebuilt only when an ``ESAT_*`` variable changed."""
    global _settings
    key = tuple(map(os.environ.get, SETTINGS_ENV))
    cached = _settings
    if cached is None or cached[0] != key:
        cached = _settings = (key, load_settings())
    return cached[1]


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def store() -> Store:
    """The shared store. It holds no per-user data in Python: every query is scoped by the caller."""
    url = settings().db
    found = _stores.get(url)
    if found is None:  # st.cache_resource opens it once (under its lock); later runs skip its lookup
        found = _stores[url] = _store(url)
    return found


@cache
def favicon() -> str:
    """The favicon as a data: URL. Streamlit passes a URL through untouched, where a file path is
    opened, decoded and registered again on every run. Local, so no third-party request (PRIV-07)."""
    return "data:image/png;base64," + base64.b64encode(FAVICON.read_bytes()).decode("ascii")


def page(source: str, **options: Any) -> StreamlitPage:
    """``st.Page(source, **options)``, built once per process, and a fresh copy for each run.

    Building a page resolves its file and checks its icon on every call (``st.Page``). A page
    object also carries per-run state that ``st.navigation`` and ``Page.run`` change (which page
    may be run, which one is the default), so sessions never share one: each run gets its own
    shallow copy of the page built once (its other attributes are immutable).
    """
    ctx = get_script_run_ctx()
    if ctx is None:  # bare mode: nothing to share
        return st.Page(source, **options)
    key = (str(ctx.pages_manager.main_script_parent), source, *sorted(options.items()))
    built = _pages.get(key)
    if built is None:
        built = _pages[key] = st.Page(source, **options)
    return copy.copy(built)


def page_hash(source: str) -> str | None:
    """The script hash of the page ``page`` built for ``source`` (None before it was built)."""
    ctx = get_script_run_ctx()
    parent = str(ctx.pages_manager.main_script_parent) if ctx else None
    return next((p._script_hash for key, p in _pages.items() if key[:2] == (parent, source)), None)
