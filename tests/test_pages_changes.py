"""AppTest of the changement de situation: question tree, conditional fields, worker state."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.apptest import button, no_legacy_pages, texts, titles
from tests.stores import known
from tests.test_pages import abandon, logged_in, to_workers

__all__ = ["no_legacy_pages"]

CHANGE = "changement_situation"


def answer(at, *values: str):
    """Answer the questions in order (each answer reveals the next question)."""
    for i, value in enumerate(values):
        at.radio[i].set_value(value).run()
    return at


def widget(at, kind: str, field_id: str):
    return next(w for w in getattr(at, kind) if w.key and w.key.endswith("_" + field_id))


def pick(at, store, worker_id: int) -> None:
    """Select a worker's tile, searching for it by numéro d'allocataire."""
    allocataire = store.scalar("SELECT allocataire FROM worker WHERE id = ?", [worker_id])
    at.text_input[0].input(allocataire)
    button(at, "Rechercher").click().run()
    at.button(key=f"tile_{worker_id}").click().run()


def start_change(store, worker_ids, *answers):
    at = to_workers(logged_in())
    for wid in worker_ids:
        pick(at, store, wid)
    button(at, "Déclarer pour la sélection").click().run()
    at.radio[0].set_value(CHANGE).run()
    button(at, "Confirmer").click().run()
    button(at, "Déclarer : Changement de situation").click().run()
    assert titles(at) == ["Changement de situation"]
    answer(at, *answers)
    return at


def da_worker(store) -> int:
    return store.scalar(
        "SELECT min(id) FROM worker WHERE esat_id = 1 AND double_activity AND caf_code = '441'"
    )


def recap_and_validate(at):
    button(at, "Suivant : récapitulatif").click().run()
    assert "Vérifiez votre déclaration" in texts(at), [e.value for e in at.error]
    button(at, "Valider").click().run()
    assert "Votre déclaration a bien été transmise" in texts(at)
    return at


def test_augmentation_updates_the_known_rate(env, store):
    store.execute("UPDATE worker SET rate_esat = 80 WHERE id = 1")
    at = start_change(store, (1,), "non", "modification")
    assert "Augmentation ou réduction d'activité" in texts(at)
    button(at, "Commencer la saisie").click().run()
    assert titles(at) == ["Augmentation ou réduction d'activité"]
    widget(at, "selectbox", "sens").set_value("augmentation").run()
    widget(at, "date_input", "date_changement").set_value(date(2026, 12, 1)).run()
    widget(at, "text_input", "taux_avant").input("80").run()
    assert not [c for c in at.checkbox if c.key and c.key.endswith("certification")], (
        "block 5 waits for the new rate"
    )
    widget(at, "text_input", "nouveau_taux").input("70").run()
    widget(at, "checkbox", "certification").check().run()
    button(at, "Suivant : récapitulatif").click().run()
    assert any("doit être supérieur à « Taux d'activité avant le changement »" in e.value for e in at.error)
    widget(at, "text_input", "nouveau_taux").input("90").run()
    recap_and_validate(at)
    assert known(store, 1, date(2026, 12, 1), "rate_esat") == {"rate_esat": Decimal("90.00")}
    decl = store.one(
        "SELECT form_id, effective_date FROM declaration WHERE worker_id = 1 ORDER BY id DESC LIMIT 1"
    )
    assert decl == {"form_id": "modification_activite", "effective_date": date(2026, 12, 1)}


def test_known_rate_differing_is_a_warning_showing_the_known_value(env, store):
    at = start_change(store, (1,), "non", "modification")
    button(at, "Commencer la saisie").click().run()
    widget(at, "selectbox", "sens").set_value("reduction").run()
    widget(at, "date_input", "date_changement").set_value(date(2026, 12, 1)).run()
    widget(at, "text_input", "taux_avant").input("90").run()
    widget(at, "text_input", "nouveau_taux").input("50").run()
    widget(at, "checkbox", "certification").check().run()
    button(at, "Suivant : récapitulatif").click().run()
    warnings = " ".join(w.value for w in at.warning)
    assert "diffère de ce que la Caf connaît" in warnings and "100" in warnings


def test_departure_for_parental_leave_asks_the_return_date(env, store):
    at = start_change(store, (1,), "non", "depart")
    button(at, "Commencer la saisie").click().run()
    widget(at, "date_input", "date_depart").set_value(date(2026, 12, 15)).run()
    widget(at, "selectbox", "motif_depart").set_value("retraite").run()
    assert not [d for d in at.date_input if d.key.endswith("date_retour_prevue")]
    widget(at, "selectbox", "motif_depart").set_value("conge_parental_education").run()
    widget(at, "date_input", "date_retour_prevue").set_value(date(2026, 12, 1)).run()
    button(at, "Suivant : récapitulatif").click().run()
    assert any("doit être postérieure à « Date du départ »" in e.value for e in at.error)
    widget(at, "date_input", "date_retour_prevue").set_value(date(2027, 12, 15)).run()
    recap_and_validate(at)
    assert known(store, 1, date(2026, 12, 15), "status", "return_date") == {
        "status": "ON_LEAVE",
        "return_date": date(2027, 12, 15),
    }


def test_hidden_return_date_is_neither_stored_nor_shown(env, store):
    at = start_change(store, (1,), "non", "depart")
    button(at, "Commencer la saisie").click().run()
    widget(at, "date_input", "date_depart").set_value(date(2026, 12, 15)).run()
    widget(at, "selectbox", "motif_depart").set_value("conge_presence_parentale").run()
    widget(at, "date_input", "date_retour_prevue").set_value(date(2027, 6, 1)).run()
    widget(at, "selectbox", "motif_depart").set_value("demission").run()  # the return date disappears
    recap_and_validate(at)
    assert "Date prévisionnelle de retour" not in texts(at)
    decl_id = store.scalar("SELECT max(id) FROM declaration WHERE worker_id = 1")
    fields = {
        r["field_id"]
        for r in store.all("SELECT field_id FROM declaration_value WHERE declaration_id = ?", [decl_id])
    }
    assert fields == {"date_depart", "motif_depart"}
    assert known(store, 1, date(2026, 12, 15), "status", "return_date") == {
        "status": "LEFT",
        "return_date": None,
    }


def test_a_departed_worker_gets_no_further_change(env, store):
    store.execute("UPDATE worker SET status = 'LEFT' WHERE id = 1")
    at = start_change(store, (1,), "non", "modification")
    assert "n'est plus en activité dans l'ESAT" in texts(at)
    assert not [b for b in at.button if b.label == "Commencer la saisie"]


def test_double_activity_guards_follow_what_the_caf_knows(env, store):
    da = da_worker(store)
    at = start_change(store, (da,), "non", "modification")
    assert "Une double activité est connue pour ce travailleur" in texts(at)
    abandon(at)  # one open batch per account: the next selection comes after it
    at = start_change(store, (1,), "oui", "non", "non")  # modification de la double activité
    assert "Aucune double activité n'est connue" in texts(at)


def test_two_workers_take_different_branches(env, store):
    da = da_worker(store)
    before = store.one("SELECT rate_esat, rate_mo, double_activity_since FROM worker WHERE id = ?", [da])
    at = start_change(store, (1, da), "oui", "oui")
    assert "travailleur 1 / 2" in texts(at)

    # worker 1: début de double activité
    button(at, "Commencer la saisie").click().run()
    widget(at, "date_input", "date_debut").set_value(date(2026, 12, 1)).run()
    widget(at, "text_input", "taux_esat_avant").input("100").run()
    widget(at, "text_input", "taux_esat_apres").input("60").run()
    widget(at, "text_input", "taux_milieu_ordinaire").input("50").run()
    button(at, "Suivant : récapitulatif").click().run()
    assert any("ne peuvent pas dépasser 100" in e.value for e in at.error)
    widget(at, "text_input", "taux_milieu_ordinaire").input("40").run()
    recap_and_validate(at)
    button(at, "Continuer").click().run()
    assert "travailleur 2 / 2" in texts(at)

    # the other worker: fin de double activité, leaving the ESAT
    button(at, "Déclarer : Changement de situation").click().run()
    answer(at, "oui", "non", "oui")
    button(at, "Commencer la saisie").click().run()
    widget(at, "date_input", "date_fin").set_value(date(2026, 12, 1)).run()
    widget(at, "text_input", "taux_esat_avant").input(str(before["rate_esat"])).run()
    widget(at, "text_input", "taux_mo_avant").input(str(before["rate_mo"])).run()
    widget(at, "text_input", "taux_esat_apres").input("0").run()
    widget(at, "text_input", "taux_mo_apres").input(str(before["rate_mo"])).run()
    widget(at, "selectbox", "motif_depart").set_value("emploi_milieu_ordinaire").run()
    recap_and_validate(at)
    button(at, "Valider").click().run()
    assert titles(at) == ["Mes travailleurs"]

    assert known(store, 1, date(2026, 12, 1), "double_activity", "rate_esat", "rate_mo", "status") == {
        "double_activity": True,
        "rate_esat": Decimal("60.00"),
        "rate_mo": Decimal("40.00"),
        "status": "ACTIVE",
    }
    assert known(store, da, date(2026, 12, 1), "double_activity", "rate_esat", "status") == {
        "double_activity": False,
        "rate_esat": Decimal("0.00"),
        "status": "LEFT",
    }
    outbox = store.scalar(
        "SELECT count(*) FROM outbox o JOIN declaration d ON d.id = o.declaration_id WHERE d.worker_id IN (1, ?)",
        [da],
    )
    assert outbox == 2
