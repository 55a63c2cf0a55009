"""Fichier des travailleurs (Caf administrators): the extraction of the Caf's system, CSV or XLSX.

Always a dry run first (every row checked, counts of new, changed, unchanged and absent workers);
then "Importer", for that same file only, in one transaction (services/worker_import.py).
"""

import hashlib

import pandas as pd
import streamlit as st

from services import worker_import
from services.config import ROOT
from ui import resources
from ui.state import session

SAMPLE = ROOT / "data" / "samples" / "travailleurs_exemple.csv"

state = session()
store = resources.store()
admin = state.account

st.title("Fichier des travailleurs")
notice = state.pop_flash()
if notice:
    st.success(notice, icon=":material/check_circle:")
st.write(
    "Déposez l'extraction des bénéficiaires de l'AAH qui travaillent en ESAT, au format décrit "
    "dans le guide du pilote (CSV ou XLSX, 50 Mo au plus). Le fichier est d'abord contrôlé sans "
    "rien enregistrer ; vous l'importez ensuite. Un travailleur absent du fichier est signalé, "
    "jamais supprimé."
)
st.download_button(
    "Télécharger un fichier d'exemple",
    data=SAMPLE.read_bytes(),
    file_name=SAMPLE.name,
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
upload = st.file_uploader("Fichier des travailleurs", type=["csv", "xlsx"], key="workers_file")


def show(report: worker_import.ImportReport) -> None:
    st.write(
        f"**{report.rows}** lignes lues : **{report.new}** nouveaux, **{report.changed}** modifiés, "
        f"**{report.unchanged}** inchangés, **{report.absent}** absents du fichier."
    )
    if report.problems:
        st.error(
            f"{len(report.problems)} anomalie(s) : rien ne sera importé tant qu'elles ne sont pas corrigées.",
            icon=":material/error:",
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {"Ligne": p.line or "", "Colonne": p.column or "", "Anomalie": p.message}
                    for p in report.problems[:1000]
                ]
            ),
            hide_index=True,
            width="stretch",
        )


if upload is not None:
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    if st.button("Contrôler le fichier", type="primary", icon=":material/fact_check:"):
        report = worker_import.dry_run(store, admin, data, upload.name)
        state.import_checked = digest if report.ok else None
        show(report)
        if report.ok:
            st.info("Le contrôle est réussi : vous pouvez importer ce fichier.", icon=":material/info:")
    if state.import_checked == digest and st.button("Importer le fichier", icon=":material/upload:"):
        report = worker_import.apply(store, admin, data, upload.name)
        state.import_checked = None
        if report.applied:
            state.flash = (
                f"Import terminé : {report.new} nouveaux, {report.changed} modifiés, "
                f"{report.unchanged} inchangés, {report.absent} absents du fichier."
            )
            st.rerun()
        show(report)
