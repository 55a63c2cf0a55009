"""Accueil de l'Espace ESAT: the establishment, the Caf, the number of workers it knows, and the
batch in progress if one was left open (in this session or an earlier one)."""

import streamlit as st

from rules import calendar
from services import partner
from services.clock import today
from ui import batch, resources
from ui.navigation import go
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()
home = state.remember("home", lambda: partner.home(store, state.account))
if state.caf_code is None:
    state.caf_code = home.default_caf

st.title("Espace ESAT")
if state.busy:
    with st.container(border=True):
        st.info(
            f"Une saisie est en cours : {batch.progress(state)}. Reprenez-la là où vous l'aviez laissée, "
            "ou abandonnez-la depuis « Mes travailleurs ».",
            icon=":material/pending_actions:",
        )
        st.button(
            "Reprendre la saisie",
            type="primary",
            icon=":material/play_arrow:",
            on_click=lambda: go(batch.resume_page(state)),
        )
with st.container(border=True):
    st.header(home.name)
    st.write(home.address)
    st.caption(f"{home.legal_name} — SIRET {home.siret}")

cafs = {c.code: c for c in home.cafs}
if len(cafs) > 1:
    st.selectbox(
        "Caf des travailleurs",
        options=list(cafs),
        index=list(cafs).index(state.caf_code) if state.caf_code in cafs else 0,
        format_func=lambda code: cafs[code].name,
        key="home_caf",
        on_change=lambda: setattr(state, "caf_code", st.session_state["home_caf"]),
        help="Par défaut, la Caf de rattachement de l'ESAT.",
    )
else:
    st.write(f"Caf : **{cafs[state.caf_code].name}**" if state.caf_code in cafs else "")

count = cafs[state.caf_code].workers if state.caf_code in cafs else 0
if count == 0:
    st.error("Aucun travailleur de votre ESAT n'est connu de cette Caf.", icon=":material/error:")
else:
    st.metric("Travailleurs connus de la Caf pour votre ESAT", f"{count:,}".replace(",", " "))

    def _to_workers() -> None:
        state.page = 0
        go("pages/travailleurs.py")

    row = st.container(horizontal=True)
    row.button("Mes travailleurs", type="primary", icon=":material/groups:", on_click=_to_workers)
    if calendar.certificat_open(today(settings)):
        row.button(
            "Certificats d'emploi en tableau",
            icon=":material/table_view:",
            help="Les certificats de la campagne à déclarer (la sélection de « Mes travailleurs », ou tous "
            "les travailleurs de cette Caf), saisis dans un tableau ou déposés dans un fichier",
            on_click=batch.open_table,
            args=(state,),
        )

st.page_link("pages/guide.py", label="Guide utilisateur de l'Espace ESAT", icon=":material/menu_book:")
