"""DATA-05: a DuckDB file serves one process. A second server (or seeding) on the same file is
refused with a French message and a non-zero exit, without a traceback; several replicas need
PostgreSQL (docs/scale-out.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import stores
from tests.browser import server
from tests.conftest import ROOT, TODAY

pytestmark = pytest.mark.skipif(
    stores.PG is not None, reason="DuckDB only (the PostgreSQL pass tests replicas)"
)


def test_a_second_process_on_the_same_duckdb_file_is_refused_in_french(tmp_path: Path):
    db = tmp_path / "esat.duckdb"
    env = {
        "ESAT_DB": str(db),
        "ESAT_OUTBOX": str(tmp_path / "outbox"),
        "ESAT_TODAY": TODAY.isoformat(),
        "ESAT_SECRET": "test-secret",
        "ESAT_DEMO": "1",
    }
    with server(env, tmp_path / "first.log") as url:
        assert url.startswith("http://127.0.0.1:")
        for command in (
            ["-m", "ui.server", "--server.port=1", "--server.headless=true"],
            ["-m", "data.demo"],
        ):
            second = subprocess.run(
                [sys.executable, *command],
                cwd=ROOT,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=60,
            )
            shown = second.stdout + second.stderr
            assert second.returncode == 1, shown
            assert "Traceback" not in shown
            assert "est déjà utilisée par un autre processus" in second.stderr
            assert "PostgreSQL" in second.stderr and "docs/scale-out.md" in second.stderr
    # Once the first process is gone, the file opens again.
    again = subprocess.run(
        [sys.executable, "-c", f"from data.store import Store; Store({str(db)!r}).close()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
