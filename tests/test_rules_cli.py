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
    assert form["fields"][0]["label"] == "Montant brut de la rémunération garantie"


def test_check_valid_payload():
    done = cli("check", "certificat_emploi", "--on", ON, stdin=json.dumps(VALID))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report == {
        "valid": True,
        "errors": [],
        "warnings": [],
        # the derived values, as on the justificatif (French text)
        "derived": {"part_esat_pourcentage_smic": "8,25\u00a0%", "tranche_abattement": "3,5\u00a0%"},
    }


def test_check_derived_values_follow_the_context_rate():
    done = cli(
        "check", "certificat_emploi", "--on", ON, "--context", '{"rate_esat": 50}', stdin=json.dumps(VALID)
    )
    derived = json.loads(done.stdout)["derived"]
    assert derived == {"part_esat_pourcentage_smic": "16,49\u00a0%", "tranche_abattement": "4,5\u00a0%"}


def test_check_an_invalid_payload_has_no_derived_values():
    done = cli("check", "certificat_emploi", "--on", ON, stdin=json.dumps(VALID | {"part_esat": "abc"}))
    assert done.returncode == 1
    assert json.loads(done.stdout)["derived"] == {}


@pytest.mark.parametrize("typed", ["31/02/2026", "2026-02-31", "29/02/2027", "31/4/2026"])
def test_check_a_date_that_does_not_exist(typed):
    payload = {
        "date_modification": typed,
        "taux_esat_avant": "60",
        "taux_esat_apres": "50",
        "certification": True,
    }
    done = cli("check", "modification_double_activite", "--on", "2026-06-15", stdin=json.dumps(payload))
    assert done.returncode == 1, done.stderr
    errors = json.loads(done.stdout)["errors"]
    assert [e["field"] for e in errors] == ["date_modification"]
    day, month, year = typed.split("-")[::-1] if "-" in typed else typed.split("/")
    shown = f"{int(day):02d}/{int(month):02d}/{year}"
    assert errors[0]["message"] == (
        f"Le {shown} n'existe pas : vérifiez le jour et le mois de « Date de la modification »."
    )


def test_on_that_does_not_exist():
    done = cli("check", "certificat_emploi", "--on", "2026-02-31", stdin=json.dumps(VALID))
    assert_usage_error(done)
    assert "le 31/02/2026 n'existe pas" in done.stderr


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
    assert "« Montant brut de la rémunération garantie » est obligatoire." in done.stdout


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


# --- the changement-de-situation forms (DOMAIN §8.2–§8.4) ------------------------------------------

CHANGE_ON = "2026-06-15"
CHANGE_FORMS = (
    "modification_activite",
    "depart_esat",
    "debut_double_activite",
    "modification_double_activite",
    "fin_double_activite",
    "retour_esat",
)
CONGES = ["conge_parental_education", "conge_presence_parentale"]
MOTIFS = [
    "demission",
    "fin_prise_en_charge",
    "fin_periode_essai",
    "admission_autre_esat",
    "emploi_milieu_ordinaire",
    "entreprise_adaptee",
    "retraite",
    "deces",
    *CONGES,
    "autre",
]
# form id → (a valid payload, an invalid one and the fields it refuses)
CHANGE_PAYLOADS = {
    "modification_activite": (
        {
            "sens": "augmentation",
            "date_changement": "01/06/2026",
            "taux_avant": "50",
            "nouveau_taux": "80",
            "certification": True,
        },
        {"sens": "augmentation", "date_changement": "01/06/2026", "taux_avant": "50", "nouveau_taux": "50"},
        {"nouveau_taux", "certification"},
    ),
    "depart_esat": (
        {
            "date_depart": "01/06/2026",
            "motif_depart": "conge_parental_education",
            "date_retour_prevue": "01/06/2027",
        },
        {
            "date_depart": "01/06/2026",
            "motif_depart": "conge_parental_education",
            "date_retour_prevue": "01/06/2026",
        },
        {"date_retour_prevue"},
    ),
    "debut_double_activite": (
        {
            "date_debut": "01/06/2026",
            "taux_esat_avant": 100,
            "taux_esat_apres": 60,
            "taux_milieu_ordinaire": 40,
        },
        {
            "date_debut": "01/06/2026",
            "taux_esat_avant": 100,
            "taux_esat_apres": 60,
            "taux_milieu_ordinaire": 40.01,
        },
        {"taux_esat_apres"},
    ),
    "modification_double_activite": (
        {
            "date_modification": "2026-06-01",
            "taux_esat_avant": "60",
            "taux_esat_apres": "50",
            "certification": "oui",
        },
        {"date_modification": "2026-06-01", "taux_esat_avant": "60", "taux_esat_apres": "60"},
        {"taux_esat_apres"},
    ),
    "fin_double_activite": (
        {
            "date_fin": "01/06/2026",
            "taux_esat_avant": "60",
            "taux_mo_avant": "40",
            "taux_esat_apres": "0",
            "taux_mo_apres": "80",
            "motif_depart": "emploi_milieu_ordinaire",
        },
        {
            "date_fin": "01/06/2026",
            "taux_esat_avant": "60",
            "taux_mo_avant": "40",
            "taux_esat_apres": "60",
            "taux_mo_apres": "40",
        },
        {"taux_esat_apres"},
    ),
    "retour_esat": (
        {"date_retour": "01/06/2026", "taux_activite": "80"},
        {"date_retour": "01/06/2026", "taux_activite": "100,01"},
        {"taux_activite"},
    ),
}


