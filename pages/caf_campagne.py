"""Tableau de bord de la campagne du certificat d'emploi (Caf agents)."""

import streamlit as st

from services import backoffice
from services.clock import today
from ui import charts, resources
from ui.export import export_buttons
from ui.state import session

state = session()
store = resources.store()
settings = resources.settings()
agent = state.account

st.title("Campagne du certificat d'emploi")
current = backoffice.current_campaign(today(settings))
campaign = st.selectbox(
    "Campagne",
    options=[current - i for i in range(3)],
    format_func=lambda n: (
        f"{n} — rémunération de novembre {n}, déclarée du 01/12/{n} au {backoffice.window_end(n):%d/%m/%Y}"
    ),
)
totals = backoffice.campaign_totals(store, agent, campaign)

known, received, missing, late = st.columns(4)
known.metric(
    "Certificats attendus",
    f"{totals.expected:,}".replace(",", " "),
    help=f"Travailleurs présents dans l'ESAT au moins un jour de novembre {campaign}",
)
received.metric(
    "Certificats reçus", f"{totals.received:,}".replace(",", " "), f"{totals.share:.0%}".replace("%", " %")
)
missing.metric("Restant à recevoir", f"{totals.missing:,}".replace(",", " "))
late.metric(
    "Reçus après le 15 janvier",
    f"{totals.late_share:.0%}".replace("%", " %"),
    help="Part des certificats reçus",
)

st.subheader("Réception par semaine")
weekly = backoffice.campaign_by_week(store, agent, campaign)
if weekly.empty:
    st.info("Aucun certificat reçu pour cette campagne.", icon=":material/info:")
else:
    st.altair_chart(charts.weekly_progress(weekly, backoffice.milestone(campaign)), width="stretch")
    st.caption("Barres : certificats reçus chaque semaine. Ligne : total reçu. Trait rouge : le 15 janvier.")

st.subheader("Par ESAT")
by_esat = backoffice.campaign_by_esat(store, agent, campaign)
by_esat["share"] = (by_esat["share"] * 100).round(1)
st.dataframe(
    by_esat.drop(columns=["esat_id"]),
    hide_index=True,
    width="stretch",
    column_config={
        "esat": "ESAT",
        "expected": st.column_config.NumberColumn("Attendus", format="%d"),
        "received": st.column_config.NumberColumn("Reçus", format="%d"),
        "late": st.column_config.NumberColumn("Dont après le 15/01", format="%d"),
        "missing": st.column_config.NumberColumn("Manquants", format="%d"),
        "share": st.column_config.ProgressColumn("Part reçue", format="%.0f %%", min_value=0, max_value=100),
    },
)
export_buttons(
    by_esat.drop(columns=["esat_id"]).rename(
        columns={
            "esat": "ESAT",
            "expected": "Attendus",
            "received": "Reçus",
            "late": "Après le 15/01",
            "missing": "Manquants",
            "share": "Part reçue",
        }
    ),
    f"campagne-{campaign}-par-esat",
    store,
    agent,
    key="by_esat",
)

st.subheader("Travailleurs sans certificat")
missing_workers = backoffice.undeclared_workers(store, agent, campaign)
st.caption(f"{len(missing_workers)} travailleurs : la liste à transmettre aux ESAT pour les relancer.")
st.dataframe(
    missing_workers,
    hide_index=True,
    width="stretch",
    column_config={
        "esat": "ESAT",
        "siret": "SIRET",
        "nom": "Nom",
        "prenom": "Prénom",
        "numero_allocataire": "N° allocataire",
    },
)
export_buttons(
    missing_workers, f"campagne-{campaign}-travailleurs-sans-certificat", store, agent, key="missing"
)
