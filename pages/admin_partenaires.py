"""Partenaires (Caf administrators): the ESATs of the Caf, their fonctions and their three contracts.

Nothing is deleted: an ESAT is deactivated, a contract is ended. Every change is audited by
services/registry.py, which also checks that the ESAT belongs to the administrator's Caf.
"""

from datetime import date

import pandas as pd
import streamlit as st

from services import registry
from services.accounts import CONTRACT_LABELS
from services.clock import today
from ui import resources
from ui.layout import field_error
from ui.state import session
from ui.text import literal

state = session()
store = resources.store()
settings = resources.settings()
admin = state.account
on = today(settings)
errors = state.field_errors


def document(kind: str) -> str:
    """« La convention d'accès… »: the label of a contract kind, with its capital."""
    label = CONTRACT_LABELS[kind]
    return label[0].upper() + label[1:]


st.title("Partenaires")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")

partners = registry.list_partners(store, admin, on)
if partners:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Raison sociale": p.legal_name,
                    "SIRET": p.siret,
                    "Ville": p.city,
                    "Actif": "Oui" if p.active else "Non",
                    "Accès au service ESAT": (
                        "Fermé (désactivé)"
                        if not p.active
                        else "Ouvert"
                        if p.access_ok
                        else "Documents manquants"
                    ),
                }
                for p in partners
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.info("Aucun partenaire n'est encore enregistré pour votre Caf.", icon=":material/info:")

# The partner being edited is read first: an id of another Caf is refused there (and audited).
partner = registry.get_partner(store, admin, state.admin_esat) if state.admin_esat else None
names = {p.id: f"{p.legal_name} — SIRET {p.siret}" for p in partners}
choice = st.selectbox(
    "Partenaire à consulter ou modifier",
    options=[0, *names],
    format_func=lambda i: names.get(i, "Nouveau partenaire"),
    # No key: when the page changes the partner (one just created), the widget follows its index.
    index=[0, *names].index(state.admin_esat) if state.admin_esat in names else 0,
)
if (choice or None) != state.admin_esat:
    state.admin_esat, state.field_errors = choice or None, {}
    chosen = registry.get_partner(store, admin, choice) if choice else None
    state.admin_fonctions = max(1, len(chosen.fonctions)) if chosen else 1
    st.rerun()
key = f"p{state.admin_esat or 0}"  # the widgets of each partner keep their own values

st.header(f"Modifier : {literal(partner.legal_name)}" if partner else "Nouveau partenaire")
with st.form(f"partner_{key}", border=True):
    legal_name = st.text_input("Raison sociale", value=partner.legal_name if partner else "", max_chars=200)
    field_error(errors, "legal_name")
    siret = st.text_input("SIRET (14 chiffres)", value=partner.siret if partner else "", max_chars=20)
    field_error(errors, "siret")
    street = st.text_input("Adresse", value=partner.street if partner else "", max_chars=200)
    field_error(errors, "street")
    left, right = st.columns([1, 3])
    postcode = left.text_input("Code postal", value=partner.postcode if partner else "", max_chars=5)
    city = right.text_input("Ville", value=partner.city if partner else "", max_chars=100)
    field_error(errors, "postcode")
    field_error(errors, "city")
    st.markdown("**Fonctions** (établissements) : la première est celle que l'Accueil de l'ESAT affiche.")
    field_error(errors, "fonctions")
    fonctions = []
    known = partner.fonctions if partner else []
    for i in range(state.admin_fonctions):
        old = known[i] if i < len(known) else None
        with st.container(border=True):
            name = st.text_input(f"Fonction {i + 1} : nom", value=old.name if old else "", max_chars=200)
            field_error(errors, f"fonctions.{i + 1}.name")
            finess = st.text_input(
                f"Fonction {i + 1} : FINESS (facultatif)",
                value=(old.finess or "") if old else "",
                max_chars=9,
            )
            field_error(errors, f"fonctions.{i + 1}.finess")
            f_street = st.text_input(
                f"Fonction {i + 1} : adresse", value=old.street if old else "", max_chars=200
            )
            field_error(errors, f"fonctions.{i + 1}.street")
            a, b = st.columns([1, 3])
            f_postcode = a.text_input(
                f"Fonction {i + 1} : code postal", value=old.postcode if old else "", max_chars=5
            )
            f_city = b.text_input(f"Fonction {i + 1} : ville", value=old.city if old else "", max_chars=100)
            field_error(errors, f"fonctions.{i + 1}.postcode")
            field_error(errors, f"fonctions.{i + 1}.city")
        if name or f_street or f_postcode or f_city or finess or i == 0:
            fonctions.append(
                registry.Fonction(
                    i + 1, name or "", finess or None, f_street or "", f_postcode or "", f_city or ""
                )
            )
    saved = st.form_submit_button("Enregistrer le partenaire", type="primary")
