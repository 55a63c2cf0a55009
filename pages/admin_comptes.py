"""Comptes (Caf administrators): ESAT managers, Caf agents, administrators and reviewers of the Caf.

A new account gets a provisional password by e-mail, to change at its first login. Accounts are
deactivated and reactivated, never deleted (services/account_admin.py checks the Caf and audits).
"""

import pandas as pd
import streamlit as st

from services import account_admin, registry
from services.clock import today
from ui import resources
from ui.layout import field_error
from ui.state import session
from ui.text import literal

state = session()
store = resources.store()
settings = resources.settings()
admin = state.account
errors = state.field_errors

st.title("Comptes")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")

rows = account_admin.list_accounts(store, admin)
st.dataframe(
    pd.DataFrame(
        [
            {
                "Identifiant": r.login,
                "Nom": r.display_name,
                "Rôle": account_admin.ROLE_LABELS.get(r.role, r.role),
                "ESAT": r.esat_name or "",
                "Actif": "Oui" if r.active else "Non",
                "Mot de passe": "provisoire" if r.must_change_password else "choisi",
                "Dernière connexion": f"{r.last_login_at:%d/%m/%Y %H:%M}" if r.last_login_at else "jamais",
            }
            for r in rows
        ],
        columns=["Identifiant", "Nom", "Rôle", "ESAT", "Actif", "Mot de passe", "Dernière connexion"],
    ),
    hide_index=True,
    width="stretch",
)

st.header("Créer un compte")
partners = {p.id: p.legal_name for p in registry.list_partners(store, admin, today(settings)) if p.active}
with st.form("account_new", border=True, clear_on_submit=False):
    email = st.text_input("Adresse e-mail (identifiant)", max_chars=254, key="acc_email")
    field_error(errors, "email")
    display_name = st.text_input("Nom et prénom", max_chars=100, key="acc_name")
    field_error(errors, "display_name")
    role = st.selectbox(
        "Rôle",
        options=list(account_admin.ROLE_LABELS),
        format_func=account_admin.ROLE_LABELS.get,
        key="acc_role",
    )
    field_error(errors, "role")
    esat_id = st.selectbox(
        "ESAT (pour un responsable d'ESAT)",
        options=[0, *partners],
        format_func=lambda i: partners.get(i, "—"),
        key="acc_esat",
    )
    field_error(errors, "esat_id")
    created = st.form_submit_button("Créer le compte", type="primary")
if created:
    try:
        account_admin.create_account(
            store,
            settings,
            admin,
            email=email or "",
            role=role,
            display_name=display_name or "",
            esat_id=esat_id or None,
        )
        state.flash = (
            f"Le compte {literal(account_admin.identifiant(email) or '')} est créé. Un mot de passe "
            "provisoire a été envoyé à son adresse e-mail ; il devra être changé à la première connexion."
        )
        state.field_errors = {}
    except account_admin.Refused as exc:
        state.field_errors = exc.errors
    except account_admin.MailNotSent as exc:  # the account exists; the password can be sent again
        state.flash, state.field_errors = str(exc), {}
    st.rerun()

st.header("Activer ou désactiver un compte")
others = {r.id: f"{r.login} — {'actif' if r.active else 'désactivé'}" for r in rows if r.id != admin.id}
if others:
    target = st.selectbox("Compte", options=list(others), format_func=others.get, key="acc_target")
    chosen = next(r for r in rows if r.id == target)
    left, right, _ = st.columns([1, 1, 2])
    try:
        if chosen.active and left.button("Désactiver", icon=":material/block:"):
            account_admin.set_active(store, settings, admin, chosen.id, False)
            state.flash = "Le compte est désactivé : ses sessions sont fermées."
            st.rerun()
        if not chosen.active and left.button("Réactiver", icon=":material/restart_alt:"):
            account_admin.set_active(store, settings, admin, chosen.id, True)
            state.flash = "Le compte est réactivé."
            st.rerun()
        if chosen.must_change_password and right.button(
            "Renvoyer un mot de passe provisoire", icon=":material/mail:"
        ):
            account_admin.resend_provisional(store, settings, admin, chosen.id)
            state.flash = "Un nouveau mot de passe provisoire a été envoyé."
            st.rerun()
    except account_admin.Refused as exc:
        st.error(" ".join(exc.errors.values()), icon=":material/error:")
    except account_admin.MailNotSent as exc:
        st.error(str(exc), icon=":material/error:")
