"""Avis des ESAT sur la téléprocédure: note moyenne, tendance, commentaires."""

import streamlit as st

from forms import fmt
from services import backoffice
from ui import charts, resources
from ui.export import export_buttons
from ui.state import session

state = session()
store = resources.store()
agent = state.account

st.title("Avis des ESAT")
avis = backoffice.feedback(store, agent)
if avis.empty:
    st.info("Aucun avis n'a encore été donné.", icon=":material/info:")
    st.stop()

average, count = st.columns(2)
average.metric("Note moyenne", f"{fmt.decimal(avis['note'].mean())} / 5")
count.metric("Avis reçus", fmt.integer(len(avis)))
st.header("Tendance")
trend = backoffice.feedback_trend(store, agent)
charts.show(charts.rating_trend(trend), charts.rating_trend_table(trend), "Tendance des avis")

st.header("Commentaires")
comments = avis[avis["commentaire"].notna()][["date", "note", "commentaire"]]
st.dataframe(
    comments,
    hide_index=True,
    width="stretch",
    column_config={
        "date": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY"),
        "note": st.column_config.NumberColumn("Note", format="%d / 5"),
        "commentaire": "Commentaire",
    },
)
export_buttons(
    comments.rename(columns={"date": "Date", "note": "Note", "commentaire": "Commentaire"}),
    "avis",
    store,
    agent,
    key="avis",
)
