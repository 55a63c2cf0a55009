"""Déclaration d'accessibilité, after the RGAA model: conformity state, the measured results of
the automated audit (data/accessibilite.py, checked by tests/test_accessibility.py), the content
that is not accessible, how the statement was made, the contact and the recourse.

Public: reachable by everyone, logged in or not, from the footer of every screen (app.py).
"""

import streamlit as st

from data import accessibilite as a11y

st.title("Déclaration d'accessibilité")
st.markdown(
    "La Caf veut que chacun puisse utiliser ses services en ligne, quel que soit son handicap, "
    "comme le demande l'article 47 de la loi n° 2005-102 du 11 février 2005. Cette déclaration "
    "porte sur l'**Espace ESAT** de Mon Compte Partenaire, le service par lequel les ESAT déclarent "
    "à la Caf la situation de leurs travailleurs."
)

st.header("État de conformité")
st.markdown(
    f"L'Espace ESAT est **{a11y.CONFORMITY}** avec le référentiel général d'amélioration de "
    "l'accessibilité (RGAA 4.1.2).\n\n"
    "Ce niveau repose sur un audit automatisé de tous les écrans, qui ne vérifie qu'une partie des "
    "critères du RGAA. Aucun audit complet, critère par critère, n'a encore été mené par une "
    "personne experte : il reste à faire avant l'ouverture du service aux ESAT du pilote, et cette "
    "déclaration sera alors mise à jour avec le taux de conformité qu'il aura mesuré."
)

st.header("Résultats des tests")
st.markdown(
    f"L'audit automatisé du {a11y.AUDITED_ON:%d/%m/%Y} donne les résultats suivants :\n\n"
    f"- **{a11y.SCREENS} écrans** contrôlés, pour chaque profil (public, ESAT, agent et administrateur "
    "de la Caf), messages d'erreur affichés ;\n"
    f"- **{a11y.AXE_RULES} règles** appliquées à chaque écran : celles des niveaux A et AA des WCAG 2.0 "
    f"et 2.1 dans axe-core {a11y.AXE_VERSION} ;\n"
    f"- **{a11y.VIOLATIONS} non-conformité** relevée par ces règles, quel que soit son niveau de gravité ;\n"
    "- sur chaque écran, en plus : la langue de la page (français), un titre de page qui dit où l'on "
    "est, un seul titre principal et des niveaux de titres qui se suivent ;\n"
    "- le parcours complet d'un ESAT (connexion, conditions d'utilisation, sélection de deux "
    "travailleurs, un certificat d'emploi avec une erreur corrigée, un changement de situation, "
    "déconnexion) est fait au clavier seul, focus visible à chaque étape, sans piège dans les fenêtres."
)

st.header("Contenus non accessibles")
st.subheader("Non-conformités connues")
st.markdown(
    "- Certains boutons et repères de navigation ajoutés par l'outil qui affiche le service portent "
    "un nom en anglais (« Skip to main content », « Link to heading », « Help for… », « Show data », "
    "« Fullscreen », « N more », « Sidebar »…) : un lecteur d'écran les lit en anglais.\n"
    "- Les tableaux de données des écrans de la Caf et de l'administration sont dessinés dans une "
    "zone graphique : leur contenu n'a pas été vérifié avec un lecteur d'écran. Les écrans des ESAT "
    "n'en ont pas : leurs tableaux sont des tableaux HTML.\n"
    "- Le justificatif PDF est lisible dans l'ordre et en français, mais il n'est pas balisé. Une "
    "**version accessible (HTML)**, au contenu identique, est proposée à côté de chaque PDF.\n"
    "- Un message d'erreur est annoncé dès qu'il apparaît et nomme son champ, juste après lequel il "
    "s'affiche, mais il n'est pas relié au champ par le code de la page.\n"
    "- Sur les cases à cocher, les boutons radio et les liens, le focus n'est signalé que par un fond "
    "pâle, peu contrasté.\n"
    "- L'agrandissement à 200 % n'est vérifié que sur quatre écrans (connexion, accueil, Mes "
    "travailleurs, certificats en tableau : aucun défilement horizontal) et la restitution par un "
    "lecteur d'écran n'est pas mesurée : ces points relèvent de l'audit complet à venir."
)
st.subheader("Dérogations pour charge disproportionnée")
st.markdown("Aucune.")
st.subheader("Contenus non soumis à l'obligation d'accessibilité")
st.markdown("Aucun.")

st.header("Établissement de cette déclaration")
st.markdown(
    f"Cette déclaration a été établie le {a11y.AUDITED_ON:%d/%m/%Y}.\n\n"
    "- Technologies utilisées : HTML, CSS, JavaScript.\n"
    f"- Environnement de test : navigateur Chromium (Debian), fenêtre de 1280 × 900 pixels, avec "
    f"le moteur de tests axe-core {a11y.AXE_VERSION}.\n"
    "- Écrans vérifiés : accueil et connexion, mot de passe oublié et nouveau mot de passe, "
    "conditions générales d'utilisation, vérification d'un justificatif, accès au service ; pour les "
    "ESAT : accueil, Mes travailleurs et ses fenêtres, fiche du travailleur, chaque étape de chaque "
    "déclaration (certificat d'emploi et les six changements de situation), certificats d'emploi en "
    "tableau, guide utilisateur, mot de passe ; pour la Caf : campagne, changements de situation, "
    "corbeille et détail d'une déclaration, remise du jour, avis, revue des formulaires, partenaires, "
    "comptes, fichier des travailleurs ; et les pages Accessibilité, Mentions légales et Données "
    "personnelles."
)

st.header("Retour d'information et contact")
st.markdown(
    "Si vous ne parvenez pas à utiliser un écran ou à lire un document de l'Espace ESAT, "
    "écrivez-nous : nous vous proposerons une autre façon d'obtenir l'information ou de faire "
    "votre déclaration.\n\n"
    f"- Adresse électronique : [{a11y.CONTACT}](mailto:{a11y.CONTACT})\n"
    "- ou votre interlocuteur habituel à la Caf."
)

st.header("Voies de recours")
st.markdown(
    "Si vous nous avez signalé un défaut d'accessibilité qui vous empêche d'accéder à un contenu ou "
    "à un service, et que la réponse obtenue ne vous convient pas (ou que vous n'en avez pas reçu), "
    "vous pouvez saisir le Défenseur des droits :\n\n"
    "- par son [formulaire de contact en ligne (nouvelle fenêtre)](https://formulaire.defenseurdesdroits.fr/) ;\n"
    "- auprès d'un délégué du Défenseur des droits près de chez vous (liste sur le "
    "[site du Défenseur des droits (nouvelle fenêtre)](https://www.defenseurdesdroits.fr/)) ;\n"
    "- par téléphone : 09 69 39 00 00 ;\n"
    "- par courrier, gratuit et sans timbre : Défenseur des droits, Libre réponse 71120, "
    "75342 Paris CEDEX 07."
)
