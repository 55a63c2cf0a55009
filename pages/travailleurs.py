"""Mes travailleurs: filter, tiles, multi-selection kept across pages, choice of declaration.

While a batch is open (its type confirmed), the selection cannot change and no other type can be
chosen: the batch is taken up again or abandoned (with a confirmation). Its summary shows here
once it is finished."""

import streamlit as st

from rules import calendar
from services import partner
from services.clock import today
from ui import batch, resources
from ui.choice import choice_dialog
from ui.navigation import go
from ui.state import session
from ui.text import literal

PAGE_SIZE = 24
COLUMNS = 3

state = session()
store = resources.store()
settings = resources.settings()
home = state.remember("home", lambda: partner.home(store, state.account))
cafs = {c.code: c for c in home.cafs}
if state.caf_code not in cafs:
    state.caf_code = home.default_caf

st.title("Mes travailleurs")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")
batch.show_summary(state)
if state.busy:
    st.info(
        f"Saisie en cours : {batch.progress(state)}. La sélection ne peut pas être modifiée et aucun "
        "autre type de déclaration ne peut être choisi tant que la saisie n'est pas terminée ou abandonnée.",
        icon=":material/pending_actions:",
    )

# Rows are horizontal containers, one block each, where st.columns adds a block per column:
# each block is one more message on every rerun (docs/benchmarks.md, P1).
# Caf: the pencil only exists when the workers depend on several Cafs.
with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
    st.markdown(f"Caf : **{literal(cafs[state.caf_code].name)}**")
    if len(cafs) > 1 and st.button("Changer de Caf", icon=":material/edit:", key="caf_edit"):
        state.dialog = "caf" if state.dialog != "caf" else None
if state.dialog == "caf":

    def _change_caf() -> None:
        state.caf_code, state.page, state.query, state.dialog = st.session_state["caf_pick"], 0, "", None

    st.selectbox(
        "Choisissez la Caf",
        options=list(cafs),
        index=list(cafs).index(state.caf_code),
        format_func=lambda code: f"{cafs[code].name} ({cafs[code].workers} travailleurs)",
        key="caf_pick",
        on_change=_change_caf,
    )

# The buttons that change what this screen shows do it in their callback, before the run draws
# it: one script run per click, where a change followed by st.rerun() costs two (P7).


def _search(key: str) -> None:
    state.query, state.page = st.session_state[key].strip(), 0


def _show_all() -> None:
    state.query, state.page = "", 0


def _turn(step: int) -> None:
    state.page += step


def _clear() -> None:
    state.selected = []


# Filter on "Nom Prénom" or numéro d'allocataire. The box's key follows the search in effect, so
# the box shows it again when it changes elsewhere ("Afficher tous les travailleurs", another Caf).
query_key = f"worker_query:{state.query}"
with st.form("filter", border=False), st.container(horizontal=True, vertical_alignment="bottom"):
    st.text_input(
        "Rechercher un travailleur",
        value=state.query,
        max_chars=100,
        placeholder="Nom, prénom ou numéro d'allocataire",
        key=query_key,
    )
    st.form_submit_button("Rechercher", icon=":material/search:", on_click=_search, args=(query_key,))

workers, total = state.remember(
    ("workers", state.caf_code, state.query, state.page),
    lambda: partner.list_workers(
        store, state.account, state.caf_code, state.query, state.page * PAGE_SIZE, PAGE_SIZE
    ),
)
if state.query and total == 0:
    st.info(f"Aucun travailleur ne correspond à « {literal(state.query)} ».", icon=":material/info:")
if state.query:
    st.button("Afficher tous les travailleurs", icon=":material/close:", on_click=_show_all)

# Tiles: a click selects or unselects the worker.
grid = st.columns(COLUMNS)
for i, worker in enumerate(workers):
    chosen = worker.id in state.selected
    grid[i % COLUMNS].button(
        # The state is in the name too, not in the colour alone (RGAA 3.1): the icon is hidden
        # from screen readers, the text is read.
        literal(f"{worker.full_name} — {worker.allocataire}" + (" (sélectionné)" if chosen else "")),
        key=f"tile_{worker.id}",
        type="primary" if chosen else "secondary",
        icon=":material/check_box:" if chosen else ":material/check_box_outline_blank:",
        on_click=state.toggle,
        args=(worker.id,),
        width="stretch",
        disabled=state.busy,
        help="Cliquez pour retirer de la sélection" if chosen else "Cliquez pour sélectionner",
    )

pages = max(1, -(-total // PAGE_SIZE))
if pages > 1:
    with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"):
        st.button(
            "Page précédente",
            icon=":material/chevron_left:",
            disabled=state.page == 0,
            on_click=_turn,
            args=(-1,),
        )
        st.markdown(f"Page {state.page + 1} sur {pages} — {total} travailleurs")
        st.button(
            "Page suivante",
            icon=":material/chevron_right:",
            disabled=state.page >= pages - 1,
            on_click=_turn,
            args=(1,),
        )

st.divider()
count = len(state.selected)
st.markdown(f"**{count}** travailleur{'s' if count > 1 else ''} sélectionné{'s' if count > 1 else ''}")
with st.container(horizontal=True):
    if state.busy:
        st.button(
            "Reprendre la saisie",
            type="primary",
            icon=":material/play_arrow:",
            on_click=lambda: go(batch.resume_page(state)),
        )
        if st.button("Abandonner la saisie", icon=":material/cancel:"):
            state.dialog = "abandon"
    else:
        if st.button(
            "Déclarer pour la sélection", type="primary", disabled=count == 0, icon=":material/edit_document:"
        ):
            state.dialog = "choice"
        if calendar.certificat_open(today(settings)):
            st.button(
                "Certificats en tableau",
                icon=":material/table_view:",
                help="Les certificats d'emploi de la sélection (ou, sans sélection, de tous les travailleurs "
                "de la Caf) saisis dans un tableau ou déposés dans un fichier",
                on_click=batch.open_table,
                args=(state,),
            )
        st.button("Vider la sélection", disabled=count == 0, on_click=_clear)
    st.button("Retour à l'accueil", icon=":material/home:", on_click=go, args=("pages/accueil.py",))

if state.dialog == "choice" and not state.busy:
    choice_dialog(state, today(settings))
if state.dialog == "abandon" and state.busy:
    batch.abandon_dialog(state, store)
