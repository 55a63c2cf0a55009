"""Shared fixtures: a demo store seeded once per test session, copied for each test."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from data.demo import seed_demo
from data.store import Store
from services.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Mot-de-passe-de-test-2026"
TODAY = date(2026, 12, 10)  # inside the certificat window of campaign 2026


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "demo.duckdb"
    store = Store(str(path))
    seed_demo(store, today=TODAY, password=PASSWORD, secret="test-secret")
    store.close()
    return path


@pytest.fixture
def env(tmp_path: Path, seeded_file: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the demo store, and the ESAT_* variables pointing at it."""
    db = tmp_path / "esat.duckdb"
    shutil.copy(seeded_file, db)
    monkeypatch.setenv("ESAT_DB", str(db))
    monkeypatch.setenv("ESAT_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("ESAT_TODAY", TODAY.isoformat())
    monkeypatch.setenv("ESAT_SECRET", "test-secret")
    monkeypatch.delenv("ESAT_SMTP_HOST", raising=False)
    monkeypatch.delenv("ESAT_SMTP_PORT", raising=False)
    return load_settings()


@pytest.fixture
def store(env: Settings):
    s = Store(env.db)
    yield s
    s.close()
