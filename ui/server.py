"""Start the Streamlit server for app.py with the project's framework fixes applied.

``python -m ui.server [streamlit run options]`` is what ``make run`` uses.

Fix applied before the server starts:
- Streamlit treats a folder named ``pages/`` next to the main script as the legacy
  multipage mode until ``st.navigation`` has run once, so the very first request of a fresh
  process could execute ``pages/<x>.py`` without going through app.py's login gate. We use
  ``st.navigation`` only: the legacy mode is switched off for the whole process.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parent.parent / "app.py"


def disable_legacy_pages() -> None:
    PagesManager.uses_pages_directory = False


def main(argv: list[str] | None = None) -> None:
    disable_legacy_pages()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
