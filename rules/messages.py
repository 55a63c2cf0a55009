"""Every message a user can read about their input, in one catalogue (French).

Templates name the field by its label: ``{label}``, ``{other}`` (another field's label),
``{limit}`` (a formatted bound).
"""

MESSAGES: dict[str, str] = {
    # input
    "required": "« {label} » est obligatoire.",
    "amount_format": "« {label} » doit être un montant en chiffres, par exemple 1 234,56.",
    "rate_format": "« {label} » doit être un pourcentage en chiffres, par exemple 80 ou 62,5.",
    "decimals": "« {label} » accepte au plus deux chiffres après la virgule.",
    "negative": "« {label} » ne peut pas être négatif.",
    "too_large": "« {label} » est trop élevé : {limit} au maximum.",
    "too_small": "« {label} » doit être d'au moins {limit}.",
    "above": "« {label} » doit être supérieur à {limit}.",
    "below": "« {label} » doit être inférieur à {limit}.",
    "certify": "« {label} » : cochez la case pour certifier la déclaration.",
    "date_format": "« {label} » doit être une date au format JJ/MM/AAAA.",
    "choice": "« {label} » : choisissez une valeur de la liste.",
    "yesno": "« {label} » : répondez Oui ou Non.",
    "text_length": "« {label} » est trop long : {limit} caractères au maximum.",
    "text_control": "« {label} » contient des caractères non autorisés.",
    "unknown_field": "Champ inconnu pour ce formulaire : {label}.",
    # named checks
    "lte_field": "« {label} » ne peut pas dépasser « {other} ».",
    "gt_field": "« {label} » doit être supérieur à « {other} ».",
    "lt_field": "« {label} » doit être inférieur à « {other} ».",
    "ne_field": "« {label} » doit être différent de « {other} ».",
    "lte_field_date": "« {label} » ne peut pas être postérieure à « {other} ».",
    "gt_field_date": "« {label} » doit être postérieure à « {other} ».",
    "lt_field_date": "« {label} » doit être antérieure à « {other} ».",
    "ne_field_date": "« {label} » doit être différente de « {other} ».",
    "max_smic_ratio": "« {label} » dépasse {limit} ({ratio} du SMIC mensuel brut{prorata}) : vérifiez le montant.",
    "min_smic_ratio": "« {label} » est inférieur à {limit} ({ratio} du SMIC mensuel brut{prorata}) : vérifiez le montant.",
    "sum_matches": "« {label} » + « {other} » ({sum}) diffère de « {total} » ({limit}) : vérifiez les montants.",
    "sum_at_most": "« {label} » et « {other} » ne peuvent pas dépasser {limit} à eux deux (total saisi : {sum}).",
    "one_is_zero": "Pour une fin de double activité, « {label} » ou « {other} » doit être égal à 0 % : sinon, déclarez une modification de la double activité.",
    "date_window": "« {label} » doit être comprise entre le {start} et le {end}.",
    "date_from": "« {label} » ne peut pas être antérieure au {limit}.",
    "date_within_years": "« {label} » ne peut pas dépasser de plus de {years} ans « {other} » (au plus tard le {limit}).",
    "after_known": "« {label} » doit être postérieure au {limit}, date de {known} connue de la Caf.",
    "not_before_known": "« {label} » ne peut pas être antérieure au {limit}, date de {known} connue de la Caf.",
    "matches_known": "« {label} » ({value}) diffère de ce que la Caf connaît pour ce travailleur ({limit}) : vérifiez la valeur.",
    # figures of the certificat and known rates (issue 12: R243-5, R243-6 CASF; dates that do not exist)
    "date_invalid": "Le {day} n'existe pas : vérifiez le jour et le mois de « {label} ».",
    "between_smic_ratio": "« {label} » ({value}) est en dehors des bornes attendues, de {low} à {high} ({low_ratio} à {high_ratio} du SMIC mensuel brut{prorata}, art. R243-5 CASF) : vérifiez le montant.",
    "aide_au_poste": "« {label} » ({value}) dépasse l'aide au poste attendue, {expected} ({ratio} du SMIC mensuel brut{prorata}{reduction}, art. R243-6 CASF) : vérifiez le montant.",
    "sum_known_at_most": "« {label} » ({value}) et le {known} connu de la Caf ({other}) dépassent {limit} à eux deux (total : {sum}) : si ce taux change aussi, indiquez le nouveau.",
    # what the Caf knows of the worker
    "guard_no_double_activity": "Une double activité est connue pour ce travailleur : déclarez une modification ou une fin de double activité.",
    "guard_double_activity": "Aucune double activité n'est connue pour ce travailleur : déclarez d'abord un début de double activité.",
    "guard_active": "Ce travailleur n'est plus en activité dans l'ESAT (départ ou congé déclaré) : aucun changement ne peut être déclaré avant son retour.",
    # the worker's timeline and corrections (services/timeline.py, services/declarations.py)
    "timeline_conflict": "Ce changement contredit celui déjà déclaré avec effet au {day} : {reason} Déclarez plutôt un rectificatif de ce changement.",
    "correction_superseded": "Cette déclaration a déjà été rectifiée le {day} : corrigez la dernière version.",
    "correction_campaign_closed": "Le certificat de la campagne {campaign} ne peut plus être rectifié : la campagne est close.",
    "correction_too_old": "Ce changement ne peut plus être rectifié en ligne : sa date d'effet doit être comprise entre le {start} et le {end}.",
    # calendar and store
    "window_closed": "« {label} » ne peut être déclaré que du 1er décembre au dernier jour de février.",
    "no_parameter": "« {label} » ne peut pas être contrôlé : les paramètres réglementaires du {day} ne sont pas connus.",
    # the return to the ESAT (forms/definitions/retour_esat.yaml)
    "guard_inactive": "Ce travailleur est en activité dans l'ESAT à cette date : un retour ne peut être déclaré qu'après un départ ou un congé.",
}


def message(key: str, **values: str) -> str:
    return MESSAGES[key].format(**values)
