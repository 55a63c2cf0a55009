"""Clicks that change the screen in one script run (docs/benchmarks.md, P7).

A button whose code runs in the page's body and then calls ``st.rerun()`` or
``st.switch_page`` costs two script runs: the run that sees the click, then the run that draws
the result (``st.switch_page`` also sleeps 10 ms). A callback (``on_click``) runs before the
script, so the run the click starts draws the result itself:

- a change of state: the callback changes ``Session``, nothing else is needed;
- a change of page: :func:`go`, called from the callback, names the page this same run shows.
  app.py checks the session and lists only the account's pages as on any run, then
  ``st.navigation`` resolves the page asked for (a page the account may not see falls back to its
  first page, as an address typed by hand does). The browser learns the page, and updates its
  address, from that run's navigation message. Streamlit has no public call for this: ``go`` sets
  the page the run resolves (``PagesManager.set_script_intent``), as Streamlit does for the page a
  rerun asks for; tests/test_rerun_cost.py fails if that stops working.

A widget drawn by a fragment (every ``st.dialog``) reruns only that fragment when clicked in the
browser: app.py does not run, so :func:`go` falls back on ``st.switch_page`` and :func:`redraw`
asks for the app's run. The first of the two runs is then the callback alone.

Callbacks run before app.py's session checks (SESS-01): they change this session's state only,
never the store. A session that has expired meanwhile is reset by app.py before anything is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_run_context import RunLocation, ThreadState

from ui import resources

if TYPE_CHECKING:
    from ui.state import Session


def _app_runs() -> bool:
    """In a widget callback of a run of the whole app (not of a fragment only)."""
    ctx = get_script_run_ctx()
    return (
        ctx is not None
        and ThreadState.get().run_location == RunLocation.CALLBACK
        and not ctx.fragment_ids_this_run
    )


def go(page: str) -> None:
    """Show ``page`` (a path relative to app.py, as for ``st.switch_page``) from a callback."""
    ctx = get_script_run_ctx()
    target = resources.page_hash(page)
    if ctx is not None and target is not None and _app_runs():
        ctx.pages_manager.set_script_intent(target, "")
        return
    st.switch_page(page)  # from a fragment, or not a page of app.py (Streamlit's error)


def redraw() -> None:
    """From a callback that changed what the whole screen shows (a dialog closed): a click in a
    fragment asks for the app's run; a click that runs the app already needs nothing more."""
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:
        st.rerun()


def close_dialog(state: Session) -> None:
    """Callback of a dialog's Annuler or Fermer: the dialog closes, the screen under it is drawn."""
    state.dialog = None
    redraw()