if st.button("Ajouter une fonction", icon=":material/add:"):
    state.admin_fonctions += 1
    st.rerun()

if saved:
    fields = {"legal_name": legal_name, "siret": siret, "street": street, "postcode": postcode, "city": city}
    try:
        if partner:
            registry.update_partner(store, admin, partner.id, **fields, fonctions=fonctions)
            state.flash = "Le partenaire a été modifié."
        else:
            state.admin_esat = registry.create_partner(store, admin, **fields, fonctions=fonctions)
            state.flash = (
                "Le partenaire a été enregistré. Ajoutez maintenant ses trois documents contractuels."
            )
        state.field_errors = {}
    except registry.Refused as exc:
        state.field_errors = exc.errors
    st.rerun()

if partner is None:
    st.stop()

if partner.active:
    if st.button("Désactiver ce partenaire", icon=":material/block:"):
        registry.set_active(store, admin, partner.id, False)
        state.flash = "Le partenaire est désactivé : ses comptes n'ont plus accès au service ESAT."
        st.rerun()
elif st.button("Réactiver ce partenaire", icon=":material/restart_alt:"):
    registry.set_active(store, admin, partner.id, True)
    state.flash = "Le partenaire est réactivé."
    st.rerun()

st.header("Documents contractuels")
st.write(
    "L'accès au service ESAT demande, le jour même, une convention d'accès à Mon Compte Partenaire, "
    "un contrat de services et un bulletin d'adhésion au service ESAT en cours de validité."
)


def current(c: registry.Contract) -> bool:
    return c.valid_from <= on and (c.valid_to is None or c.valid_to >= on)


valid = {c.kind for c in partner.contracts if current(c)}
lacking = [CONTRACT_LABELS[kind] for kind in CONTRACT_LABELS if kind not in valid]
if not partner.active:
    st.warning(
        "Accès au service ESAT aujourd'hui : fermé, le partenaire est désactivé.", icon=":material/lock:"
    )
elif lacking:
    st.warning(
        f"Accès au service ESAT aujourd'hui : fermé, il manque {', '.join(lacking)}.", icon=":material/lock:"
    )
else:
    st.success("Accès au service ESAT aujourd'hui : ouvert.", icon=":material/lock_open:")
# Always drawn, even empty: the forms below keep their place when the first document arrives.
st.dataframe(
    pd.DataFrame(
        [
            {
                "Document": document(c.kind),
                "Du": f"{c.valid_from:%d/%m/%Y}",
                "Au": f"{c.valid_to:%d/%m/%Y}" if c.valid_to else "sans date de fin",
                "En cours": "Oui" if current(c) else "Non",
            }
            for c in partner.contracts
        ],
        columns=["Document", "Du", "Au", "En cours"],
    ),
    hide_index=True,
    width="stretch",
)

with st.form(f"contract_{key}", border=True):
    st.markdown("**Enregistrer un document**")
    kind = st.selectbox("Document", options=list(CONTRACT_LABELS), format_func=lambda k: document(k))
    start_col, end_col = st.columns(2)
    valid_from = start_col.date_input(
        "Début de validité", value=on, format="DD/MM/YYYY", min_value=date(2000, 1, 1)
    )
    valid_to = end_col.date_input(
        "Fin de validité (facultative)", value=None, format="DD/MM/YYYY", min_value=date(2000, 1, 1)
    )
    field_error(errors, "valid_from")
    field_error(errors, "valid_to")
    field_error(errors, "kind")
    added = st.form_submit_button("Enregistrer le document")
if added:
    try:
        registry.add_contract(store, admin, partner.id, kind, valid_from, valid_to)
        state.flash, state.field_errors = "Le document a été enregistré.", {}
    except registry.Refused as exc:
        state.field_errors = exc.errors
    st.rerun()

open_ended = [c for c in partner.contracts if c.valid_to is None or c.valid_to >= on]
if open_ended:
    with st.form(f"contract_end_{key}", border=True):
        st.markdown("**Mettre fin à un document**")
        labels = {i: f"{document(c.kind)} du {c.valid_from:%d/%m/%Y}" for i, c in enumerate(open_ended)}
        which = st.selectbox("Document à terminer", options=list(labels), format_func=labels.get)
        end = st.date_input(
            "Dernier jour de validité", value=on, format="DD/MM/YYYY", min_value=date(2000, 1, 1)
        )
        field_error(errors, "end")
        ended = st.form_submit_button("Mettre fin au document")
    if ended:
        contract = open_ended[which]
        try:
            registry.end_contract(store, admin, partner.id, contract.kind, contract.valid_from, end)
            state.flash, state.field_errors = "Le document a été terminé.", {}
        except registry.Refused as exc:  # its messages are about the end date of that document
            state.field_errors = {"end": " ".join(exc.errors.values())}
        st.rerun()
