"""The pop-up that chooses the declaration type for the whole selection."""

from __future__ import annotations

from datetime import date

import streamlit as st

from rules import calendar
from services import declarations
from ui.state import Session


def options(on: date) -> dict[str, str]:
    """Declaration types offered on ``on``: id → title (never an entry that leads nowhere)."""
    return {k.id: k.title for k in declarations.open_kinds(on)}


def confirm(state: Session, kind: str) -> None:
    state.start(kind, with_questions=declarations.kinds()[kind].tree is not None)
    state.dialog = None
    st.switch_page("pages/fiche.py")


def _dismiss(state: Session) -> None:
    state.dialog = None


def choice_dialog(state: Session, on: date) -> None:
    @st.dialog("Choisir la déclaration", on_dismiss=lambda: _dismiss(state))
    def _show() -> None:
        offered = options(on)
        n = len(state.selected)
        if not offered:
            st.info(
                "Aucune déclaration n'est ouverte à cette date. Le certificat d'emploi se déclare du "
                f"01/12/{calendar.campaign_of(on)} au {calendar.window_end(calendar.campaign_of(on)):%d/%m/%Y}.",
                icon=":material/info:",
            )
            if st.button("Fermer"):
                state.dialog = None
                st.rerun()
            return
        st.write(
            f"Cette déclaration s'appliquera aux {n} travailleurs sélectionnés."
            if n > 1
            else "Déclaration pour le travailleur sélectionné."
        )
        picked = st.radio("Type de déclaration", list(offered), format_func=offered.get, key="choice_form")
        cancel, ok = st.columns(2)
        if cancel.button("Annuler"):
            state.dialog = None
            st.rerun()
        if ok.button("Confirmer", type="primary"):
            confirm(state, picked)

    _show()
