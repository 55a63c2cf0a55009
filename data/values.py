"""How declared values are stored: one typed ``declaration_value`` row per visible field."""

from __future__ import annotations

from typing import Any

from forms.schema import FormDefinition


def value_rows(form: FormDefinition, declaration_id: int, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(declaration_id, field_id, number, day, text) rows: amounts and rates as DECIMAL, dates as
    DATE, yes/no and certifications as "oui"/"non", choices and text as text. Empty values are not stored."""
    rows = []
    for f in form.fields:
        v = values.get(f.id)
        if v is None:
            continue
        if f.type in ("amount", "rate"):
            rows.append((declaration_id, f.id, v, None, None))
        elif f.type == "date":
            rows.append((declaration_id, f.id, None, v, None))
        elif f.type in ("yesno", "certify"):
            rows.append((declaration_id, f.id, None, None, "oui" if v else "non"))
        else:
            rows.append((declaration_id, f.id, None, None, v))
    return rows
