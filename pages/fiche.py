"""Fiche travailleur: identity, k / N, justificatifs of the last 2 years, start or skip."""

import streamlit as st

from services import declarations, partner
from services.clock import today
from ui import resources
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()

worker_id = state.current_worker()
if worker_id is None:
    st.switch_page("pages/travailleurs.py")
kind = declarations.kinds()[state.kind]
account = state.account
on = today(settings)
# Read once per visit of the fiche (its reruns reuse them), again on each new visit.
worker = state.remember_on_screen(
    ("worker", account.id, worker_id), lambda: partner.get_worker(store, account, worker_id)
)

st.title("Fiche travailleur")
st.caption(f"{kind.title} — travailleur {state.index + 1} / {len(state.selected)}")
st.progress((state.index + 1) / len(state.selected))

with st.container(border=True, horizontal=True):  # one block, where columns add one per column
    st.text_input("Nom", worker.last_name, disabled=True)
    st.text_input("Prénom", worker.first_name, disabled=True)
    st.text_input("Numéro d'allocataire", worker.allocataire, disabled=True)
    st.text_input("Date de naissance", f"{worker.birth_date:%d/%m/%Y}", disabled=True)

st.subheader("Justificatifs des deux dernières années")
history = state.remember(("history", worker_id), lambda: partner.history(store, account, worker_id, on))
if not history:
    st.info(
        "Aucune déclaration n'a été transmise pour ce travailleur ces deux dernières années.",
        icon=":material/info:",
    )
else:
    titles = {f.id: f.title for f in declarations.forms().values()}
    items = {h.declaration_id: h for h in history}
    picked = st.selectbox(
        "Déclaration",
        options=list(items),
        format_func=lambda i: (
            f"{titles.get(items[i].form_id, items[i].form_id)} — reçue le "
            f"{items[i].received_at:%d/%m/%Y} — n° {items[i].receipt_number}"
        ),
    )
    st.download_button(
        "Télécharger le justificatif",
        data=lambda: declarations.receipt_pdf(store, settings, state.account, picked),
        file_name=f"{items[picked].receipt_number}.pdf",
        mime="application/pdf",
        icon=":material/download:",
        on_click="ignore",
    )

st.divider()
form = declarations.forms().get(state.kind)  # None for a question tree
first = (
    state.remember_on_screen(
        ("existing", account.id, form.id, worker_id, on),
        lambda: declarations.existing(store, account, form, worker_id, on),
    )
    if form
    else None
)
if first is not None:
    st.warning(
        f"Un {kind.title.lower()} a déjà été transmis pour ce travailleur pour cette campagne : "
        f"n° {first.receipt_number}, reçu le {first.received_at:%d/%m/%Y à %H:%M}. "
        "Son justificatif est dans la liste ci-dessus.",
        icon=":material/warning:",
    )
elif st.button(f"Déclarer : {kind.title}", type="primary", icon=":material/edit_document:"):
    state.draft()
    st.switch_page("pages/declaration.py")

if st.button("Passer au travailleur suivant", type="tertiary", icon=":material/skip_next:"):
    if not state.advance():
        state.flash = "La saisie est terminée pour les travailleurs sélectionnés."
        st.switch_page("pages/travailleurs.py")
    st.rerun()
if st.button("Retour à Mes travailleurs", type="tertiary", icon=":material/arrow_back:"):
    st.switch_page("pages/travailleurs.py")
