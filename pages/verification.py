"""Vérifier un justificatif: anyone, without an account, types the receipt number and the
verification code printed on a justificatif and learns whether the Caf received it, its type and
its date of filing. Nothing personal is shown (services/verification.py, docs/verification.md).

The check runs on the server against the stored record; this page only draws the answer. Nothing
typed goes into the address (a form, no query parameters).
"""

import streamlit as st

from services import verification
from ui import resources
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()

st.title("Vérifier un justificatif")
st.write(
    "Un justificatif de dépôt de l'Espace ESAT porte un numéro de reçu et un code de vérification. "
    "Saisissez-les pour savoir si la Caf a bien reçu la déclaration, de quel type elle est et quand "
    "elle a été déposée. Aucune donnée personnelle n'est affichée."
)

with st.form("verification", border=True):
    receipt = st.text_input(
        "Numéro de reçu",
        placeholder="ESAT-2026-00000042",
        max_chars=40,
        key="verif_receipt",
        help="En haut du justificatif, dans l'encadré « Numéro de reçu » ; il figure aussi dans "
        "l'accusé de réception envoyé par courriel.",
    )
    receipt_error = st.empty()
    code = st.text_input(
        "Code de vérification",
        placeholder="1A2B-3C4D-5E6F",
        max_chars=40,
        key="verif_code",
        help="En bas du justificatif, après « Code de vérification » : 12 caractères, chiffres et "
        "lettres A à F. Les tirets et les majuscules sont facultatifs.",
    )
    code_error = st.empty()
    submitted = st.form_submit_button("Vérifier", type="primary")

if submitted:
    # A logged-in Caf agent is limited and audited as its account (a Caf's agents share an address).
    agent = state.account.id if state.account is not None and state.account.role == "agent" else None
    result = verification.verify(
        store, settings, receipt or "", code or "", st.context.ip_address, account_id=agent
    )
    if "receipt" in result.errors:
        receipt_error.error(result.errors["receipt"], icon=":material/error:")
    if "code" in result.errors:
        code_error.error(result.errors["code"], icon=":material/error:")
    if result.verified and result.superseded_at is not None:
        st.warning(result.message, icon=":material/history:")
    elif result.verified:
        st.success(result.message, icon=":material/verified:")
    elif result.outcome != "invalid":
        st.error(result.message, icon=":material/error:")

if state.account is None:
    st.page_link("pages/connexion.py", label="Retour à la connexion", icon=":material/arrow_back:")
