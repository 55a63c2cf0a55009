"""Corbeille: every declaration received by the Caf, its detail, and its processing."""

from datetime import date

import streamlit as st

from forms import fmt
from services import backoffice, declarations, justificatifs
from ui import resources, wizard
from ui.export import export_buttons
from ui.state import session
from ui.text import literal

PAGE = 50
STATUSES = {"": "Tous les statuts", "a_traiter": "À traiter", "traitee": "Traitées"}

state = session()
store = resources.store()
settings = resources.settings()
agent = state.account
titles = backoffice.form_titles()

st.title("Corbeille des déclarations")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")

with st.form("inbox_filter", border=True):
    kind_col, esat_col, status_col = st.columns(3)
    form_id = kind_col.selectbox(
        "Type", options=["", *titles], format_func=lambda k: titles.get(k, "Tous les types")
    )
    esats = backoffice.esats(store, agent)
    esat_id = esat_col.selectbox(
        "ESAT", options=[0, *esats], format_func=lambda i: esats.get(i, "Tous les ESAT")
    )
    status = status_col.selectbox("Statut", options=list(STATUSES), format_func=STATUSES.get, index=1)
    start_col, end_col, _ = st.columns(3)
    start = start_col.date_input("Reçues du", value=None, format="DD/MM/YYYY", min_value=date(2020, 1, 1))
    end = end_col.date_input("au", value=None, format="DD/MM/YYYY", min_value=date(2020, 1, 1))
    st.form_submit_button("Filtrer", icon=":material/filter_alt:")

chosen = backoffice.InboxFilter(form_id or None, esat_id or None, start, end, status or None)
page = state.inbox_page
rows, total = backoffice.inbox(store, agent, chosen, limit=PAGE, offset=page * PAGE)
st.caption(f"{fmt.integer(total)} déclarations — page {page + 1} sur {max(1, -(-total // PAGE))}")

table = rows[
    [
        "id",
        "recu",
        "type",
        "esat",
        "nom",
        "prenom",
        "numero_allocataire",
        "date_effet",
        "recue_le",
        "suivi",
        "traitee_le",
    ]
]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "id": None,
        "recu": "N° de reçu",
        "type": "Type",
        "esat": "ESAT",
        "nom": "Nom",
        "prenom": "Prénom",
        "numero_allocataire": "N° allocataire",
        "date_effet": st.column_config.DateColumn("Date d'effet", format="DD/MM/YYYY"),
        "recue_le": st.column_config.DatetimeColumn("Reçue le", format="DD/MM/YYYY HH:mm"),
        "suivi": "Rectification",
        "traitee_le": st.column_config.DatetimeColumn("Traitée le", format="DD/MM/YYYY HH:mm"),
    },
)
prev_col, next_col, _ = st.columns([1, 1, 4])
if prev_col.button("Page précédente", disabled=page == 0):
    state.inbox_page = page - 1
    st.rerun()
if next_col.button("Page suivante", disabled=(page + 1) * PAGE >= total):
    state.inbox_page = page + 1
    st.rerun()
export_buttons(table.drop(columns=["id"]), "corbeille", store, agent, key="inbox")

labels = {int(r.id): f"n° {r.recu} — {r.type} — {r.nom} {r.prenom}" for r in table.itertuples()}
declaration_id = st.selectbox(
    "Ouvrir une déclaration de cette page",
    options=list(labels),
    index=None,
    format_func=labels.get,
    placeholder="Choisissez une déclaration",
    key="inbox_open",
)
if declaration_id is not None:
    info = backoffice.detail(store, agent, declaration_id)
    decl = declarations.get(store, agent, declaration_id)
    form = declarations.form_of(decl)
    st.header(f"{titles[decl.form_id]} — n° {info.receipt_number}")
    st.write(
        f"{literal(info.worker)} (n° allocataire {info.allocataire}, {info.person_role.lower()}) — "
        f"{literal(info.esat)} — reçue le {info.received_at:%d/%m/%Y à %H:%M}"
    )
    if info.effective_date is not None:
        st.write(f"Date d'effet : **{info.effective_date:%d/%m/%Y}**")
    if info.correction:
        st.warning(info.correction, icon=":material/history:")
    if info.regime:
        st.info(info.regime, icon=":material/calendar_month:")
    with st.container(border=True):
        stored = [(f"{label} (calculé au dépôt)", text) for label, text in info.derived]
        for label, text in [*wizard.recap_rows(form, decl.values, {}), *stored]:
            left, right = st.columns([3, 2])
            left.write(label)
            right.write(f"**{literal(text)}**")
    if info.known_before:
        st.markdown("**Ce que la Caf connaissait avant cette déclaration**")
        with st.container(border=True):
            for label, text in info.known_before:
                left, right = st.columns([3, 2])
                left.write(label)
                right.write(text)
    if info.warnings:
        st.markdown("**Avertissements vus par l'ESAT avant l'envoi**")
        for text in info.warnings:
            st.warning(literal(text), icon=":material/warning:")
    st.download_button(
        "Télécharger le justificatif",
        data=lambda: justificatifs.receipt_pdf(store, settings, agent, declaration_id),
        file_name=f"{info.receipt_number}.pdf",
        mime="application/pdf",
        icon=":material/download:",
        on_click="ignore",
    )
    if info.processed_at is not None:
        st.success(
            f"Traitée le {info.processed_at:%d/%m/%Y à %H:%M} par {literal(info.processed_by or 'un agent')}.",
            icon=":material/task_alt:",
        )
    elif st.button("Marquer comme traitée", type="primary", icon=":material/task_alt:"):
        backoffice.mark_processed(store, settings, agent, declaration_id)
        state.flash = f"La déclaration n° {info.receipt_number} est marquée comme traitée."
        st.rerun()

st.header("Délais de traitement")
delays = backoffice.processing_delays(store, agent)
for column in ("median_hours", "p90_hours"):
    delays[column] = delays[column].map(lambda h: "—" if h is None or h != h else f"{fmt.decimal(h)}\u00a0h")
st.dataframe(
    delays[["type", "processed", "waiting", "median_hours", "p90_hours"]].style.format(
        fmt.integer, subset=["processed", "waiting"]
    ),
    hide_index=True,
    column_config={
        "type": "Type",
        "processed": "Traitées",
        "waiting": "En attente",
        "median_hours": "Délai médian",
        "p90_hours": "9 sur 10 traitées en moins de",
    },
)
