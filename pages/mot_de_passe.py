"""Mon mot de passe: the change asked at the first login (provisional password), and at any time."""

import dataclasses

import streamlit as st

from services import accounts, password_policy
from services.clock import now_utc
from ui import resources
from ui.layout import field_error
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()
account = state.account
errors = state.field_errors

st.title("Changer mon mot de passe")
if account.must_change_password:
    st.info(
        "Votre mot de passe est provisoire. Choisissez votre propre mot de passe pour accéder à l'Espace ESAT.",
        icon=":material/info:",
    )
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")
st.write(
    f"Au moins {password_policy.MIN_LENGTH} caractères, sans règle de composition : une phrase de "
    "plusieurs mots que vous êtes seul à connaître est un bon choix. Les mots de passe trop "
    "courants ou qui contiennent votre identifiant sont refusés."
)
with st.form("password_change", border=True):
    current = st.text_input("Mot de passe actuel", type="password", max_chars=1024, key="pw_current")
    field_error(errors, "current")
    new = st.text_input("Nouveau mot de passe", type="password", max_chars=1024, key="pw_new")
    field_error(errors, "new")
    confirm = st.text_input(
        "Confirmez le nouveau mot de passe", type="password", max_chars=1024, key="pw_confirm"
    )
    field_error(errors, "confirm")
    sent = st.form_submit_button("Enregistrer le mot de passe", type="primary")

if sent:
    try:
        changed_at = accounts.change_password(
            store, settings, account, current or "", new or "", confirm or ""
        )
    except accounts.PasswordRefused as exc:
        state.field_errors = exc.fields
        st.rerun()
    # This session stays open; every other session of the account ends (app.py).
    state.account = dataclasses.replace(account, must_change_password=False)
    state.login_at, state.session_checked_at = changed_at, now_utc(settings)
    state.field_errors = {}
    state.flash = "Votre mot de passe a été changé."
    st.rerun()