def test_list_gives_all_six_forms():
    done = cli("list")
    assert done.returncode == 0, done.stderr
    forms = json.loads(done.stdout)
    assert sorted(f["id"] for f in forms) == sorted(["certificat_emploi", *CHANGE_FORMS])
    for form in forms:
        assert set(form) == {"id", "title", "version"}
        assert form["title"]
        assert form["version"] >= 1


def describe_form(form_id: str) -> dict:
    done = cli("describe", form_id)
    assert done.returncode == 0, done.stderr
    form = json.loads(done.stdout)
    assert form["id"] == form_id
    return form


@pytest.mark.parametrize("form_id", CHANGE_FORMS)
def test_describe_each_change_form(form_id):
    from forms import load_all

    definition = load_all()[form_id]
    form = describe_form(form_id)
    assert form["title"] == definition.title
    assert [f["id"] for f in form["fields"]] == [f.id for f in definition.fields]
    for field, spec in zip(form["fields"], definition.fields, strict=True):
        assert set(field) == {"id", "label", "type", "required", "options", "conditions"}
        assert field["label"] == spec.label
        assert field["type"] == spec.type
        assert field["required"] is spec.required
        if field["type"] == "choice":
            assert field["options"], field
            assert all(set(o) == {"value", "label"} and o["label"] for o in field["options"])
        else:
            assert field["options"] is None
        assert (field["conditions"] is None) is (spec.visible_if is None), field


def fields_by_id(form_id: str) -> dict:
    return {f["id"]: f for f in describe_form(form_id)["fields"]}


def test_describe_depart_motifs_and_return_date():
    fields = fields_by_id("depart_esat")
    motif = fields["motif_depart"]
    assert [o["value"] for o in motif["options"]] == MOTIFS  # options_from: motifs_depart
    labels = {o["value"]: o["label"] for o in motif["options"]}
    assert labels["conge_parental_education"] == "Congé parental d'éducation"
    assert labels["conge_presence_parentale"] == "Congé de présence parentale"
    assert fields["date_retour_prevue"]["conditions"] == {"field": "motif_depart", "in": CONGES}
    assert fields["date_retour_prevue"]["type"] == "date"


def test_describe_modification_activite_certify_block():
    fields = fields_by_id("modification_activite")
    assert [o["value"] for o in fields["sens"]["options"]] == ["augmentation", "reduction"]
    assert fields["certification"]["type"] == "certify"
    assert fields["certification"]["conditions"] == {"field": "nouveau_taux", "not_empty": True}


