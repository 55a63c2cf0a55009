"""Remise du jour (Caf agents): the day's declarations, for the system that pays the AAH.

Each declaration goes in exactly one daily batch; exporting the same day again gives the same
files (services/handover.py, schema in docs/handover.md).
"""

from datetime import date

import streamlit as st

from forms import fmt
from services import handover
from services.clock import today
from ui import resources
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()
agent = state.account
on = today(settings)

st.title("Remise du jour")
st.write(
    "La remise rassemble, pour votre Caf, les déclarations reçues jusqu'à la fin du jour choisi "
    "et qui n'ont encore été remises dans aucun lot. Préparer à nouveau la remise d'un même jour "
    "redonne exactement les mêmes fichiers."
)
with st.form("handover", border=True):
    day = st.date_input("Jour", value=on, max_value=on, min_value=date(2020, 1, 1), format="DD/MM/YYYY")
    prepared = st.form_submit_button("Préparer la remise", type="primary", icon=":material/upload_file:")
if prepared:
    try:
        state.screen_memo["batch"] = handover.export_day(store, settings, agent, day)
    except handover.Refused as exc:  # a day in the future: said next to the form
        st.error(str(exc), icon=":material/error:")
batch = state.screen_memo.get("batch")
if batch is not None:
    st.success(
        f"Lot n° {batch.id} du {batch.day:%d/%m/%Y} : {fmt.integer(batch.declarations)} déclaration(s).",
        icon=":material/check_circle:",
    )
    files = zip(
        ("CSV", "JSON Lines"),
        handover.file_names(batch),
        (batch.csv, batch.jsonl),
        ("text/csv", "application/x-ndjson"),
        st.columns([1, 1, 2]),
        strict=False,
    )
    for label, name, data, mime, column in files:
        column.download_button(
            f"Télécharger ({label})",
            data=data,
            file_name=name,
            mime=mime,
            on_click="ignore",
            icon=":material/download:",
        )
