"""Tableau de bord de la campagne du certificat d'emploi (Caf agents)."""

import streamlit as st

from forms import fmt
from services import backoffice, reminders
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
    fmt.integer(totals.expected),
    help=f"Travailleurs présents dans l'ESAT au moins un jour de novembre {campaign}",
)
received.metric(
    "Certificats reçus",
    fmt.integer(totals.received),
    fmt.percent(totals.share, 0),
    delta_color="off",
    delta_arrow="off",
    help="La part des certificats attendus",
)
missing.metric("Restant à recevoir", fmt.integer(totals.missing))
late.metric(
    "Reçus après le 15 janvier",
    fmt.percent(totals.late_share, 0),
    help="Part des certificats reçus",
)

st.header("Réception par semaine")
weekly = backoffice.campaign_by_week(store, agent, campaign)
if weekly.empty:
    st.info("Aucun certificat reçu pour cette campagne.", icon=":material/info:")
else:
    st.caption("Barres : certificats reçus chaque semaine. Ligne : total reçu. Trait rouge : le 15 janvier.")
    charts.show(
        charts.weekly_progress(weekly, backoffice.milestone(campaign)),
        charts.weekly_progress_table(weekly),
        "Réception par semaine",
    )

st.header("Par ESAT")
by_esat = backoffice.campaign_by_esat(store, agent, campaign)
by_esat["share"] = (by_esat["share"] * 100).round(1)
st.dataframe(
    by_esat.drop(columns=["esat_id"]).style.format(
        fmt.integer, subset=["expected", "received", "late", "missing"]
    ),
    hide_index=True,
    width="stretch",
    column_config={
        "esat": "ESAT",
        "expected": "Attendus",
        "received": "Reçus",
        "late": "Dont après le 15/01",
        "missing": "Manquants",
        "share": st.column_config.ProgressColumn(
            "Part reçue", format="%.0f\u00a0%%", min_value=0, max_value=100
        ),
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

st.header("Travailleurs sans certificat")
missing_workers = backoffice.undeclared_workers(store, agent, campaign)
st.caption(
    f"{fmt.integer(len(missing_workers))} travailleurs : la liste à transmettre aux ESAT pour les relancer."
)
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

st.header("Relances")
now = today(settings)
planned = reminders.milestones(campaign)
deadline = backoffice.milestone(campaign)
if not planned:
    st.info(f"Aucune relance n'est prévue pour la campagne {campaign}.", icon=":material/info:")
else:
    st.caption(
        "Chaque ESAT ayant encore des travailleurs sans certificat reçoit un courriel de relance "
        f"(nombre de travailleurs par Caf, échéance du {deadline:%d/%m/%Y}, lien vers le service) "
        f"à partir du {' puis du '.join(f'{m:%d/%m/%Y}' for m in planned)}, une fois par étape."
    )
    due = reminders.due(now)
    if due is not None and due[0] == campaign:
        nxt = next((m for m in planned if m > now), None)
        then = f" Prochaine étape : le {nxt:%d/%m/%Y}." if nxt else ""
        st.info(f"Étape en cours : relance du {due[1]:%d/%m/%Y}.{then}", icon=":material/schedule:")
        why = None
    elif now < planned[0]:
        why = f"Les relances de la campagne {campaign} commencent le {planned[0]:%d/%m/%Y}."
    else:
        why = f"L'échéance du {deadline:%d/%m/%Y} est passée : plus de relance pour la campagne {campaign}."
    if why:
        st.info(why, icon=":material/schedule:")
    if st.button(
        "Envoyer les relances maintenant",
        disabled=why is not None,
        help=why or "Relance les ESAT de votre Caf qui n'ont pas encore été relancés pour l'étape en cours.",
    ):
        with st.spinner("Envoi des relances…"):
            result = reminders.run(store, settings, now, caf_code=backoffice.caf_of(agent), actor_id=agent.id)
        if result.sent:
            st.success(
                f"{result.sent} ESAT relancé(s) ({result.emails} courriel(s)) pour l'étape du "
                f"{result.milestone:%d/%m/%Y}.",
                icon=":material/mark_email_read:",
            )
        elif not result.failed and not result.without_recipient:
            st.info(
                "Aucune nouvelle relance : les ESAT concernés ont déjà été relancés.", icon=":material/info:"
            )
        if result.already and result.sent:
            st.caption(f"{result.already} ESAT avaient déjà été relancés pour cette étape.")
        if result.failed:
            st.warning(
                f"Relances non envoyées (serveur de courriel indisponible) : {result.failed} ESAT. "
                "Elles partiront au prochain envoi.",
                icon=":material/warning:",
            )
        if result.without_recipient:
            st.warning(
                f"ESAT sans gestionnaire actif, donc sans relance : {result.without_recipient}.",
                icon=":material/warning:",
            )

history = reminders.sent(store, agent, campaign)
if not history.empty:
    counts = ["manquants_relance", "deposes_depuis", "manquants_maintenant"]
    st.dataframe(
        history.style.format(fmt.integer, subset=counts),
        hide_index=True,
        width="stretch",
        column_config={
            "esat": "ESAT",
            "relance": "Étape",
            "relancee_le": "Relancé le",
            "envoi": "Envoi",
            "manquants_relance": "Manquants à la relance",
            "deposes_depuis": "Déposés depuis",
            "manquants_maintenant": "Manquants aujourd'hui",
        },
    )
elif planned:
    st.caption("Aucune relance envoyée pour cette campagne.")
