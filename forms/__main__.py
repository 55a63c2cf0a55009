"""``python -m forms snapshot``: freeze the current version of every form definition."""

from __future__ import annotations

import sys

from forms.loader import FormError
from forms.versions import snapshot


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["snapshot"]:
        print("usage : python -m forms snapshot", file=sys.stderr)
        return 2
    try:
        written = snapshot()
    except FormError as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    print("\n".join(f"copie écrite : {w}" for w in written) or "toutes les versions ont déjà leur copie")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
