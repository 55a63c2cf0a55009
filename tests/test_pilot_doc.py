"""docs/pilot.md is true: its administration commands run, in order, on an empty store."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from data.store import Store
from services import accounts, registry
from tests.browser import ROOT

DOC = ROOT / "docs" / "pilot.md"
COMMAND = ".venv/bin/python -m services.admin"


def doc_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [
        line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith(COMMAND)
    ]


def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The doc's own line, with this test's interpreter (the same venv in make test and CI).
    line = command.replace(".venv/bin/python", sys.executable, 1)
    return subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_pilot_guide_commands_run_as_written(tmp_path: Path, empty_db: str) -> None:
    commands = doc_commands()
    kinds = [c.split()[3] for c in commands]
    assert kinds == ["create-admin", "import-workers", "import-workers", "export-declarations"], kinds
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESAT_")}
    env |= {"ESAT_DB": empty_db, "ESAT_OUTBOX": str(tmp_path / "outbox"), "ESAT_SECRET": "secret-du-pilote"}
    out = Path("/tmp/remises-441")  # the doc's --out
    shutil.rmtree(out, ignore_errors=True)

    created = run(commands[0], env)
    assert created.returncode == 0, created.stderr
    store = Store(empty_db)
    try:
        admin_id = store.scalar("SELECT id FROM account WHERE role = 'admin'")
        admin = accounts.get(store, admin_id)
        assert admin is not None and admin.must_change_password and admin.caf_code == "441"
        assert len(accounts.current_cgu(store)) == 2
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1  # the provisional password
        # Section 4, on screen: the administrator registers the ESAT of the sample file.
        registry.create_partner(
            store,
            admin,
            legal_name="ESAT du Pilote",
            siret="99900001100018",
            street="12 rue des Ateliers",
            postcode="44000",
            city="Nantes",
            fonctions=[
                registry.Fonction(1, "ESAT du Pilote", None, "12 rue des Ateliers", "44000", "Nantes")
            ],
        )
    finally:
        store.close()

    checked = run(commands[1], env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "3 nouveaux" in checked.stdout and "rien n'a été enregistré" in checked.stdout
    imported = run(commands[2], env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "Import appliqué" in imported.stdout
    again = run(commands[2], env)
    assert "0 nouveaux, 0 modifiés, 3 inchangés" in again.stdout
    exported = run(commands[3], env)
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.suffix for p in out.iterdir()) == [".csv", ".jsonl"]
    shutil.rmtree(out, ignore_errors=True)

    store = Store(empty_db)
    try:
        assert store.scalar("SELECT count(*) FROM worker WHERE caf_code = '441'") == 3
    finally:
        store.close()


def test_every_command_has_its_help() -> None:
    for name in ("create-admin", "import-workers", "export-declarations"):
        shown = subprocess.run(
            [sys.executable, "-m", "services.admin", name, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert shown.returncode == 0 and "--caf" in shown.stdout, name


def test_a_bad_command_line_says_so_in_french_without_a_traceback(tmp_path: Path, empty_db: str) -> None:
    env = {**os.environ, "ESAT_DB": empty_db, "ESAT_OUTBOX": str(tmp_path / "outbox")}
    cases = [
        (["create-admin", "--caf", "44", "--email", "a@b.example.org"], "3 caractères"),
        (["import-workers", str(tmp_path / "absent.csv"), "--caf", "441"], "introuvable"),
        (["export-declarations", "--day", "2026-02-31", "--caf", "441"], "Date invalide"),
    ]
    for args, said in cases:
        done = subprocess.run(
            [sys.executable, "-m", "services.admin", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 1 and said in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
