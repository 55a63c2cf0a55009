"""Espace Caf: the entry point of Caf agents (and reviewers)."""

import streamlit as st

from ui.state import session
from ui.text import literal

state = session()
st.title("Espace Caf")
st.write(f"Connecté(e) : {literal(state.account.display_name)}")
st.info(
    "Le suivi de campagne, la corbeille des déclarations et les exports des agents de la Caf "
    "arrivent dans une prochaine version de l'Espace ESAT.",
    icon=":material/construction:",
)
