"""Free text typed by users (avis, review comments), made safe to store on any store."""

from __future__ import annotations

import re

# Control characters (C0 but tab and line breaks, DEL, C1). NUL cannot be stored by PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def free_text(value: str, limit: int) -> str | None:
    """The text without control characters, trimmed to ``limit`` characters; None when empty."""
    return _CONTROL.sub("", value).strip()[:limit] or None
