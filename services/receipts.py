"""Receipt numbers and verification codes printed on every justificatif."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def receipt_number(declaration_id: int, received_at: datetime) -> str:
    """``ESAT-2026-00000042``: the year of receipt and the declaration id."""
    return f"ESAT-{received_at.year}-{declaration_id:08d}"


def verification_code(secret: str, receipt: str, worker_id: int, values: Mapping[str, Any]) -> str:
    """A short HMAC over what was declared, so a printed justificatif can be checked.

    ``values`` are the stored values (Decimal, date or str); their ``str`` form is signed.
    """
    canonical = "|".join([receipt, str(worker_id)] + [f"{k}={values[k]}" for k in sorted(values)])
    digest = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest().upper()
    return "-".join(digest[i : i + 4] for i in range(0, 12, 4))
