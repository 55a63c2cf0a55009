"""The review of the declaration flows (services/review.py): every form, field, condition,
check, guard and effect of the definitions has a French rendering, generated, never typed.

The coverage tests read the schema's vocabularies: adding a field type, an operator, a check
kind, a guard or an effect target to forms/schema.py without its French rendering fails here.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from forms import FormDefinition, load_all, load_form, load_trees
from forms.fmt import NBSP
from forms.loader import DEFINITIONS, read_yaml
from forms.schema import (
    CONTEXT_KEYS,
    OPERATORS,
    Check,
    Condition,
    Derived,
    Effect,
    FieldType,
    Guard,
    Level,
    QuestionTree,
)
from rules import checks
from rules.__main__ import STATUSES
from services import review

ON = date(2026, 12, 15)
FORMS = load_all()
TREES = load_trees()
RETURN = "si « Motif du départ » est « Congé parental d'éducation » ou « Congé de présence parentale »"


def literal_values(annotation: Any) -> set[Any]:
    return set(get_args(annotation))


def check_kinds() -> set[str]:
    union = get_args(Check)[0]  # Annotated[Union[...], discriminator]
    kinds: set[str] = set()
    for member in get_args(union):
        kinds |= literal_values(member.model_fields["check"].annotation)
    return kinds


def raw_words(form: FormDefinition) -> set[str]:
    """Technical names that must never reach a reader: ids, option values, parameter names."""
    words = {f.id for f in form.fields if "_" in f.id}
    for f in form.fields:
        if f.type == "choice":
            words |= {o.value for o in checks.options(f) if "_" in o.value}
    for c in form.checks:
        words |= {getattr(c, k) for k in ("param", "param_before", "param_after", "known") if hasattr(c, k)}
    words |= {k for k in CONTEXT_KEYS if "_" in k} | {"smic_mensuel"}
    return words


def assert_plain_french(text: str, form: FormDefinition) -> None:
    assert text.strip(), "texte vide"
    for bad in ("None", "Decimal(", "datetime", "True", "False", "absente de la liste", "sans valeur"):
        assert bad not in text, f"{bad!r} dans : {text}"
    for word in raw_words(form):
        assert not re.search(rf"\b{re.escape(word)}\b", text), f"nom technique {word!r} dans : {text}"


def dot_problems(text: str) -> list[str]:
    """A tiny structural check of a DOT text: quotes closed, braces balanced outside strings."""
    problems = []
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            elif ch == "\n":
                problems.append("saut de ligne dans une chaîne")
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                problems.append("accolade fermante en trop")
    if in_string:
        problems.append("chaîne non fermée")
    if depth != 0:
        problems.append("accolades déséquilibrées")
    if not text.startswith("digraph "):
        problems.append("ne commence pas par digraph")
    if not text.rstrip().endswith("}"):
        problems.append("ne finit pas par }")
    return problems


def unwrapped(dot: str) -> str:
    """The DOT text with its label line breaks turned back into spaces and quotes unescaped."""
    return dot.replace("\\n", " ").replace('\\"', '"').replace("\\\\", "\\")


# --- a hand-made form using every field type --------------------------------------------


def sample_form(**changes: Any) -> FormDefinition:
    data: dict[str, Any] = {
        "id": "essai",
        "version": 1,
        "title": "Essai",
        "summary": "Formulaire d'essai.",
        "window": "always",
        "receipt": {"title": "Justificatif d'essai"},
        "fields": [
            {"id": "montant", "type": "amount", "label": "Montant"},
            {"id": "autre_montant", "type": "amount", "label": "Autre montant"},
            {"id": "taux", "type": "rate", "label": "Taux"},
            {"id": "jour", "type": "date", "label": "Jour"},
            {
                "id": "motif",
                "type": "choice",
                "label": "Motif",
                "options": [
                    {"value": "premier_choix", "label": "Premier choix"},
                    {"value": "second_choix", "label": "Second choix"},
                ],
            },
            {"id": "reponse", "type": "yesno", "label": "Réponse"},
            {"id": "case_a_cocher", "type": "certify", "label": "Case"},
            {"id": "note", "type": "text", "label": "Note", "required": False},
        ],
    }
    data.update(changes)
    return FormDefinition.model_validate(data)


OPERATOR_CASES = {
    "eq": ({"field": "taux", "eq": 0}, f"si « Taux » est égal à 0{NBSP}%"),
    "ne": ({"field": "motif", "ne": "premier_choix"}, "si « Motif » n'est pas « Premier choix »"),
    "in": (
        {"field": "motif", "in": ["premier_choix", "second_choix"]},
        "si « Motif » est « Premier choix » ou « Second choix »",
    ),
    "not_in": (
        {"field": "motif", "not_in": ["premier_choix", "second_choix"]},
        "si « Motif » n'est ni « Premier choix » ni « Second choix »",
    ),
    "gt": ({"field": "montant", "gt": 1000}, f"si « Montant » est supérieur à 1{NBSP}000,00{NBSP}€"),
    "gte": ({"field": "taux", "gte": 50}, f"si « Taux » est supérieur ou égal à 50{NBSP}%"),
    "lt": ({"field": "montant", "lt": 10.5}, f"si « Montant » est inférieur à 10,50{NBSP}€"),
    "lte": ({"field": "taux", "lte": 62.5}, f"si « Taux » est inférieur ou égal à 62,5{NBSP}%"),
    "eq_field": (
        {"field": "montant", "eq_field": "autre_montant"},
        "si « Montant » est égal à « Autre montant »",
    ),
    "ne_field": (
        {"field": "montant", "ne_field": "autre_montant"},
        "si « Montant » est différent de « Autre montant »",
    ),
    "empty": ({"field": "note", "empty": True}, "si « Note » est vide"),
    "not_empty": ({"field": "note", "not_empty": True}, "si « Note » est renseigné"),
}


# --- the vocabularies of the schema all have a French rendering ----------------------------


def test_every_field_type_has_a_french_name():
    assert set(review.FIELD_TYPES) == literal_values(FieldType)
    assert all(review.FIELD_TYPES.values())


def test_every_check_kind_has_a_sentence():
    kinds = check_kinds()
    assert len(kinds) >= 15  # the introspection itself works
    assert set(review.CHECK_SENTENCES) == kinds


def test_every_condition_operator_has_a_phrase():
    assert set(review.OPERATOR_PHRASES) == set(OPERATORS)
    assert set(review.CONJUNCTIONS) == {"all", "any"}
    # An operator added to Condition but forgotten in OPERATORS is caught too.
    keys = {(info.alias or name) for name, info in Condition.model_fields.items()} - {"field"}
    assert keys == set(review.OPERATOR_PHRASES) | set(review.CONJUNCTIONS)
    assert set(OPERATOR_CASES) == set(OPERATORS)


def test_every_guard_effect_target_and_status_has_a_rendering():
    assert set(review.GUARD_SENTENCES) == literal_values(Guard.model_fields["guard"].annotation)
    assert set(review.EFFECT_TARGETS) == literal_values(Effect.model_fields["set"].annotation)
    assert set(review.STATUS_LABELS) == set(STATUSES)
    assert set(CONTEXT_KEYS) <= set(review.KNOWN)


def test_every_window_level_uniqueness_and_derived_value_has_a_rendering():
    windows = literal_values(FormDefinition.model_fields["window"].annotation)
    assert set(review.WINDOWS) == windows == literal_values(QuestionTree.model_fields["window"].annotation)
    assert set(review.LEVELS) == literal_values(Level)
    uniques: set[Any] = set()
    for part in get_args(FormDefinition.model_fields["unique_per"].annotation):
        uniques |= {None} if part is type(None) else literal_values(part)
    assert set(review.UNIQUE_PER) == uniques == {None, "campaign", "effective_date"}
    assert set(review.DERIVED) == literal_values(Derived.model_fields["compute"].annotation)


def test_every_check_kind_is_rendered_on_a_real_form():
    used = {c.check for form in FORMS.values() for c in form.checks}
    assert used == check_kinds(), "un type de contrôle n'est exercé par aucun formulaire réel"


# --- conditions -----------------------------------------------------------------------------


def test_return_date_condition_is_read_in_french():
    form = FORMS["depart_esat"]
    cond = form.field("date_retour_prevue").visible_if
    assert review.condition_sentence(cond, form) == RETURN


@pytest.mark.parametrize("op", sorted(OPERATOR_CASES))
def test_every_operator_reads_in_french(op: str):
    raw, expected = OPERATOR_CASES[op]
    form = sample_form()
    text = review.condition_sentence(Condition.model_validate(raw), form)
    assert text == expected
    assert_plain_french(text, form)


def test_constants_are_shown_as_the_user_reads_them():
    form = sample_form()

    def read(raw: dict) -> str:
        return review.condition_sentence(Condition.model_validate(raw), form)

    assert read({"field": "reponse", "eq": True}) == "si « Réponse » est « Oui »"
    assert read({"field": "case_a_cocher", "eq": True}) == "si « Case » est coché"
    assert read({"field": "jour", "eq": date(2024, 1, 1)}) == "si « Jour » est le 01/01/2024"
    assert read({"field": "motif", "not_in": ["premier_choix"]}) == "si « Motif » n'est pas « Premier choix »"


def test_all_and_any_are_joined_with_et_and_ou():
    form = sample_form()
    cond = Condition.model_validate(
        {
            "all": [
                {"field": "taux", "gt": 0},
                {"any": [{"field": "motif", "eq": "premier_choix"}, {"field": "reponse", "eq": True}]},
            ]
        }
    )
    assert review.condition_sentence(cond, form) == (
        f"si « Taux » est supérieur à 0{NBSP}% et (« Motif » est « Premier choix » ou « Réponse » est « Oui »)"
    )


def test_real_conditions():
    fin = FORMS["fin_double_activite"]
    assert (
        review.condition_sentence(fin.field("motif_depart").visible_if, fin)
        == f"si « Nouveau taux d'activité en ESAT » est égal à 0{NBSP}%"
    )
    mod = FORMS["modification_double_activite"]
    assert review.condition_sentence(mod.field("taux_mo_apres").visible_if, mod) == (
        "si « Taux d'activité en ESAT après la modification » est différent de "
        "« Taux d'activité en ESAT avant la modification »"
    )
    act = FORMS["modification_activite"]
    assert (
        review.condition_sentence(act.field("certification").visible_if, act)
        == "si « Nouveau taux d'activité » est renseigné"
    )


# --- every real form, every field, check, guard, effect ------------------------------------


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_every_field_has_a_french_row(form_id: str):
    form = FORMS[form_id]
    rows = review.field_rows(form)
    assert [r["id"] for r in rows] == [f.id for f in form.fields]
    for row, f in zip(rows, form.fields, strict=True):
        assert row["libellé"] == f.label
        assert row["type"] in review.FIELD_TYPES.values()
        assert row["obligatoire"] == "Oui" or row["obligatoire"].startswith(
            ("Non", "Oui, si «", "Affiché si «")
        )
        for key in ("libellé", "type", "obligatoire", "bornes", "options", "aide"):
            if row[key]:
                assert_plain_french(row[key], form)
        if f.type == "choice":
            assert row["options"] == ", ".join(o.label for o in checks.options(f))
        else:
            assert row["options"] == ""


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_every_check_has_a_french_sentence(form_id: str):
    form = FORMS[form_id]
    rows = review.check_rows(form, ON)
    assert len(rows) == len(form.checks)
    for row, c in zip(rows, form.checks, strict=True):
        assert "«" in row["contrôle"]
        assert row["contrôle"].endswith("— contrôle bloquant." if c.level == "error" else "— avertissement.")
        assert row["niveau"] == ("Bloquant" if c.level == "error" else "Avertissement")
        assert row["source"]
        for text in row.values():
            assert_plain_french(text, form)


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_every_guard_and_effect_has_a_french_sentence(form_id: str):
    form = FORMS[form_id]
    for g in form.guards:
        assert_plain_french(review.guard_sentence(g.guard), form)
    for e in form.effects:
        text = review.effect_sentence(e, form)
        assert text.endswith(".")
        assert_plain_french(text, form)
    for d in form.derived:
        assert_plain_french(review.derived_sentence(d, form, ON), form)


def test_field_rows_say_what_is_required_and_the_bounds():
    rows = {r["id"]: r for r in review.field_rows(FORMS["depart_esat"])}
    assert rows["date_retour_prevue"]["obligatoire"] == "Oui, " + RETURN
    assert rows["date_depart"]["obligatoire"] == "Oui"
    assert "Congé parental d'éducation" in rows["motif_depart"]["options"]

    rows = {r["id"]: r for r in review.field_rows(FORMS["debut_double_activite"])}
    assert rows["taux_esat_apres"]["bornes"] == f"entre 0{NBSP}% exclu et 100{NBSP}% exclu"
    assert rows["taux_esat_apres"]["type"] == "Taux (%)"
    assert rows["date_debut"]["type"] == "Date"

    rows = {r["id"]: r for r in review.field_rows(FORMS["modification_double_activite"])}
    assert rows["taux_mo_avant"]["obligatoire"] == "Non"
    assert rows["taux_mo_apres"]["obligatoire"].startswith("Affiché si « Taux d'activité en ESAT après")

    rows = {r["id"]: r for r in review.field_rows(FORMS["modification_activite"])}
    assert rows["sens"]["options"] == "Augmentation d'activité, Réduction d'activité"
    assert rows["certification"]["type"] == "Case à cocher (certification)"


def test_check_sentence_shows_the_parameters_in_force_on_the_date():
    form = FORMS["certificat_emploi"]
    plafond = form.checks[0]
    assert plafond.check == "max_smic_ratio"
    late = review.check_sentence(plafond, form, ON)
    assert late == (
        f"« Montant brut de la rémunération garantie » ne dépasse pas 300{NBSP}% du SMIC mensuel brut "
        f"(1{NBSP}867,02{NBSP}€), soit 5{NBSP}601,06{NBSP}€ — contrôle bloquant."
    )
    early = review.check_sentence(plafond, form, date(2024, 11, 30))
    assert f"1{NBSP}801,80{NBSP}€" in early and f"5{NBSP}405,40{NBSP}€" in early
    assert early != late


def test_check_sentence_says_when_and_level():
    form = FORMS["modification_activite"]
    text = review.check_sentence(form.checks[0], form, ON)
    assert text == (
        "« Nouveau taux d'activité » est supérieur à « Taux d'activité avant le changement », "
        "lorsque « Nature du changement » est « Augmentation d'activité » — contrôle bloquant."
    )
    warning = next(c for c in form.checks if c.level == "warning")
    assert review.check_sentence(warning, form, ON).endswith("— avertissement.")


def test_date_window_shows_the_dates_for_the_day():
    form = FORMS["depart_esat"]
    text = review.check_sentence(form.checks[0], form, ON)
    assert "24 mois avant et 3 mois après" in text
    assert "du 15/12/2024 au 15/03/2027" in text


def test_a_parameter_without_value_on_the_date_is_said_not_hidden():
    form = FORMS["certificat_emploi"]
    text = review.check_sentence(form.checks[0], form, date(2005, 1, 1))
    assert "paramètre sans valeur au 01/01/2005" in text


def test_sources_name_the_law_or_the_assumption():
    form = FORMS["certificat_emploi"]
    by_param = {
        getattr(c, "param", None): row
        for c, row in zip(form.checks, review.check_rows(form, ON), strict=True)
    }
    assert "Hypothèse (DOMAIN.md)" in by_param["plafond_montant_smic"]["source"]
    legal = by_param["part_esat_min_smic"]["source"]
    assert "R243-6 CASF" in legal and "Hypothèse" not in legal
    lte = next(i for i, c in enumerate(form.checks) if c.check == "lte_field")
    assert review.check_rows(form, ON)[lte]["source"] == "Règle du formulaire"
    bounds = next(i for i, c in enumerate(form.checks) if c.check == "between_smic_ratio")
    assert "R243-5 CASF" in review.check_rows(form, ON)[bounds]["source"]
    debut = FORMS["debut_double_activite"]
    assert review.check_rows(debut, ON)[0]["source"].startswith("Décrets 2022-1561")  # date_from


def test_guard_and_effect_sentences():
    assert (
        review.guard_sentence("active")
        == "Le travailleur doit être en activité dans l'ESAT (ni parti, ni en congé)."
    )
    form = FORMS["modification_activite"]
    assert (
        review.effect_sentence(form.effects[0], form)
        == "Le taux ESAT connu devient « Nouveau taux d'activité »."
    )
    depart = FORMS["depart_esat"]
    assert review.effect_sentence(depart.effects[0], depart) == (
        "La situation du travailleur devient « En congé », lorsque « Motif du départ » est "
        "« Congé parental d'éducation » ou « Congé de présence parentale »."
    )


# --- diagrams ------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_form_dot_is_well_formed_and_shows_every_field(form_id: str):
    form = FORMS[form_id]
    dot = review.form_dot(form)
    assert dot_problems(dot) == []
    text = unwrapped(dot)
    for step in ("Saisie", "Récapitulatif", "Fin"):
        assert f'"{step}' in text
    for f in form.fields:
        assert f'"champ_{f.id}" [label=' in dot
        assert f.label in text
        if f.visible_if is not None:
            for source in f.visible_if.fields():
                assert f'"champ_{source}" -> "champ_{f.id}" [label=' in dot
    positions = [dot.index(f'"champ_{f.id}" [label=') for f in form.fields]
    assert positions == sorted(positions)


def test_form_dot_edge_is_labelled_by_the_condition():
    dot = unwrapped(review.form_dot(FORMS["depart_esat"]))
    assert (
        '"champ_motif_depart" -> "champ_date_retour_prevue" [label="est « Congé parental '
        "d'éducation » ou « Congé de présence parentale »\"" in dot
    )


def test_form_dot_escapes_quotes_and_backslashes():
    form = sample_form(title='Essai "guillemets" \\ barre')
    fields = [f.model_dump(by_alias=True, exclude_unset=True) for f in form.fields]
    fields[0]["label"] = 'Montant "net" \\ brut'
    fields.append(
        {
            "id": "suite",
            "type": "text",
            "label": "Suite",
            "visible_if": {"field": "montant", "eq_field": "taux"},
        }
    )
    form = sample_form(title='Essai "guillemets" \\ barre', fields=fields)
    dot = review.form_dot(form)
    assert dot_problems(dot) == []
    assert 'Montant \\"net\\" \\\\ brut' in dot


def test_tree_dot_is_well_formed_and_shows_every_question_and_form():
    for tree in TREES.values():
        dot = review.tree_dot(tree, FORMS)
        assert dot_problems(dot) == []
        text = unwrapped(dot)
        for q in tree.questions:
            assert f'"question_{q.id}" [label=' in dot and q.label in text
        for form_id in tree.forms():
            assert FORMS[form_id].title in text
        assert dot.count('shape="diamond"') == len(tree.questions)
        assert dot.count(" -> ") == sum(len(q.answers) for q in tree.questions) + 1


# --- catalogue -----------------------------------------------------------------------------


def test_catalogue_lists_every_form_field_and_question():
    text = review.catalogue_markdown(ON)
    for form in FORMS.values():
        assert f"### {form.title}" in text
        assert f"`{form.id}` — version {form.version}" in text
        for f in form.fields:
            assert f.label in text
    for tree in TREES.values():
        for q in tree.questions:
            assert q.label in text
    assert "Période de dépôt : du 1er décembre au dernier jour de février" in text
    assert "Période de dépôt : toute l'année" in text
    assert RETURN in text
    assert "None" not in text and "Decimal(" not in text


def test_catalogue_is_stable():
    assert review.catalogue_markdown(ON) == review.catalogue_markdown(ON)
    assert review.catalogue_markdown(ON) != review.catalogue_markdown(date(2024, 12, 15))


def table_shapes(text: str) -> list[tuple[int, int]]:
    """(cells of the header, cells of the row) for every table row: equal when pipes are escaped."""
    shapes, header = [], 0
    for line in text.splitlines():
        if not line.startswith("|"):
            header = 0
            continue
        cells = len(re.findall(r"(?<!\\)\|", line)) - 1
        if header == 0:
            header = cells
        shapes.append((header, cells))
    return shapes


def test_catalogue_tables_escape_pipes(monkeypatch: pytest.MonkeyPatch):
    fields = [f.model_dump(by_alias=True, exclude_unset=True) for f in sample_form().fields]
    fields[0]["label"] = "Montant | net"
    fields[0]["help"] = "a | b"
    form = sample_form(
        fields=fields, checks=[{"check": "lte_field", "field": "montant", "other": "autre_montant"}]
    )
    monkeypatch.setattr(review, "load_all", lambda: {"essai": form})
    monkeypatch.setattr(review, "load_trees", dict)
    text = review.catalogue_markdown(ON)
    assert "Montant \\| net" in text
    shapes = table_shapes(text)
    assert shapes and all(h == c for h, c in shapes)


def test_real_catalogue_tables_are_rectangular():
    shapes = table_shapes(review.catalogue_markdown(ON))
    assert len(shapes) > 20 and all(h == c for h, c in shapes)


# --- differences between two definitions ---------------------------------------------------


def edited(tmp_path: Path, form_id: str, edit: Any) -> FormDefinition:
    data = read_yaml(DEFINITIONS / f"{form_id}.yaml")
    edit(data)
    path = tmp_path / f"{form_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_form(path)


def test_diff_of_a_form_with_itself_is_empty():
    for form in FORMS.values():
        assert review.diff(form, form) == {"ajoutés": [], "supprimés": [], "modifiés": []}


def test_diff_says_each_change_once_in_french(tmp_path: Path):
    def edit(data: dict) -> None:
        fields = {f["id"]: f for f in data["fields"]}
        fields["date_modification"]["label"] = "Date d'effet de la modification"  # label
        fields["taux_esat_avant"]["max"] = 90  # bounds
        fields["taux_mo_apres"]["visible_if"] = {"field": "taux_esat_apres", "not_empty": True}  # condition
        data["fields"] = [f for f in data["fields"] if f["id"] != "certification"]  # removed field
        data["fields"].append(
            {"id": "commentaire", "type": "text", "label": "Commentaire de l'ESAT", "required": False}
        )
        assert data["checks"][0]["check"] == "ne_field"
        del data["checks"][0]  # removed check
        data["checks"].append(
            {"check": "lte_field", "field": "taux_mo_apres", "other": "taux_mo_avant", "level": "warning"}
        )

    old = FORMS["modification_double_activite"]
    new = edited(tmp_path, "modification_double_activite", edit)
    changes = review.diff(old, new)
    assert list(changes) == ["ajoutés", "supprimés", "modifiés"]
    assert changes["ajoutés"] == [
        "Champ « Commentaire de l'ESAT » (Texte, obligatoire : Non)",
        "Contrôle : « Taux d'activité en milieu ordinaire après la modification » ne dépasse pas "
        "« Taux d'activité en milieu ordinaire avant la modification » — avertissement.",
    ]
    assert changes["supprimés"] == [
        "Champ « Je certifie l'exactitude des informations déclarées » (Case à cocher (certification), "
        "obligatoire : Oui, si « Taux d'activité en ESAT après la modification » est différent de "
        "« Taux d'activité en ESAT avant la modification »)",
        "Contrôle : « Taux d'activité en ESAT après la modification » est différent de "
        "« Taux d'activité en ESAT avant la modification » — contrôle bloquant.",
    ]
    assert changes["modifiés"] == [
        "Champ « Date de la modification » : libellé « Date de la modification » → "
        "« Date d'effet de la modification »",
        f"Champ « Taux d'activité en ESAT avant la modification » : bornes « entre 0{NBSP}% exclu et "
        f"100{NBSP}% exclu » → « entre 0{NBSP}% exclu et 90{NBSP}% exclu »",
        "Champ « Taux d'activité en milieu ordinaire après la modification » : condition d'affichage "
        "« si « Taux d'activité en ESAT après la modification » est différent de « Taux d'activité en "
        "ESAT avant la modification » » → « si « Taux d'activité en ESAT après la modification » est "
        "renseigné »",
    ]
    for items in changes.values():
        for item in items:
            assert_plain_french(item, old)


def test_diff_of_form_level_changes_guards_effects_and_options(tmp_path: Path):
    def edit(data: dict) -> None:
        data["version"] = 2
        data["title"] = "Changement du taux d'activité"
        data["guards"] = [{"guard": "active"}]
        data["effects"].append({"set": "status", "value": "ACTIVE"})
        sens = data["fields"][0]
        sens["options"][1]["label"] = "Diminution d'activité"
        sens["required"] = False

    old = FORMS["modification_activite"]
    new = edited(tmp_path, "modification_activite", edit)
    changes = review.diff(old, new)
    assert changes["modifiés"] == [
        "Version : 1 → 2",
        "Titre : « Augmentation ou réduction d'activité » → « Changement du taux d'activité »",
        "Champ « Nature du changement » : obligatoire Oui → Non",
        "Champ « Nature du changement » : option « Réduction d'activité » → « Diminution d'activité »",
    ]
    assert changes["ajoutés"] == ["Effet : La situation du travailleur devient « En activité »."]
    assert changes["supprimés"] == [
        "Condition d'accès : Aucune double activité (ESAT et milieu ordinaire) ne doit être connue "
        "de la Caf pour ce travailleur."
    ]
