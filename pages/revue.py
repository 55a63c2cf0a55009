"""Revue des formulaires: the reviewers' space (next release)."""

import streamlit as st

from ui.state import session
from ui.text import literal

state = session()
st.title("Revue des formulaires")
st.write(f"Connecté(e) : {literal(state.account.display_name)}")
st.info(
    "La revue des formulaires (schémas, règles, essais et versions) arrive dans une prochaine "
    "version de l'Espace ESAT.",
    icon=":material/construction:",
)
