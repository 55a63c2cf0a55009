"""The strict form loader: every mistake in a definition is a FormError naming the file and the path."""

from pathlib import Path

import pytest

from forms import FormDefinition, FormError, load_all, load_form
from forms.loader import DEFINITIONS, read_yaml

HEAD = """\
id: demo
version: 1
title: Démo
summary: Un formulaire de test.
window: always
receipt:
  title: Justificatif de démo
"""

FIELDS = """\
fields:
  - id: montant
    type: amount
    label: Montant
  - id: autre
    type: amount
    label: Autre montant
"""


def write(folder: Path, text: str, name: str = "demo.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_definition_loads(tmp_path):
    form = load_form(write(tmp_path, HEAD + FIELDS))
    assert isinstance(form, FormDefinition)
    assert [f.id for f in form.fields] == ["montant", "autre"]
    assert form.fields[0].required is True


def test_duplicate_top_level_key(tmp_path):
    path = write(tmp_path, HEAD + "title: Encore\n" + FIELDS)
    with pytest.raises(FormError) as exc:
        load_form(path)
    text = str(exc.value)
    assert "demo.yaml" in text
    assert "title" in text
    assert "double" in text


def test_duplicate_key_nested_in_a_field(tmp_path):
    text = HEAD + FIELDS.replace("    label: Montant\n", "    label: Montant\n    label: Montant bis\n")
    with pytest.raises(FormError) as exc:
        load_form(write(tmp_path, text))
    message = str(exc.value)
    assert "demo.yaml" in message
    assert "'label'" in message
    assert "double" in message


def test_duplicate_key_in_read_yaml(tmp_path):
    with pytest.raises(FormError, match=r"cas\.yaml.*'a'"):
        read_yaml(write(tmp_path, "a: 1\nb: 2\na: 3\n", "cas.yaml"))


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(FormError) as exc:
        load_form(write(tmp_path, HEAD + "titre: Démo\n" + FIELDS))
    message = str(exc.value)
    assert message.startswith("demo.yaml: ")
    assert "titre" in message


def test_unknown_key_inside_a_field(tmp_path):
    text = HEAD + FIELDS.replace("    label: Montant\n", "    labl: Montant\n")
    with pytest.raises(FormError) as exc:
        load_form(write(tmp_path, text))
    message = str(exc.value)
    assert message.startswith("demo.yaml: ")
    assert "fields[0].labl" in message
    # the misspelt key also leaves the required 'label' missing
    assert "fields[0].label" in message


def test_unknown_key_inside_the_second_field(tmp_path):
    text = HEAD + FIELDS.replace("    label: Autre montant\n", "    label: Autre montant\n    aide: x\n")
    with pytest.raises(FormError, match=r"demo\.yaml: .*fields\[1\]\.aide"):
        load_form(write(tmp_path, text))


def test_unknown_field_type(tmp_path):
    text = HEAD + FIELDS.replace("type: amount\n    label: Montant\n", "type: money\n    label: Montant\n")
    with pytest.raises(FormError, match=r"demo\.yaml: .*fields\[0\]\.type"):
        load_form(write(tmp_path, text))


def test_id_different_from_file_stem(tmp_path):
    with pytest.raises(FormError) as exc:
        load_form(write(tmp_path, HEAD + FIELDS, "autre_nom.yaml"))
    message = str(exc.value)
    assert "autre_nom.yaml" in message
    assert "'demo'" in message


def test_condition_on_a_field_defined_after_it(tmp_path):
    text = (
        HEAD
        + """\
fields:
  - id: premier
    type: amount
    label: Premier
    visible_if: {field: second, not_empty: true}
  - id: second
    type: amount
    label: Second
"""
    )
    with pytest.raises(FormError) as exc:
        load_form(write(tmp_path, text))
    message = str(exc.value)
    assert "demo.yaml" in message
    assert "premier" in message
    assert "second" in message


def test_condition_on_an_earlier_field_is_fine(tmp_path):
    text = (
        HEAD
        + """\
fields:
  - id: premier
    type: amount
    label: Premier
  - id: second
    type: amount
    label: Second
    visible_if: {any: [{field: premier, gt: 0}, {field: premier, empty: true}]}
"""
    )
    form = load_form(write(tmp_path, text))
    assert form.field("second").visible_if.fields() == {"premier"}


def test_condition_with_two_operators(tmp_path):
    text = HEAD + FIELDS + "    visible_if: {field: montant, gt: 0, lt: 5}\n"
    with pytest.raises(FormError, match=r"demo\.yaml: .*fields\[1\]\.visible_if"):
        load_form(write(tmp_path, text))


def test_check_on_an_unknown_field(tmp_path):
    text = HEAD + FIELDS + "checks:\n  - {check: lte_field, field: montant, other: inconnu}\n"
    with pytest.raises(FormError) as exc:
        load_form(write(tmp_path, text))
    message = str(exc.value)
    assert "demo.yaml" in message
    assert "checks[0]" in message
    assert "inconnu" in message


def test_check_with_unknown_kind(tmp_path):
    text = HEAD + FIELDS + "checks:\n  - {check: plus_petit, field: montant, other: autre}\n"
    with pytest.raises(FormError, match=r"demo\.yaml: checks\[0\]"):
        load_form(write(tmp_path, text))


def test_check_with_unknown_key(tmp_path):
    text = HEAD + FIELDS + "checks:\n  - {check: lte_field, field: montant, other: autre, niveau: error}\n"
    with pytest.raises(FormError, match=r"demo\.yaml: .*checks\[0\]\.lte_field\.niveau"):
        load_form(write(tmp_path, text))


def test_derived_on_an_unknown_field(tmp_path):
    text = HEAD + FIELDS + "derived:\n  - {id: pct, label: Pct, compute: smic_percentage, field: inconnu}\n"
    with pytest.raises(FormError, match=r"demo\.yaml: .*inconnu"):
        load_form(write(tmp_path, text))


def test_choice_without_options(tmp_path):
    text = HEAD + "fields:\n  - id: motif\n    type: choice\n    label: Motif\n"
    with pytest.raises(FormError) as exc:
        load_form(write(tmp_path, text))
    message = str(exc.value)
    assert "demo.yaml" in message
    assert "fields[0]" in message
    assert "options" in message


def test_options_on_a_non_choice_field(tmp_path):
    text = (
        HEAD
        + "fields:\n  - id: montant\n    type: amount\n    label: M\n    options: [{value: a, label: A}]\n"
    )
    with pytest.raises(FormError, match=r"demo\.yaml: fields\[0\]"):
        load_form(write(tmp_path, text))


def test_field_defined_twice(tmp_path):
    text = HEAD + FIELDS.replace("id: autre", "id: montant")
    with pytest.raises(FormError, match=r"demo\.yaml: .*'montant'"):
        load_form(write(tmp_path, text))


def test_invalid_yaml_names_the_file(tmp_path):
    with pytest.raises(FormError, match=r"demo\.yaml: YAML invalide"):
        load_form(write(tmp_path, HEAD + "fields: [\n"))


def test_not_a_mapping(tmp_path):
    with pytest.raises(FormError, match=r"demo\.yaml"):
        load_form(write(tmp_path, "- a\n- b\n"))


def test_load_all_on_another_folder(tmp_path):
    write(tmp_path, HEAD + FIELDS)
    assert list(load_all(tmp_path)) == ["demo"]


def test_load_all_stops_on_the_first_bad_file(tmp_path):
    write(tmp_path, HEAD + FIELDS)
    write(tmp_path, HEAD.replace("id: demo", "id: faux") + "x: 1\n" + FIELDS, "faux.yaml")
    with pytest.raises(FormError, match=r"faux\.yaml"):
        load_all(tmp_path)


def test_every_real_definition_loads():
    forms = load_all()
    files = sorted(p.stem for p in DEFINITIONS.glob("*.yaml"))
    assert files
    assert sorted(forms) == files
    assert "certificat_emploi" in forms
    for form_id, form in forms.items():
        assert form.id == form_id
        assert form.title
        assert form.fields


def test_certificat_definition():
    form = load_all()["certificat_emploi"]
    assert [f.id for f in form.fields] == ["remuneration_garantie", "aide_au_poste", "part_esat"]
    assert all(f.type == "amount" and f.required for f in form.fields)
    assert form.window == "certificat"
    assert form.unique_per == "campaign"
