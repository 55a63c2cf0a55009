"""Nouveau mot de passe: the page of the link sent by « Mot de passe oublié ? ».

The token is taken out of the address bar at the first run and kept in this session only.
"""

import streamlit as st

from services import accounts, password_policy
from ui import resources
from ui.layout import field_error
from ui.state import reset, session

state = session()
store = resources.store()
settings = resources.settings()

token = st.query_params.get("jeton")
if token:
    state.reset_token = str(token)[:200]
    st.query_params.clear()  # the token leaves the URL (history, screenshots)

st.title("Choisir un nouveau mot de passe")
if not state.reset_token or not accounts.reset_token_valid(store, state.reset_token):
    st.error(accounts.RESET_INVALID, icon=":material/error:")
    st.page_link("pages/mot_de_passe_oublie.py", label="Demander un nouveau lien", icon=":material/key:")
    st.stop()

errors = state.field_errors
st.write(
    f"Au moins {password_policy.MIN_LENGTH} caractères, sans règle de composition. Les mots de "
    "passe trop courants ou qui contiennent votre identifiant sont refusés."
)
with st.form("password_reset", border=True):
    new = st.text_input("Nouveau mot de passe", type="password", max_chars=1024, key="reset_new")
    field_error(errors, "new")
    confirm = st.text_input(
        "Confirmez le nouveau mot de passe", type="password", max_chars=1024, key="reset_confirm"
    )
    field_error(errors, "confirm")
    sent = st.form_submit_button("Enregistrer le mot de passe", type="primary")
if sent:
    try:
        accounts.reset_password(store, settings, state.reset_token, new or "", confirm or "")
    except accounts.ResetInvalid:
        state.reset_token = None
        st.rerun()
    except accounts.PasswordRefused as exc:
        state.field_errors = exc.fields
        st.rerun()
    reset()
    session().flash = "Votre mot de passe a été changé. Connectez-vous avec votre nouveau mot de passe."
    st.switch_page("pages/connexion.py")
