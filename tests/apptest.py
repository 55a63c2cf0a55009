"""Helpers to drive app.py with Streamlit's AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from tests.conftest import PASSWORD

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def no_legacy_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest re-detects the legacy ``pages/`` mode on every run; the server never uses it
    (ui/server.py switches it off for the process), so the tests switch it off the same way."""
    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    return at


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} in {[b.label for b in at.button]}"
    return matches[0]


def login(at: AppTest, login: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="login_id").input(login)
    at.text_input(key="login_pw").input(password)
    return button(at, "Se connecter").click().run()


def accept_cgu(at: AppTest) -> AppTest:
    for box in at.checkbox:
        box.check()
    return button(at, "Continuer").click().run()


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def texts(at: AppTest) -> str:
    """Every message and markdown shown, joined (to search for French sentences)."""
    kinds = (at.error, at.info, at.warning, at.success, at.markdown, at.caption, at.subheader, at.header)
    parts = [e.value for kind in kinds for e in kind]
    return "\n".join(str(p) for p in parts)
