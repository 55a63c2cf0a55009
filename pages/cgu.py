"""Conditions générales d'utilisation: MCP and Espace ESAT, both to accept (versioned)."""

import streamlit as st

from services import accounts
from ui import resources
from ui.state import reset, session

state = session()
store = resources.store()
settings = resources.settings()


def leave(message: str) -> None:
    reset()
    session().flash = message
    st.rerun()


st.title("Conditions générales d'utilisation")
try:
    texts = accounts.pending_cgu(store, state.account)
except accounts.CguUnavailable:
    st.info(
        "Les conditions générales d'utilisation ne peuvent pas être affichées pour le moment. "
        "Réessayez plus tard ; l'accès à l'Espace ESAT reste fermé tant qu'elles ne sont pas acceptées.",
        icon=":material/info:",
    )
    if st.button("Quitter"):
        leave("Vous avez quitté l'Espace ESAT.")
    st.stop()

if not texts:
    state.cgu_ok = True
    st.rerun()

st.write("Avant d'accéder à l'Espace ESAT, lisez et acceptez les conditions suivantes.")
agreed = []
for text in texts:
    with st.container(border=True):
        st.header(f"{text.title} (version {text.version})")
        with st.container(height=240):
            st.markdown(text.body)  # published by the Caf, not user data
        agreed.append(
            st.checkbox(
                f"J'ai lu et j'accepte : {text.title} (version {text.version})",
                key=f"cgu_{text.scope}_{text.version}",
            )
        )

left, middle, right = st.columns([1, 1, 4])
if left.button("Continuer", type="primary"):
    if all(agreed):
        try:
            accounts.accept_cgu(store, settings, state.account, texts)
        except Exception:
            st.info(
                "Votre acceptation n'a pas pu être enregistrée. Réessayez dans quelques instants.",
                icon=":material/info:",
            )
            st.stop()
        state.cgu_ok = True
        st.rerun()
    st.error("Cochez chacune des conditions pour continuer, ou choisissez « Refuser ».")
if middle.button("Refuser"):
    leave("Sans acceptation des conditions générales, l'Espace ESAT n'est pas accessible.")
if right.button("Quitter"):
    leave("Vous avez quitté l'Espace ESAT.")
