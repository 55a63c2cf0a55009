"""Changements de situation reçus par la Caf: types, départs, doubles activités, taux."""

from datetime import date

import streamlit as st

from forms import fmt
from services import backoffice
from services.clock import today
from ui import charts, resources
from ui.export import export_buttons
from ui.state import session

state = session()
store = resources.store()
agent = state.account
now = today(resources.settings())

st.title("Changements de situation")
months = st.selectbox("Période", options=[12, 24, 36], format_func=lambda m: f"{m} derniers mois")
since = date(now.year - months // 12, now.month, 1)
st.caption(f"Déclarations reçues depuis le {since:%d/%m/%Y}.")

by_month = backoffice.changes_by_month(store, agent, since)
if by_month.empty:
    st.info("Aucun changement de situation reçu sur la période.", icon=":material/info:")
    st.stop()

st.header("Par type et par mois")
charts.show(charts.monthly_by_type(by_month), charts.monthly_by_type_table(by_month), "Par type et par mois")
totals = (
    by_month.groupby("type", as_index=False)["declarations"]
    .sum()
    .rename(columns={"type": "Type", "declarations": "Déclarations"})
)
st.dataframe(totals.style.format(fmt.integer, subset=["Déclarations"]), hide_index=True)
export_buttons(totals, "changements-par-type", store, agent, key="types")

left, right = st.columns(2)
with left:
    st.header("Départs par motif")
    motifs = backoffice.departures_by_motif(store, agent, since)
    if motifs.empty:
        st.write("Aucun départ sur la période.")
    else:
        args = (motifs, "motif", "departures", "Motif", "Départs")
        charts.show(charts.bars(*args), charts.bars_table(*args), "Départs par motif")
with right:
    st.header("Doubles activités")
    double = backoffice.double_activity_counts(store, agent, since)
    charts.show(charts.started_ended(double), charts.started_ended_table(double), "Doubles activités")

st.header("Variations du taux d'activité en ESAT")
changes = backoffice.rate_changes(store, agent, since)
if changes.empty:
    st.write("Aucune variation de taux sur la période.")
else:
    charts.show(
        charts.rate_changes(changes),
        charts.rate_changes_table(changes),
        "Variations du taux d'activité en ESAT",
    )
