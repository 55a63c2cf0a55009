"""AppTest of the Revue des formulaires: every form reviewed, a dry run that stores nothing, comments."""

from __future__ import annotations

from datetime import date

import pytest

from forms import load_all
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.test_pages import logged_in

__all__ = ["no_legacy_pages"]

REVIEWER = "relecteur@example.org"


def reviewer():
    at = logged_in(REVIEWER)
    assert titles(at) == ["Revue des formulaires"]
    return at


def counts(store) -> tuple[int, int, int]:
    return (
        store.scalar("SELECT count(*) FROM declaration"),
        store.scalar("SELECT count(*) FROM outbox"),
        store.scalar("SELECT count(*) FROM declaration_value"),
    )


@pytest.mark.parametrize("form_id", sorted(load_all()))
def test_every_form_is_reviewed_without_error(env, form_id):
    at = reviewer()
    at.selectbox(key="review_form").set_value(form_id).run()
    assert not at.exception
    form = load_all()[form_id]
    shown = texts(at)
    assert form.summary in shown
    assert at.table, "field and check tables"


def test_a_dry_run_shows_the_recap_and_stores_nothing(env, store):
    before = counts(store)
    outbox = list((env.outbox).glob("*.eml")) if env.outbox.exists() else []
    at = reviewer()
    at.selectbox(key="review_form").set_value("certificat_emploi").run()
    at.date_input(key="review_on").set_value(date(2026, 12, 15)).run()
    for field_id, value in {
        "remuneration_garantie": "1 100,50",
        "aide_au_poste": "946,55",
        "part_esat": "153,95",
    }.items():
        next(w for w in at.text_input if w.key and w.key.endswith(field_id)).input(value)
    at.run()
    button(at, "Vérifier").click().run()
    assert "Déclaration acceptée" in texts(at)
    assert "1\u00a0100,50\u00a0€" in texts(at).replace("\\", "")
    assert counts(store) == before
    assert (list(env.outbox.glob("*.eml")) if env.outbox.exists() else []) == outbox


def test_a_dry_run_at_another_date_applies_that_dates_rules(env):
    at = reviewer()
    at.selectbox(key="review_form").set_value("certificat_emploi").run()
    at.date_input(key="review_on").set_value(date(2026, 6, 1)).run()  # outside the certificat window
    for field_id, value in {
        "remuneration_garantie": "1000",
        "aide_au_poste": "900",
        "part_esat": "100",
    }.items():
        next(w for w in at.text_input if w.key and w.key.endswith(field_id)).input(value)
    at.run()
    button(at, "Vérifier").click().run()
    assert any("du 1er décembre au dernier jour de février" in e.value for e in at.error)


def test_comments_are_listed_with_author_and_can_be_resolved(env, store):
    at = reviewer()
    at.text_area[0].input("Le libellé de l'aide au poste mérite une précision.")
    submit = next(b for b in at.get("form_submit_button") if b.label == "Ajouter le commentaire")
    submit.click().run()
    row = store.one("SELECT form_id, body, resolved_at FROM review_comment")
    assert row["body"].startswith("Le libellé") and row["resolved_at"] is None
    assert "Le libellé de l'aide au poste" in " ".join(t.value for t in at.text)
    button(at, "Marquer comme résolu").click().run()
    assert store.scalar("SELECT count(*) FROM review_comment WHERE resolved_at IS NOT NULL") == 1


def test_agents_reach_the_review_and_partners_do_not(env):
    at = logged_in("agent.caf@example.org")
    at.switch_page("pages/revue.py").run()
    assert titles(at) == ["Revue des formulaires"]
    at = logged_in("esat.demo@example.org")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/revue.py")
