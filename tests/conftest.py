"""Shared fixtures: a demo store seeded once per test session, copied for each test.

The store under test is DuckDB, or PostgreSQL when ``ESAT_TEST_PG`` is set (tests/stores.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from data.demo import seed_demo
from data.store import Store
from services.config import Settings, load_settings
from tests import stores

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Mot-de-passe-de-test-2026"
TODAY = date(2026, 12, 10)  # inside the certificat window of campaign 2026


def pytest_report_header() -> str:
    return f"store under test: {stores.KIND}"


def pytest_sessionfinish() -> None:
    stores.drop_all()


# Fixtures and module texts that tell a test touches the store (on either store).
STORE_FIXTURES = {"seeded_db", "seeded_file", "demo_db", "empty_db", "env", "store"}
STORE_TEXTS = ("Store(", "stores.", "ESAT_DB", "data.demo", "ui.server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL pass: run only the tests that touch the store; the others ran in the DuckDB pass
    and give the same result on both (``ESAT_TEST_PG_ALL=1`` runs them all the same)."""
    if not stores.PG or os.environ.get("ESAT_TEST_PG_ALL"):
        return
    texts: dict[Path, bool] = {}

    def touches_store(item: pytest.Item) -> bool:
        if STORE_FIXTURES & set(getattr(item, "fixturenames", ())):
            return True
        path = Path(str(item.path))
        if path not in texts:
            source = path.read_text(encoding="utf-8")
            texts[path] = any(text in source for text in STORE_TEXTS)
        return texts[path]

    keep = [item for item in items if touches_store(item)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


@pytest.fixture(autouse=True)
def _no_store_error_behind_the_french_error_screen(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A page whose SQL fails shows the generic French error, which a test can overlook:
    a failure raised by the store (SQL that one of the two stores rejects) fails the test."""
    yield
    failed = [
        message
        for record in caplog.get_records("call")
        if (message := record.getMessage()).startswith("page failed:")
        and any(origin in message for origin in ("/psycopg/", "/duckdb/", "data/store.py"))
    ]
    if failed:
        pytest.fail(f"a page failed in the store ({stores.KIND}): {failed}")


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo seeded once: a DuckDB file, or a PostgreSQL template database. Read it, never write."""
    url = stores.seeded_template(tmp_path_factory.mktemp("seed"))
    store = Store(url)
    seed_demo(store, today=TODAY, password=PASSWORD, secret="test-secret")
    store.close()
    stores.analyze(url)
    return url


@pytest.fixture(scope="session")
def seeded_file(seeded_db: str) -> Path:
    """The seeded DuckDB file: a test that asks for it is about DuckDB and runs in the DuckDB pass
    only (``demo_db`` gives a copy of the demo on either store)."""
    if stores.PG:
        pytest.skip("DuckDB file (seeded_file): DuckDB pass only")
    return Path(seeded_db)


@pytest.fixture
def demo_db(tmp_path: Path, seeded_db: str) -> Iterator[str]:
    """A private copy of the demo store: its path or URL (the value of ESAT_DB)."""
    url = stores.copy(seeded_db, tmp_path)
    yield url
    stores.drop(url)


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[str]:
    """A new empty store, dropped after the test."""
    url = stores.empty(tmp_path)
    yield url
    stores.drop(url)


@pytest.fixture
def env(tmp_path: Path, demo_db: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the demo store, and the ESAT_* variables pointing at it."""
    monkeypatch.setenv("ESAT_DB", demo_db)
    monkeypatch.setenv("ESAT_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("ESAT_TODAY", TODAY.isoformat())
    monkeypatch.setenv("ESAT_SECRET", "test-secret")
    monkeypatch.setenv("ESAT_DEMO", "1")  # the seeded accounts are demo accounts (AUTH-08)
    monkeypatch.delenv("ESAT_SMTP_HOST", raising=False)
    monkeypatch.delenv("ESAT_SMTP_PORT", raising=False)
    return load_settings()


@pytest.fixture
def store(env: Settings):
    s = Store(env.db)
    yield s
    s.close()
