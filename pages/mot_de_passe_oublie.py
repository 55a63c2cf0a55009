"""Mot de passe oublié: a single-use link valid 30 minutes, sent to the account's address.

The answer is the same, and takes the same time, whether the address has an account or not
(AUTH-03): nothing on this screen tells who has an account.
"""

import streamlit as st

from services import accounts
from ui import resources
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()

SENT = (
    "Si un compte actif correspond à cette adresse, un courriel vient de lui être envoyé. Il contient "
    "un lien pour choisir un nouveau mot de passe, valable 30 minutes et une seule fois. Pensez à "
    "regarder dans les courriels indésirables."
)

st.title("Mot de passe oublié")
st.write(
    "Saisissez l'adresse e-mail qui vous sert d'identifiant : nous vous enverrons un lien pour choisir un nouveau mot de passe."
)
with st.form("password_forgotten", border=True):
    email = st.text_input("Identifiant (adresse e-mail)", max_chars=254, key="forgot_email")
    sent = st.form_submit_button("Recevoir un lien", type="primary")
if sent:
    if (email or "").strip():
        accounts.request_reset(store, settings, email)
        st.success(SENT, icon=":material/mark_email_read:")
    else:
        st.error("Saisissez votre adresse e-mail.", icon=":material/error:")
st.page_link("pages/connexion.py", label="Retour à la connexion", icon=":material/arrow_back:")
