"""The questions that lead to a changement-de-situation form (DOMAIN §8.2–§8.3), and the strict
loading of question trees: every mistake is a FormError naming the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from forms import FormError, load_all, load_trees
from forms.loader import DEFINITIONS, load_tree
from forms.schema import QuestionTree

CHANGES = {
    "modification_activite",
    "depart_esat",
    "debut_double_activite",
    "modification_double_activite",
    "fin_double_activite",
    "retour_esat",
}


def tree() -> QuestionTree:
    return load_trees()["changement_situation"]


def follow(t: QuestionTree, answers: list[str]) -> str:
    """The form reached by answering ``answers`` (answer values) from the first question."""
    qid = t.start
    for i, value in enumerate(answers):
        answer = next((a for a in t.question(qid).answers if a.value == value), None)
        assert answer is not None, f"réponse '{value}' inconnue à la question '{qid}'"
        if answer.form is not None:
            assert i == len(answers) - 1, f"le parcours s'arrête à '{qid}' sur {answer.form}"
            return answer.form
        qid = answer.next
    raise AssertionError(f"le parcours {answers} s'arrête sur la question '{qid}', sans formulaire")


def all_paths(t: QuestionTree) -> list[tuple[list[str], str]]:
    out = []

    def walk(qid: str, path: list[str]) -> None:
        for a in t.question(qid).answers:
            if a.form:
                out.append(([*path, a.value], a.form))
            else:
                walk(a.next, [*path, a.value])

    walk(t.start, [])
    return out


# --- the tree of the application ------------------------------------------------------------------


def test_the_tree_loads():
    trees = load_trees()
    assert set(trees) == {"changement_situation"}
    t = tree()
    assert t.start == "double_activite"
    assert t.question(t.start).label == "Votre déclaration est-elle liée à une double activité ?"
    assert t.window == "always"
    for q in t.questions:
        assert q.label.endswith("?"), q.id
        assert all(a.label for a in q.answers), q.id


@pytest.mark.parametrize(
    ("answers", "form"),
    [
        (["non", "modification"], "modification_activite"),
        (["non", "depart"], "depart_esat"),
        (["non", "retour"], "retour_esat"),
        (["oui", "oui"], "debut_double_activite"),
        (["oui", "non", "oui"], "fin_double_activite"),
        (["oui", "non", "non"], "modification_double_activite"),
    ],
    ids=["non-modification", "non-depart", "non-retour", "oui-oui", "oui-non-oui", "oui-non-non"],
)
def test_each_path_leads_to_its_form(answers, form):
    assert follow(tree(), answers) == form


def test_the_questions_asked_on_the_way():
    t = tree()
    assert t.question("debut").label == "S'agit-il d'un début de double activité ?"
    assert t.question("fin").label == "S'agit-il d'une fin de double activité ?"
    assert [a.label for a in t.question("double_activite").answers] == ["Non", "Oui"]


def test_every_change_form_is_reachable_exactly_once():
    paths = all_paths(tree())
    reached = [form for _, form in paths]
    assert sorted(reached) == sorted(CHANGES)
    assert set(reached) <= set(load_all())
    assert "certificat_emploi" not in reached
    assert sorted(tree().forms()) == sorted(CHANGES)


def test_every_question_is_reachable():
    t = tree()
    reached = {t.start}
    for q in t.questions:
        reached |= {a.next for a in q.answers if a.next}
    assert reached == {q.id for q in t.questions}


# --- strict loading ---------------------------------------------------------------------------------

HEAD = """\
id: arbre
title: Arbre de test
summary: Un arbre de questions de test.
window: always
start: q1
questions:
"""


def write(folder: Path, body: str, name: str = "arbre.yaml", head: str = HEAD) -> Path:
    path = folder / name
    path.write_text(head + body, encoding="utf-8")
    return path


GOOD = """\
  - id: q1
    label: Première question ?
    answers:
      - {value: a, label: A, next: q2}
      - {value: b, label: B, form: depart_esat}
  - id: q2
    label: Deuxième question ?
    answers:
      - {value: c, label: C, form: modification_activite}
      - {value: d, label: D, form: debut_double_activite}
"""


def test_a_good_hand_made_tree_loads(tmp_path):
    write(tmp_path, GOOD)
    trees = load_trees(tmp_path, DEFINITIONS)
    assert follow(trees["arbre"], ["a", "d"]) == "debut_double_activite"


def refused(path: Path) -> str:
    with pytest.raises(FormError) as exc:
        load_tree(path)
    message = str(exc.value)
    assert message.startswith(f"{path.name}: "), message
    return message


def test_cycle(tmp_path):
    body = GOOD.replace("{value: c, label: C, form: modification_activite}", "{value: c, label: C, next: q1}")
    message = refused(write(tmp_path, body))
    assert "cycle" in message
    assert "q1 → q2 → q1" in message


def test_self_loop(tmp_path):
    body = GOOD.replace("{value: a, label: A, next: q2}", "{value: a, label: A, next: q1}")
    assert "cycle" in refused(write(tmp_path, body))


def test_unknown_next_question(tmp_path):
    body = GOOD.replace("next: q2", "next: q9")
    message = refused(write(tmp_path, body))
    assert "q9" in message
    assert "inconnue" in message


def test_answer_with_both_next_and_form(tmp_path):
    body = GOOD.replace("{value: a, label: A, next: q2}", "{value: a, label: A, next: q2, form: depart_esat}")
    message = refused(write(tmp_path, body))
    assert "questions[0].answers[0]" in message
    assert "'next'" in message and "'form'" in message


def test_answer_with_neither_next_nor_form(tmp_path):
    body = GOOD.replace("{value: a, label: A, next: q2}", "{value: a, label: A}")
    assert "questions[0].answers[0]" in refused(write(tmp_path, body))


def test_duplicate_question_id(tmp_path):
    body = GOOD.replace("id: q2", "id: q1").replace("next: q2", "next: q1")
    assert "question définie deux fois" in refused(write(tmp_path, body))


def test_unknown_start(tmp_path):
    message = refused(write(tmp_path, GOOD, head=HEAD.replace("start: q1", "start: q0")))
    assert "q0" in message


def test_unknown_key(tmp_path):
    body = GOOD.replace("    label: Première question ?\n", "    label: Première question ?\n    aide: x\n")
    assert "aide" in refused(write(tmp_path, body))


def test_duplicate_yaml_key(tmp_path):
    message = refused(write(tmp_path, GOOD, head=HEAD.replace("start: q1\n", "start: q1\nstart: q2\n")))
    assert "double" in message


def test_id_differs_from_the_file_name(tmp_path):
    assert "différent du nom du fichier" in refused(write(tmp_path, GOOD, name="autre.yaml"))


def test_a_question_needs_two_answers(tmp_path):
    body = """\
  - id: q1
    label: Une seule réponse ?
    answers:
      - {value: a, label: A, form: depart_esat}
"""
    assert "answers" in refused(write(tmp_path, body))


def test_unknown_form(tmp_path):
    write(tmp_path, GOOD.replace("form: depart_esat", "form: depart_inconnu"))
    with pytest.raises(FormError) as exc:
        load_trees(tmp_path, DEFINITIONS)
    message = str(exc.value)
    assert message.startswith("arbre.yaml: ")
    assert "formulaire inconnu" in message
    assert "depart_inconnu" in message
