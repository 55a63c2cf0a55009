"""Rules CLI, usable without the UI.

    python -m rules list
    python -m rules describe FORM_ID
    python -m rules check FORM_ID --on YYYY-MM-DD [--context JSON]  < payload.json

Exit codes: 0 valid, 1 invalid, 2 malformed JSON, unknown form or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from forms import FormError, load_all
from forms.schema import CONTEXT_KEYS, FormDefinition
from rules import checks, validate

STATUSES = ("ACTIVE", "LEFT", "ON_LEAVE")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"arguments invalides : {message}")


def _fail(text: str) -> NoReturn:
    print(f"erreur : {text}", file=sys.stderr)
    raise SystemExit(2)


def _context(text: str) -> dict[str, Any]:
    """Parse ``--context``: rates as decimals, dates as ISO strings, flags as booleans."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"--context attend un objet JSON : {exc}")
    if not isinstance(raw, dict) or set(raw) - set(CONTEXT_KEYS):
        _fail(f"--context attend un objet JSON avec les clés {', '.join(CONTEXT_KEYS)}")
    out: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            if key in ("rate_esat", "rate_mo") and value is not None:
                out[key] = Decimal(str(value))
                if not out[key].is_finite():  # NaN, Infinity, 1e400
                    raise ValueError(f"{key} n'est pas un nombre fini")
            elif key in ("double_activity_since", "last_change_date") and value is not None:
                out[key] = date.fromisoformat(str(value))
            elif key == "double_activity" and not isinstance(value, bool | None):
                raise ValueError("double_activity attend true, false ou null")  # "false" would be true
            elif key == "status" and value not in (None, *STATUSES):
                raise ValueError(f"status attend {', '.join(STATUSES)} ou null")
            else:
                out[key] = value
    except (ArithmeticError, ValueError) as exc:
        _fail(f"--context : valeur invalide ({exc})")
    return out


def _day(text: str) -> date:
    """Parse ``--on``: an ISO date that exists."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text)
    if not match:
        _fail(f"--on attend une date AAAA-MM-JJ, reçu {text!r}")
    y, m, d = (int(g) for g in match.groups())
    try:
        return date(y, m, d)
    except ValueError:
        _fail(f"--on : le {d:02d}/{m:02d}/{y:04d} n'existe pas, vérifiez le jour et le mois")


def describe(form: FormDefinition) -> dict[str, Any]:
    return {
        "id": form.id,
        "title": form.title,
        "version": form.version,
        "fields": [
            {
                "id": f.id,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "options": [o.model_dump() for o in checks.options(f)] if f.type == "choice" else None,
                "conditions": f.visible_if.model_dump(by_alias=True, exclude_none=True)
                if f.visible_if
                else None,
            }
            for f in form.fields
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m rules", description="Formulaires et règles de l'Espace ESAT")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    sub.add_parser("describe").add_argument("form_id")
    chk = sub.add_parser("check")
    chk.add_argument("form_id")
    chk.add_argument("--on", required=True, help="date AAAA-MM-JJ")
    chk.add_argument(
        "--context",
        default="{}",
        help='ce que la Caf connaît du travailleur, en JSON, par exemple {"rate_esat": 80, "double_activity": true}',
    )
    args = parser.parse_args(argv)

    try:
        forms = load_all()
    except FormError as exc:
        _fail(str(exc))
    if args.command == "list":
        out: Any = [{"id": f.id, "title": f.title, "version": f.version} for f in forms.values()]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    form = forms.get(args.form_id)
    if form is None:
        _fail(f"formulaire inconnu : {args.form_id!r} (voir « python -m rules list »)")
    if args.command == "describe":
        print(json.dumps(describe(form), ensure_ascii=False, indent=2))
        return 0
    on = _day(args.on)
    try:
        payload = json.loads(sys.stdin.read())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        _fail(f"JSON invalide sur l'entrée standard : {exc}")
    if not isinstance(payload, dict):
        _fail("le JSON doit être un objet {identifiant de champ: valeur}")
    context = _context(args.context)
    report = validate(form, payload, on, context)
    print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    return 0 if report.valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
