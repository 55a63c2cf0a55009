"""Shown to an ESAT manager whose partner contracts do not give access to the service."""

import streamlit as st

from services.clock import today
from ui import resources
from ui.state import session

state = session()
missing = state.missing_contracts(resources.store(), today(resources.settings()))

st.title("Accès à l'Espace ESAT")
st.warning(
    "Votre compte est bien reconnu, mais votre établissement n'a pas encore accès au service ESAT.",
    icon=":material/lock:",
)
st.write("Pour ouvrir l'accès, ces documents doivent être signés avec la Caf et en cours de validité :")
for label in missing:
    st.markdown(f"- {label}")
st.write(
    "Rapprochez-vous de votre Caf de rattachement. Si votre établissement a déjà une convention, "
    "seul le bulletin d'adhésion au service ESAT est à signer."
)
st.page_link("pages/guide.py", label="Consulter le guide utilisateur", icon=":material/menu_book:")
