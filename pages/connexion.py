"""Bienvenue: login with identifiant and mot de passe."""

import streamlit as st

from services import accounts
from services.clock import now_utc
from ui import resources
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()

st.title("Bienvenue sur Mon Compte Partenaire")
st.write(
    "L'Espace ESAT permet aux établissements et services d'aide par le travail de transmettre "
    "à la Caf les certificats d'emploi et les changements de situation de leurs travailleurs."
)
notice = state.pop_flash()
if notice:
    st.info(notice, icon=":material/info:")

with st.form("login", border=True):
    st.header("Connexion")
    login = st.text_input("Identifiant", placeholder="adresse e-mail", max_chars=254, key="login_id")
    password = st.text_input("Mot de passe", type="password", max_chars=1024, key="login_pw")
    submitted = st.form_submit_button("Se connecter", type="primary")

if submitted:
    account = accounts.authenticate(store, settings, login or "", password or "", st.context.ip_address)
    if account is None:
        st.error(accounts.LOGIN_FAILED, icon=":material/error:")
    else:
        state.account = account
        state.login_at = state.seen_at = state.session_checked_at = now_utc(settings)
        try:
            state.cgu_ok = not accounts.pending_cgu(store, account)
        except accounts.CguUnavailable:
            state.cgu_ok = False
        st.rerun()

st.page_link("pages/mot_de_passe_oublie.py", label="Mot de passe oublié ?", icon=":material/key:")
st.page_link("pages/verification.py", label="Vérifier un justificatif", icon=":material/verified:")
st.caption(
    "Pour obtenir un accès, contactez votre Caf en indiquant la raison sociale, l'adresse et le "
    "numéro SIRET de votre établissement."
)
