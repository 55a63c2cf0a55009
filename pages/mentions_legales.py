"""Mentions légales: who publishes and hosts the service. What is not known yet for the pilot is
marked "À compléter". Public: reachable by everyone from the footer of every screen (app.py)."""

import streamlit as st

from data import accessibilite as a11y

TO_COMPLETE = "**[À compléter pour le pilote]**"

st.title("Mentions légales")

st.header("Éditeur")
st.markdown(
    "L'Espace ESAT, service de Mon Compte Partenaire, est édité par la Caisse d'allocations "
    "familiales (Caf). Dans cette version, la Caf, ses partenaires, ses comptes et toutes les "
    "données affichées sont fictifs.\n\n"
    f"- Adresse de la Caf : {TO_COMPLETE}\n"
    f"- Directeur ou directrice de la publication : {TO_COMPLETE}"
)

st.header("Hébergement")
st.markdown(f"Nom, adresse et téléphone de l'hébergeur : {TO_COMPLETE}")

st.header("Accessibilité")
st.markdown(f"L'Espace ESAT est {a11y.CONFORMITY} avec le RGAA 4.1.2.")
st.page_link(
    "pages/accessibilite.py", label="Lire la déclaration d'accessibilité", icon=":material/accessibility:"
)

st.header("Données personnelles")
st.page_link(
    "pages/donnees_personnelles.py",
    label="Savoir quelles données sont traitées et comment exercer vos droits",
    icon=":material/shield_person:",
)

st.header("Sécurité")
st.markdown(
    "Pour signaler une faille de sécurité, écrivez à "
    "[securite@espace-esat.example.org](mailto:securite@espace-esat.example.org) en décrivant ce "
    "que vous avez fait et constaté. N'utilisez jamais de données réelles pour vos essais."
)