def test_describe_modification_double_activite_next_block():
    fields = fields_by_id("modification_double_activite")
    condition = {"field": "taux_esat_apres", "ne_field": "taux_esat_avant"}
    assert fields["taux_mo_apres"]["conditions"] == condition
    assert fields["certification"]["conditions"] == condition
    assert fields["taux_mo_avant"]["required"] is False
    assert fields["taux_mo_apres"]["required"] is False


def test_describe_fin_double_activite_motif():
    fields = fields_by_id("fin_double_activite")
    assert fields["motif_depart"]["conditions"] == {"field": "taux_esat_apres", "eq": 0}
    assert [o["value"] for o in fields["motif_depart"]["options"]] == MOTIFS
    assert fields["date_retour_prevue"]["conditions"] == {"field": "motif_depart", "in": CONGES}


@pytest.mark.parametrize("form_id", CHANGE_FORMS)
def test_check_a_valid_change(form_id):
    valid, _, _ = CHANGE_PAYLOADS[form_id]
    done = cli("check", form_id, "--on", CHANGE_ON, stdin=json.dumps(valid))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == {"valid": True, "errors": [], "warnings": [], "derived": {}}


@pytest.mark.parametrize("form_id", CHANGE_FORMS)
def test_check_an_invalid_change(form_id):
    _, invalid, refused = CHANGE_PAYLOADS[form_id]
    done = cli("check", form_id, "--on", CHANGE_ON, stdin=json.dumps(invalid))
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is False
    assert {e["field"] for e in report["errors"]} == refused
    assert all(e["message"].startswith(("«", "Pour une fin")) for e in report["errors"]), report
    assert "Traceback" not in done.stderr


def test_context_with_a_known_double_activity_refuses_modification_activite():
    valid, _, _ = CHANGE_PAYLOADS["modification_activite"]
    context = json.dumps({"double_activity": True, "status": "ACTIVE", "rate_esat": 50})
    done = cli(
        "check", "modification_activite", "--on", CHANGE_ON, "--context", context, stdin=json.dumps(valid)
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is False
    assert [e["field"] for e in report["errors"]] == [None]
    assert "Une double activité est connue pour ce travailleur" in report["errors"][0]["message"]


def test_context_known_dates_and_rates():
    payload = {
        "date_modification": "2026-06-01",
        "taux_esat_avant": "55",
        "taux_esat_apres": "50",
        "certification": True,
    }
    context = {
        "double_activity": True,
        "double_activity_since": "2026-06-01",
        "rate_esat": "60",
        "rate_mo": None,
    }
    args = ("check", "modification_double_activite", "--on", CHANGE_ON, "--context", json.dumps(context))
    done = cli(*args, stdin=json.dumps(payload))
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [e["field"] for e in report["errors"]] == ["date_modification"]
    assert "postérieure au 01/06/2026" in report["errors"][0]["message"]
    assert [w["field"] for w in report["warnings"]] == ["taux_esat_avant"]
    assert "(55 %) diffère" in report["warnings"][0]["message"].replace("\u00a0", " ")


def test_without_context_the_guards_are_not_applied():
    valid, _, _ = CHANGE_PAYLOADS["modification_double_activite"]
    done = cli("check", "modification_double_activite", "--on", CHANGE_ON, stdin=json.dumps(valid))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "context",
    [
        "{",
        "",
        "[]",
        '"texte"',
        '{"inconnu": 1}',
        '{"rate_esat": "abc"}',
        '{"rate_esat": "80,5"}',
        '{"rate_esat": true}',
        '{"rate_esat": "Infinity"}',
        '{"rate_esat": NaN}',
        '{"rate_mo": 1e999}',
        '{"double_activity_since": "2026-13-01"}',
        '{"last_change_date": "01/06/2026"}',
        '{"last_change_date": 12}',
        '{"double_activity": "false"}',
        '{"double_activity": 1}',
        '{"status": "PARTI"}',
        '{"status": ["ACTIVE"]}',
    ],
)
def test_malformed_context(context):
    valid, _, _ = CHANGE_PAYLOADS["modification_activite"]
    done = cli(
        "check", "modification_activite", "--on", CHANGE_ON, "--context", context, stdin=json.dumps(valid)
    )
    assert_usage_error(done)
    assert "--context" in done.stderr
