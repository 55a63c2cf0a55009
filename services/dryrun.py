"""Dry runs of a form for reviewers: validation and the PDF that would be produced, nothing stored.

Nothing here writes to the store or sends an e-mail: the worker is fictitious and the receipt
number says it is a trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from forms.schema import FormDefinition
from rules import Report, validate
from services import pdf

FICTITIOUS_WORKER = "TRAVAILLEUR Fictif"


@dataclass(frozen=True)
class Context:
    """What the Caf would know of the fictitious worker."""

    rate_esat: Decimal = Decimal(100)
    rate_mo: Decimal | None = None
    double_activity: bool = False
    double_activity_since: date | None = None
    status: str = "ACTIVE"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate_esat": self.rate_esat,
            "rate_mo": self.rate_mo,
            "double_activity": self.double_activity,
            "double_activity_since": self.double_activity_since,
            "status": self.status,
            "last_change_date": None,
        }


def check(form: FormDefinition, payload: dict[str, Any], on: date, context: Context) -> Report:
    return validate(form, payload, on, context.as_dict())


def receipt(form: FormDefinition, report: Report, on: date) -> bytes:
    """The justificatif a real filing would produce, marked as a trial."""
    return pdf.render_receipt(
        pdf.ReceiptData(
            receipt_number="ESSAI-SANS-VALEUR",
            received_at=datetime.combine(on, datetime.min.time()),
            form=form,
            values=report.values,
            derived=report.derived,
            esat_name="ESAT fictif (essai)",
            esat_address="1 rue de l'Essai, 00000 Exemple",
            esat_siret="00000000000000",
            caf_name="Caf fictive",
            worker_name=FICTITIOUS_WORKER,
            allocataire="0000000",
            birth_date=date(1980, 1, 1),
            author="Relecteur (essai)",
            verification_code="ESSAI",
            campaign_label=None,
        )
    )
