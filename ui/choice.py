"""The pop-up that chooses the declaration type for the whole selection."""

from __future__ import annotations

from datetime import date

import streamlit as st

from rules import calendar
from services import declarations
from ui.navigation import close_dialog, go
from ui.state import Session


def options(on: date) -> dict[str, str]:
    """Declaration types offered on ``on``: id → title (never an entry that leads nowhere)."""
    return {k.id: k.title for k in declarations.open_kinds(on)}


def confirm(state: Session, on: date) -> None:
    """Confirmer's callback: the batch starts with the type picked, on the fiche."""
    kind = st.session_state.get("choice_form")
    if kind not in options(on) or state.busy:  # closed meanwhile, or a batch opened elsewhere
        close_dialog(state)
        return
    state.start(kind, with_questions=declarations.kinds()[kind].tree is not None)
    state.dialog = None
    go("pages/fiche.py")


def choice_dialog(state: Session, on: date) -> None:
    @st.dialog("Choisir la déclaration", on_dismiss=lambda: setattr(state, "dialog", None))
    def _show() -> None:
        offered = options(on)
        n = len(state.selected)
        if not offered:
            st.info(
                "Aucune déclaration n'est ouverte à cette date. Le certificat d'emploi se déclare du "
                f"01/12/{calendar.campaign_of(on)} au {calendar.window_end(calendar.campaign_of(on)):%d/%m/%Y}.",
                icon=":material/info:",
            )
            st.button("Fermer", on_click=close_dialog, args=(state,))
            return
        st.write(
            f"Cette déclaration s'appliquera aux {n} travailleurs sélectionnés."
            if n > 1
            else "Déclaration pour le travailleur sélectionné."
        )
        st.radio("Type de déclaration", list(offered), format_func=offered.get, key="choice_form")
        cancel, ok = st.columns(2)
        cancel.button("Annuler", on_click=close_dialog, args=(state,))
        ok.button("Confirmer", type="primary", on_click=confirm, args=(state, on))

    _show()
