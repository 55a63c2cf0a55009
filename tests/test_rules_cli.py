"""The rules CLI, run as a user would: ``python -m rules …`` from the repository root."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ON = "2026-12-15"
VALID = {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}


def cli(*args: str, stdin: str | bytes = "") -> subprocess.CompletedProcess:
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    done = subprocess.run(
        [sys.executable, "-m", "rules", *args],
        cwd=ROOT,
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def assert_usage_error(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("erreur : ")


def test_list():
    done = cli("list")
    assert done.returncode == 0, done.stderr
    forms = json.loads(done.stdout)
    assert isinstance(forms, list)
    certificat = next(f for f in forms if f["id"] == "certificat_emploi")
    assert certificat["title"] == "Certificat d'emploi"
    assert isinstance(certificat["version"], int)
    assert certificat["version"] >= 1


def test_describe():
    done = cli("describe", "certificat_emploi")
    assert done.returncode == 0, done.stderr
    form = json.loads(done.stdout)
    assert form["id"] == "certificat_emploi"
    assert form["title"] == "Certificat d'emploi"
    assert [f["id"] for f in form["fields"]] == ["remuneration_garantie", "aide_au_poste", "part_esat"]
    for field in form["fields"]:
        assert set(field) >= {"id", "label", "type", "required", "options", "conditions"}
        assert field["type"] == "amount"
        assert field["required"] is True
        assert field["options"] is None
        assert field["conditions"] is None
        assert field["label"]
    assert form["fields"][0]["label"] == "Montant net de la rémunération garantie"


def test_check_valid_payload():
    done = cli("check", "certificat_emploi", "--on", ON, stdin=json.dumps(VALID))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report == {"valid": True, "errors": [], "warnings": []}


def test_check_json_numbers():
    payload = {"remuneration_garantie": 1100.5, "aide_au_poste": 946.55, "part_esat": 153.95}
    done = cli("check", "certificat_emploi", "--on", ON, stdin=json.dumps(payload))
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["valid"] is True


def test_check_warning_only_is_valid():
    payload = VALID | {"remuneration_garantie": "1 200,00"}  # aide + part differs by ~100 €
    done = cli("check", "certificat_emploi", "--on", ON, stdin=json.dumps(payload))
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["valid"] is True
    assert [w["field"] for w in report["warnings"]] == ["aide_au_poste"]


def test_check_invalid_payload():
    payload = VALID | {"aide_au_poste": "1 100,51", "part_esat": "abc"}
    done = cli("check", "certificat_emploi", "--on", ON, stdin=json.dumps(payload))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is False
    assert {e["field"] for e in report["errors"]} == {"aide_au_poste", "part_esat"}
    for error in report["errors"]:
        assert set(error) == {"field", "message"}
        assert error["message"].startswith("«")
    assert "Traceback" not in done.stderr


def test_check_outside_the_window():
    done = cli("check", "certificat_emploi", "--on", "2027-03-01", stdin=json.dumps(VALID))
    assert done.returncode == 1
    errors = json.loads(done.stdout)["errors"]
    assert errors[0]["field"] is None
    assert "1er décembre" in errors[0]["message"]


def test_check_a_date_without_parameters():
    done = cli("check", "certificat_emploi", "--on", "2001-12-15", stdin=json.dumps(VALID))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["valid"] is False


def test_output_is_utf8_french():
    done = cli("check", "certificat_emploi", "--on", ON, stdin="{}")
    assert done.returncode == 1
    assert "« Montant net de la rémunération garantie » est obligatoire." in done.stdout


@pytest.mark.parametrize(
    "stdin",
    ["{", "", "not json", "{'a': 1}", '{"a": }', "[" * 100_000, b"\xff\xfe{}"],
    ids=["unclosed", "empty", "text", "single-quotes", "no-value", "deep", "not-utf8"],
)
def test_malformed_json(stdin):
    done = cli("check", "certificat_emploi", "--on", ON, stdin=stdin)
    assert_usage_error(done)
    assert "JSON" in done.stderr


@pytest.mark.parametrize("stdin", ["[]", '["remuneration_garantie"]', '"texte"', "12", "null", "true"])
def test_json_not_an_object(stdin):
    done = cli("check", "certificat_emploi", "--on", ON, stdin=stdin)
    assert_usage_error(done)
    assert "objet" in done.stderr


@pytest.mark.parametrize("command", [("describe", "inconnu"), ("check", "inconnu", "--on", ON)])
def test_unknown_form(command):
    done = cli(*command, stdin="{}")
    assert_usage_error(done)
    assert "inconnu" in done.stderr


@pytest.mark.parametrize("on", ["15/12/2026", "2026-13-01", "2027-02-29", "demain", ""])
def test_bad_on(on):
    done = cli("check", "certificat_emploi", "--on", on, stdin=json.dumps(VALID))
    assert_usage_error(done)
    assert "--on" in done.stderr


def test_missing_on():
    done = cli("check", "certificat_emploi", stdin=json.dumps(VALID))
    assert_usage_error(done)
    assert "--on" in done.stderr


@pytest.mark.parametrize("args", [(), ("supprimer",), ("describe",), ("list", "en-trop")])
def test_bad_arguments(args):
    assert_usage_error(cli(*args))
