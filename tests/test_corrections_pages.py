"""Corrections from the partner side (issue 12, point 10): "Rectifier" on the fiche opens the same
form pre-filled with the stored values; the rectificatif is filed with ``replaces``, supersedes the
first (kept, "rectifiée le …") and its justificatif says "Rectificatif" and names the first."""

from __future__ import annotations

from services import declarations, justificatifs
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.test_pages import VALID, fill, logged_in, select_and_choose, to_workers
from tests.test_services import account
from tests.test_timeline import pdf_text

__all__ = ["no_legacy_pages"]

DECLARE = "Déclarer : Certificat d'emploi"
CORRECTED = {"remuneration_garantie": "900", "aide_au_poste": "750", "part_esat": "150"}


def file_certificat(at):
    button(at, DECLARE).click().run()
    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Valider").click().run()
    assert "Votre déclaration a bien été transmise" in texts(at)
    button(at, "Valider").click().run()
    assert titles(at) == ["Mes travailleurs"]


def history(at) -> list[str]:
    """The labels of the fiche's list of justificatifs."""
    return list(at.selectbox[0].options)


def test_a_certificat_is_rectified_from_the_worker_card(env, store):
    at = select_and_choose(to_workers(logged_in()), (1,))
    file_certificat(at)
    first = store.one(
        "SELECT id, receipt_number FROM declaration WHERE worker_id = 1 AND campaign = 2026 ORDER BY id"
    )

    select_and_choose(at, (1,))
    assert "a déjà été transmis pour ce travailleur" in texts(at)
    assert at.selectbox[0].value == first["id"]  # the newest justificatif is the one picked
    button(at, "Rectifier").click().run()
    assert titles(at) == ["Rectificatif — Certificat d'emploi"]
    assert f"Rectificatif du justificatif n° {first['receipt_number']}" in texts(at)
    prefix = "w_1_certificat_emploi_"
    assert at.text_input(key=prefix + "remuneration_garantie").value == "1 100,50"
    assert at.text_input(key=prefix + "part_esat").value == "153,95"
    fill(at, CORRECTED)
    button(at, "Suivant : récapitulatif").click().run()
    assert f"rectificatif du justificatif n° {first['receipt_number']}" in texts(at)
    button(at, "Valider").click().run()
    shown = texts(at)
    assert "Votre rectificatif a bien été transmis à la Caf" in shown
    assert f"Il remplace le justificatif n° {first['receipt_number']}" in shown

    second = store.one(
        "SELECT id, receipt_number, replaces_id FROM declaration WHERE replaces_id = ?", [first["id"]]
    )
    assert second is not None
    assert store.scalar("SELECT superseded_by FROM declaration WHERE id = ?", [first["id"]]) == second["id"]
    values = {
        r["field_id"]: r["number"]
        for r in store.all(
            "SELECT field_id, number FROM declaration_value WHERE declaration_id = ?", [second["id"]]
        )
    }
    assert values["remuneration_garantie"] == 900
    text = pdf_text(justificatifs.receipt_pdf(store, env, account(store), second["id"]))
    assert "Rectificatif" in text and first["receipt_number"] in text

    # The history keeps both: the first "rectifiée le …", the second "Rectificatif".
    button(at, "Valider").click().run()
    select_and_choose(at, (1,))
    labels = history(at)
    assert any(first["receipt_number"] in o and "rectifiée le 10/12/2026" in o for o in labels)
    assert any(second["receipt_number"] in o and o.endswith("— Rectificatif") for o in labels)
    at.selectbox[0].set_value(first["id"]).run()
    assert "a déjà été rectifiée le 10/12/2026" in texts(at)
    assert not [b for b in at.button if b.label == "Rectifier"]


def test_a_certificat_of_a_closed_campaign_says_why_it_cannot_be_rectified(env, store, monkeypatch):
    decl = declarations.submit(
        store, env, account(store), 1, declarations.forms()["certificat_emploi"], dict(VALID), "first"
    )
    monkeypatch.setenv("ESAT_TODAY", "2027-03-01")  # the certificat is no longer offered: chosen by hand
    at = to_workers(logged_in())
    at.button(key="tile_1").click().run()
    button(at, "Déclarer pour la sélection").click().run()
    at.radio[0].set_value("changement_situation").run()
    button(at, "Confirmer").click().run()
    at.selectbox[0].set_value(decl.id).run()
    assert "ne peut plus être rectifié : la campagne est close" in texts(at)
    assert not [b for b in at.button if b.label == "Rectifier"]


def test_a_declaration_of_another_type_than_the_batch_is_explained(env, store):
    decl = declarations.submit(
        store, env, account(store), 1, declarations.forms()["certificat_emploi"], dict(VALID), "first"
    )
    at = select_and_choose(to_workers(logged_in()), (1,), "changement_situation")
    at.selectbox[0].set_value(decl.id).run()
    assert (
        "terminez ou abandonnez d'abord la saisie en cours, puis choisissez « Certificat d'emploi »"
        in texts(at)
    )
    assert not [b for b in at.button if b.label == "Rectifier"]
