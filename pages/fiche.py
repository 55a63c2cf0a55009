"""Fiche travailleur: identity, k / N, justificatifs of the last 2 years (rectifiable), start or skip."""

import streamlit as st

from services import declarations, justificatifs, partner
from services.clock import today
from ui import batch, resources, wizard
from ui.navigation import go
from ui.state import Draft, session

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


def label(item: partner.HistoryItem) -> str:
    """The history line: title, date received, number, then "Rectificatif" / "rectifiée le …"."""
    title = declarations.forms()[item.form_id].title if item.form_id in declarations.forms() else item.form_id
    text = f"{title} — reçue le {item.received_at:%d/%m/%Y} — n° {item.receipt_number}"
    if item.replaces_id is not None:
        text += " — Rectificatif"
    if item.superseded_at is not None:
        text += f" — rectifiée le {item.superseded_at:%d/%m/%Y}"
    return text


def kind_of(form_id: str) -> declarations.Kind | None:
    """The type of the choice pop-up a form belongs to (itself, or the questions leading to it)."""
    return next(
        (
            k
            for k in declarations.kinds().values()
            if k.id == form_id or (k.tree and form_id in k.tree.forms())
        ),
        None,
    )


def correction_refusals(item: partner.HistoryItem) -> list[str]:
    """Why this declaration cannot be rectified from here (empty: it can): the rules first (already
    rectified, campaign closed, date of effect too old), then the type of the batch in progress."""
    refused = declarations.correction_refusals(store, settings, account, item.declaration_id)
    other = kind_of(item.form_id)
    if not refused and (other is None or other.id != kind.id):
        refused = [
            "Pour rectifier cette déclaration, terminez ou abandonnez d'abord la saisie en cours, puis "
            f"choisissez « {other.title if other else item.form_id} » pour ce travailleur."
        ]
    return refused


st.header("Justificatifs des deux dernières années")
history = state.remember(("history", worker_id), lambda: partner.history(store, account, worker_id, on))
if not history:
    st.info(
        "Aucune déclaration n'a été transmise pour ce travailleur ces deux dernières années.",
        icon=":material/info:",
    )
else:
    items = {h.declaration_id: h for h in history}
    picked = st.selectbox("Déclaration", options=list(items), format_func=lambda i: label(items[i]))
    st.download_button(
        "Télécharger le justificatif",
        data=lambda: justificatifs.receipt_pdf(store, settings, state.account, picked),
        file_name=f"{items[picked].receipt_number}.pdf",
        mime="application/pdf",
        icon=":material/download:",
        on_click="ignore",
    )
    st.download_button(
        "Version accessible (HTML)",
        data=lambda: justificatifs.receipt_html(store, settings, state.account, picked),
        file_name=f"{items[picked].receipt_number}.html",
        mime="text/html",
        icon=":material/accessibility_new:",
        type="secondary",
        on_click="ignore",
        help="Le même justificatif en page web, lisible par les lecteurs d'écran",
    )
    refused = state.remember_on_screen(
        ("correction", account.id, picked, on), lambda: correction_refusals(items[picked])
    )
    if refused:
        st.info(" ".join(refused), icon=":material/info:")
    elif st.button(
        "Rectifier", icon=":material/edit_note:", help="Corriger cette déclaration par un rectificatif"
    ):
        original = declarations.get(store, account, picked)
        form = declarations.forms()[original.form_id]
        state.drafts[worker_id] = Draft(
            worker_id,
            state.kind,
            form_id=form.id,
            raw=wizard.prefill(form, original.values),
            replaces=original.id,
            replaces_number=original.receipt_number,
        )
        st.switch_page("pages/declaration.py")

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
        "Son justificatif est dans la liste ci-dessus : pour le corriger, choisissez-le et cliquez sur "
        "« Rectifier ».",
        icon=":material/warning:",
    )
else:

    def _declare(worker_id: int) -> None:
        if state.current_worker() != worker_id:  # the batch moved on meanwhile (another tab)
            return
        if worker_id in state.drafts and state.drafts[worker_id].replaces is not None:
            del state.drafts[worker_id]  # a rectificatif left unfinished: a new declaration instead
        state.draft()
        go("pages/declaration.py")

    st.button(
        f"Déclarer : {kind.title}",
        type="primary",
        icon=":material/edit_document:",
        on_click=_declare,
        args=(worker_id,),
    )

if st.button("Passer au travailleur suivant", type="tertiary", icon=":material/skip_next:"):
    if not state.skip():
        batch.end(state, store)
        st.switch_page("pages/travailleurs.py")
    st.rerun()
st.button(
    "Retour à Mes travailleurs",
    type="tertiary",
    icon=":material/arrow_back:",
    on_click=go,
    args=("pages/travailleurs.py",),
)
