"""Données personnelles: what the service processes, why, for how long, and the rights of the
people concerned. The durations are those the code applies (services/retention.py, SECURITY.md);
what is not decided yet for the pilot is marked "À compléter". Public: reachable by everyone from
the footer of every screen (app.py)."""

import streamlit as st

from services import retention

TO_COMPLETE = "**[À compléter pour le pilote]**"

st.title("Données personnelles")
st.markdown(
    "L'Espace ESAT traite des données personnelles : celles des personnes qui l'utilisent et celles "
    "des travailleurs d'ESAT pour qui une déclaration est faite. Cette page dit lesquelles, pourquoi, "
    "combien de temps elles sont gardées et comment exercer vos droits."
)

st.header("Responsable du traitement")
st.markdown(
    "La Caisse d'allocations familiales (Caf) qui gère le dossier des travailleurs (fictive dans "
    f"cette version). Coordonnées : {TO_COMPLETE}"
)

st.header("À quoi servent ces données")
st.markdown(
    "- Recevoir les déclarations des ESAT sur leurs travailleurs bénéficiaires de l'allocation aux "
    "adultes handicapés (certificat d'emploi, changements de situation) et permettre à la Caf de les "
    "traiter.\n"
    "- Gérer les comptes des partenaires et des agents de la Caf, et protéger le service "
    "(connexion, traces des opérations).\n\n"
    "Base légale : l'exécution d'une mission de service public par la Caf (article 6-1 e du RGPD), "
    f"à confirmer par son délégué à la protection des données. {TO_COMPLETE}"
)

st.header("Données traitées")
st.markdown(
    "- **Comptes** : nom, adresse électronique, rôle, établissement ; le mot de passe n'est jamais "
    "conservé, seule une empreinte l'est (argon2id).\n"
    "- **Travailleurs** : nom, prénom, date de naissance, numéro d'allocataire, établissement, "
    "taux d'activité et situation dans l'ESAT.\n"
    "- **Déclarations** : valeurs et dates déclarées, accusés de réception, avis de la Caf.\n"
    "- **Traces** : journal des opérations (compte, action, identifiant de l'objet, date et heure ; "
    "ni nom ni montant) ; échecs de connexion, dont l'identifiant et l'adresse IP ne sont gardés "
    "que sous forme d'empreinte."
)

st.header("Qui y a accès")
st.markdown(
    "Un ESAT ne voit que ses propres travailleurs et ses propres déclarations. Les agents de la Caf "
    "voient les déclarations qui relèvent de leur Caf. Aucune donnée n'est transmise à un tiers ni "
    "utilisée à des fins commerciales."
)

st.header("Durées de conservation")
st.markdown(
    f"- Déclarations, avec leurs valeurs, leurs accusés de réception et leurs avis : "
    f"**2 ans** ({retention.RETENTION_DAYS} jours) après leur réception, puis supprimées ; les "
    "justificatifs, toujours refaits à partir de ces données, disparaissent avec elles.\n"
    "- Saisies commencées mais pas transmises : supprimées quand la saisie est terminée ou "
    f"abandonnée, ou après **{retention.BATCH_RETENTION_DAYS} jours** sans modification.\n"
    "- Échecs de connexion : **1 jour**.\n"
    "- Session : fermée après 30 minutes sans activité ou 12 heures après la connexion.\n"
    f"- Journal des opérations : conservé ; sa durée reste à fixer. {TO_COMPLETE}\n"
    "- Journaux techniques du serveur (numéros de compte, jamais de nom ni de montant) : 12 mois au "
    "plus."
)

st.header("Cookies")
st.markdown(
    "Le service ne dépose aucun cookie de mesure d'audience ni de publicité et ne fait appel à aucun "
    "service tiers (ni police de caractères, ni statistiques). Seul un cookie technique, nécessaire à "
    "la protection des formulaires contre la falsification de requêtes, est utilisé."
)

st.header("Vos droits")
st.markdown(
    "Vous pouvez accéder aux données qui vous concernent, les faire rectifier, demander la "
    "limitation de leur traitement ou vous y opposer, dans les conditions prévues par le RGPD "
    "(articles 15 à 21).\n\n"
    f"- Délégué à la protection des données de la Caf : {TO_COMPLETE}\n"
    "- Si vous estimez, après nous avoir contactés, que vos droits ne sont pas respectés, vous "
    "pouvez adresser une réclamation à la CNIL ([www.cnil.fr, nouvelle fenêtre](https://www.cnil.fr/))."
)
