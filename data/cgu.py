"""The texts of the two CGU (Mon Compte Partenaire and Espace ESAT), version 1, shipped with the service.

Both must be accepted at the first login (DOMAIN §1). A pilot store gets them when its first
administrator is created (``python -m services.admin create-admin``), the demo when it is seeded.
"""

from __future__ import annotations

from datetime import date

from data.store import Tx

PUBLISHED_ON = date(2026, 1, 1)

CGU_TEXTS = {
    "mcp": (
        "Conditions générales d'utilisation de Mon Compte Partenaire",
        """## Objet

Mon Compte Partenaire est le portail que la Caf met à la disposition de ses \
partenaires. Il donne accès aux services prévus par la convention d'accès et le \
contrat de services signés par votre structure.

## Accès

L'accès est personnel. Votre identifiant et votre mot de passe ne doivent pas être \
communiqués. Prévenez la Caf sans délai en cas de perte ou d'usage frauduleux.

## Confidentialité des données personnelles

Les informations consultées ou transmises concernent des personnes et sont \
couvertes par le secret professionnel. Elles ne servent qu'aux finalités prévues \
par la convention et ne sont ni copiées ni communiquées à des tiers.

## Responsabilités

Votre structure répond de l'exactitude des informations qu'elle transmet et de \
l'usage fait de ses accès. La Caf peut suspendre un accès en cas de manquement.

## Acceptation

En cochant la case prévue, vous reconnaissez avoir lu ces conditions et vous vous \
engagez à les respecter.
""",
    ),
    "esat": (
        "Conditions générales d'utilisation du service ESAT",
        """## Objet

Le service ESAT permet aux établissements et services d'aide par le travail \
adhérents de déclarer à la Caf la rémunération et les changements de situation \
des travailleurs qu'ils accompagnent.

## Accès

Le service est ouvert aux ESAT ayant signé le bulletin d'adhésion. Chaque \
déclaration est faite sous l'identifiant de la personne connectée.

## Confidentialité des données personnelles

Les données des travailleurs sont strictement confidentielles. Elles ne sont \
saisies que pour les besoins des déclarations et ne sont pas réutilisées à \
d'autres fins.

## Responsabilités

L'ESAT certifie l'exactitude des montants et des taux déclarés. Une déclaration \
erronée peut entraîner un rappel ou un indu pour la personne concernée.

## Acceptation

En cochant la case prévue, vous reconnaissez avoir pris connaissance de ces \
conditions et vous vous engagez à les respecter.
""",
    ),
}


def publish_defaults(tx: Tx) -> int:
    """Publish version 1 of each CGU that has no version yet; return how many were published."""
    published = 0
    for scope, (title, body) in CGU_TEXTS.items():
        if tx.scalar("SELECT count(*) FROM cgu_version WHERE scope = ?", [scope]):
            continue
        tx.execute(
            "INSERT INTO cgu_version (scope, version, title, body, published_on) VALUES (?, 1, ?, ?, ?)",
            [scope, title, body, PUBLISHED_ON],
        )
        published += 1
    return published
