"""Guide utilisateur: how the Espace ESAT works, in our own words."""

import streamlit as st

st.title("Guide utilisateur de l'Espace ESAT")
st.markdown(
    """
L'Espace ESAT remplace les formulaires papier que votre établissement envoyait à la Caf pour
ses travailleurs bénéficiaires de l'AAH. Ce que vous déclarez ici arrive directement à la Caf,
qui met à jour le dossier de chaque travailleur.

## 1. Se connecter
Saisissez l'identifiant (votre adresse e-mail) et le mot de passe fournis par la Caf. À la
première connexion, et à chaque nouvelle version, vous acceptez les conditions générales
d'utilisation de Mon Compte Partenaire et celles de l'Espace ESAT.

## 2. L'accueil
Vous y trouvez votre établissement et le nombre de travailleurs que la Caf connaît pour lui.
Si vos travailleurs dépendent de plusieurs Caf, choisissez d'abord la Caf concernée.

## 3. Mes travailleurs
Chaque travailleur est une tuile « Nom Prénom — numéro d'allocataire ». Cliquez sur les tuiles
pour les sélectionner ; la sélection est conservée d'une page à l'autre. La recherche accepte
un nom, un prénom ou un numéro d'allocataire. Lorsque les deux membres d'un couple travaillent
dans votre ESAT, chacun a sa propre tuile.

## 4. Choisir la déclaration
Cliquez sur « Déclarer pour la sélection ». Du 1er décembre au dernier jour de février, vous
pouvez transmettre le **certificat d'emploi** ; le choix vaut pour tous les travailleurs
sélectionnés. Terminez la sélection en cours avant d'en commencer une autre.

## 5. La fiche du travailleur
Elle rappelle son identité, votre avancement dans la sélection (par exemple 2 / 5) et
propose les justificatifs PDF de ses déclarations des deux dernières années. Vous pouvez
passer au travailleur suivant sans rien déclarer.

## 6. Saisie, récapitulatif, fin
- **Saisie** : les montants se saisissent en chiffres, en euros, par exemple `1 234,56`.
  Un message sous le champ explique ce qui ne va pas.
- **Récapitulatif** : relisez ; le bouton « Modifier » ramène à la saisie sans rien perdre.
  « Valider » transmet la déclaration, une seule fois, même si vous cliquez deux fois.
- **Fin** : téléchargez le justificatif PDF, donnez votre avis si vous le souhaitez, puis
  « Continuer » vers le travailleur suivant ou « Valider » pour terminer.

Un accusé de réception est envoyé à l'adresse e-mail de votre compte. Il ne contient aucun
montant : le détail de la déclaration est dans le justificatif PDF.

## Le certificat d'emploi
Il porte sur la rémunération garantie du mois de **novembre** : le montant net de la
rémunération garantie, le montant net de l'aide au poste, et la part financée par l'ESAT.
Un seul certificat est accepté par travailleur et par campagne. Pensez à le transmettre avant
le **15 janvier** pour éviter une interruption du versement de l'AAH.
"""
)
