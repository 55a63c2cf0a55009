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
    "max_smic_ratio": "« {label} » dépasse {limit} ({ratio} du SMIC mensuel{prorata}) : vérifiez le montant.",
    "min_smic_ratio": "« {label} » est inférieur à {limit} ({ratio} du SMIC mensuel{prorata}) : vérifiez le montant.",
    "sum_matches": "« {label} » + « {other} » ({sum}) diffère de « {total} » ({limit}) : vérifiez les montants.",
    # calendar and store
    "window_closed": "« {label} » ne peut être déclaré que du 1er décembre au dernier jour de février.",
    "no_parameter": "« {label} » ne peut pas être contrôlé : les paramètres réglementaires du {day} ne sont pas connus.",
}


def message(key: str, **values: str) -> str:
    return MESSAGES[key].format(**values)
