"""Batches that survive (issue 12, point 12): the selection's progress and each worker's draft are
in the store, found again by another session or another replica, scoped to the account, ended
with a summary or abandoned, and deleted by the retention job when left untouched."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from data.store import Store
from services import batches, partner, retention
from services.batches import Batch, Draft, Outcome
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.conftest import TODAY
from tests.test_pages import VALID, fill, logged_in, select_and_choose, tiles, to_workers
from tests.test_pages_changes import pick
from tests.test_rerun_cost import queries
from tests.test_services import account

__all__ = ["no_legacy_pages", "queries"]  # fixtures

DECLARE = "Déclarer : Certificat d'emploi"


def a_batch() -> Batch:
    """Worker 1 filed, worker 2 on its recap with a date and a yes/no typed, worker 3 not started."""
    draft = Draft(
        2,
        "changement_situation",
        form_id="depart_esat",
        answers={"double_activite": "non", "nature": "depart"},
        step="recap",
        raw={"date_depart": date(2026, 12, 15), "motif_depart": "retraite", "certification": True},
    )
    return Batch(
        batches.new_id(),
        "changement_situation",
        True,
        [1, 2, 3],
        index=1,
        drafts={2: draft},
        outcomes={1: Outcome(41, "2026-000041")},
    )


def rows(store: Store, table: str) -> int:
    return store.scalar(f"SELECT count(*) FROM {table}")


# -- the service --------------------------------------------------------------------------------


def test_another_replica_finds_the_batch_where_it_was(env, store):
    me = account(store)
    batch = a_batch()
    batches.save(store, env, me, batch)
    replica = Store(env.db)  # a second Store on the same database: another process, another replica
    try:
        found = batches.load(replica, me)
    finally:
        replica.close()
    assert found == batch
    assert found.drafts[2].raw["date_depart"] == date(2026, 12, 15)
    assert found.drafts[2].idempotency_key == batch.drafts[2].idempotency_key  # a retry files once


def test_a_change_rewrites_the_head_and_the_changed_row_only(env, store, queries):
    me = account(store)
    batch = a_batch()
    batches.save(store, env, me, batch)
    batch.index = 2
    batch.drafts[3] = Draft(3, "changement_situation", step="questions", answers={"double_activite": "oui"})
    batch.outcomes[2] = Outcome()  # skipped
    queries.clear()
    assert batches.save(store, env, me, batch, changed=[2, 3])
    assert [q.split()[0] for q in queries] == ["UPDATE", "UPDATE", "UPDATE"]
    found = batches.load(store, me)
    assert found == batch
    assert found.outcomes == {1: Outcome(41, "2026-000041"), 2: Outcome()}


def test_a_batch_is_read_by_its_own_account_only(env, store):
    me = account(store)
    batches.save(store, env, me, a_batch())
    # Another account of the same ESAT, and the manager of another ESAT: no batch for them.
    store.execute(
        "INSERT INTO account (id, login, email, password_hash, role, esat_id, display_name, active, created_at) "
        "SELECT 900, 'collegue@example.org', 'collegue@example.org', password_hash, role, esat_id, "
        "'Collègue', TRUE, created_at FROM account WHERE id = ?",
        [me.id],
    )
    colleague = account(store, "collegue@example.org")
    assert batches.load(store, colleague) is None
    assert batches.load(store, account(store, "esat.simple@example.org")) is None
    batches.abandon(store, colleague)  # abandons nothing of mine
    assert batches.load(store, me) is not None
    for other in ("agent.caf@example.org", "admin.caf@example.org", "relecteur@example.org"):
        with pytest.raises(partner.NotAllowed):
            batches.load(store, account(store, other))


def test_a_batch_of_another_esats_workers_is_refused(env, store):
    foreign = store.scalar("SELECT min(id) FROM worker WHERE esat_id <> 1")
    batch = a_batch()
    batch.workers = [1, foreign]
    with pytest.raises(partner.NotAllowed):
        batches.save(store, env, account(store), batch)
    assert rows(store, "batch") == rows(store, "batch_worker") == 0


def test_finish_gives_the_summary_and_deletes_the_rows(env, store):
    me = account(store)
    batch = a_batch()
    batch.outcomes[2] = Outcome()
    batch.outcomes[3] = Outcome(42, "2026-000042")
    batches.save(store, env, me, batch)
    names = {
        r["id"]: f"{r['last_name']} {r['first_name']}"
        for r in store.all("SELECT * FROM worker WHERE id <= 3")
    }
    lines = batches.finish(store, me, batch)
    assert [(line.name, line.receipt_number) for line in lines] == [
        (names[1], "2026-000041"),
        (names[2], None),
        (names[3], "2026-000042"),
    ]
    assert rows(store, "batch") == rows(store, "batch_worker") == 0


def test_abandon_deletes_the_rows_and_is_audited(env, store):
    me = account(store)
    batch = a_batch()
    batches.save(store, env, me, batch)
    batches.abandon(store, me)
    assert rows(store, "batch") == rows(store, "batch_worker") == 0
    assert store.scalar("SELECT object_ref FROM audit_log WHERE action = 'batch_abandoned'") == batch.id
    # A session still holding it learns that it ended elsewhere: nothing is written back.
    assert batches.save(store, env, me, batch, changed=[2]) is False
    assert rows(store, "batch") == 0


def test_a_new_batch_replaces_the_accounts_previous_one(env, store):
    me = account(store)
    batches.save(store, env, me, a_batch())
    second = Batch(batches.new_id(), "certificat_emploi", False, [4])
    batches.save(store, env, me, second)
    assert batches.load(store, me) == second
    assert rows(store, "batch_worker") == 1


def test_retention_deletes_batches_untouched_for_30_days(env, store):
    me = account(store)
    batches.save(store, env, me, a_batch())
    touched = store.scalar("SELECT updated_at FROM batch")
    day = touched.date()  # the test clock's day (ESAT_TODAY), in UTC; Paris is ahead
    retention.purge(store, day + timedelta(days=retention.BATCH_RETENTION_DAYS))
    assert rows(store, "batch") == 1 and rows(store, "batch_worker") == 3
    retention.purge(store, day + timedelta(days=retention.BATCH_RETENTION_DAYS + 2))
    assert rows(store, "batch") == rows(store, "batch_worker") == 0


# -- the screens --------------------------------------------------------------------------------


def test_a_batch_survives_a_logout_with_its_draft_and_can_only_be_abandoned(env, store):
    at = select_and_choose(to_workers(logged_in()), (1, 2))
    button(at, DECLARE).click().run()
    fill(at, {"remuneration_garantie": "1 100,50"})
    assert "1 100,50" in store.scalar("SELECT draft FROM batch_worker WHERE worker_id = 1")
    # A value typed and the logout in one run (the browser sends both at once): both are kept.
    at.text_input(key="w_1_certificat_emploi_aide_au_poste").input("946,55")
    button(at, "Se déconnecter").click().run()
    assert titles(at) == ["Bienvenue sur Mon Compte Partenaire"]
    assert "946,55" in store.scalar("SELECT draft FROM batch_worker WHERE worker_id = 1")

    again = logged_in()  # a new session of the same account
    assert "Une saisie est en cours : Certificat d'emploi — travailleur 1 / 2" in texts(again)
    button(again, "Reprendre la saisie").click().run()
    assert titles(again) == ["Certificat d'emploi"]
    assert again.text_input(key="w_1_certificat_emploi_remuneration_garantie").value == "1 100,50"
    assert again.text_input(key="w_1_certificat_emploi_aide_au_poste").value == "946,55"

    # The selection cannot change and no other type can be chosen while the batch is open.
    again.switch_page("pages/travailleurs.py").run()
    assert "La sélection ne peut pas être modifiée" in texts(again)
    assert len(tiles(again)) == 24 and all(t.disabled for t in tiles(again))
    assert not [b for b in again.button if b.label in ("Déclarer pour la sélection", "Vider la sélection")]
    assert again.session_state["espace_esat"].selected == [1, 2]

    button(again, "Abandonner la saisie").click().run()
    button(again, "Annuler").click().run()
    assert rows(store, "batch") == 1 and "Saisie en cours" in texts(again)
    button(again, "Abandonner la saisie").click().run()
    button(again, "Confirmer").click().run()
    assert rows(store, "batch") == rows(store, "batch_worker") == 0
    assert "La saisie a été abandonnée" in texts(again)
    assert not any(t.disabled for t in tiles(again))
    assert store.scalar("SELECT count(*) FROM declaration WHERE worker_id IN (1, 2) AND campaign = 2026") == 0


def test_a_batch_of_three_with_one_skipped_ends_on_its_summary(env, store):
    third = store.scalar(
        "SELECT min(id) FROM worker w WHERE esat_id = 1 AND caf_code = '441' AND id > 2 AND status = 'ACTIVE' "
        "AND NOT EXISTS (SELECT 1 FROM declaration d WHERE d.worker_id = w.id AND d.campaign = 2026)"
    )
    at = to_workers(logged_in())
    for worker_id in (1, 2, third):
        pick(at, store, worker_id)
    button(at, "Déclarer pour la sélection").click().run()
    at.radio[0].set_value("certificat_emploi").run()
    button(at, "Confirmer").click().run()

    button(at, DECLARE).click().run()
    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Valider").click().run()
    button(at, "Continuer").click().run()
    assert "travailleur 2 / 3" in texts(at)
    button(at, "Passer au travailleur suivant").click().run()
    assert "travailleur 3 / 3" in texts(at)
    button(at, DECLARE).click().run()
    fill(at, VALID)
    button(at, "Suivant : récapitulatif").click().run()
    button(at, "Valider").click().run()
    button(at, "Valider").click().run()

    assert titles(at) == ["Mes travailleurs"]
    shown = texts(at)
    numbers = [
        r["receipt_number"]
        for r in store.all(
            "SELECT receipt_number FROM declaration WHERE worker_id IN (1, 2, ?) AND campaign = 2026 ORDER BY id",
            [third],
        )
    ]
    assert len(numbers) == 2 and all(f"reçu n° {n}" in shown.replace("\\", "") for n in numbers)
    assert "2 déclarations transmises et 1 travailleur passé sans déclaration" in shown
    skipped = store.one("SELECT last_name, allocataire FROM worker WHERE id = 2")
    assert f"{skipped['allocataire']} : passé sans déclaration" in shown
    assert rows(store, "batch") == rows(store, "batch_worker") == 0
    assert [b for b in at.button if b.label == "Déclarer pour la sélection"]  # a new selection can start


def test_the_batch_is_written_when_it_changes_not_on_every_rerun(env, store, queries):
    at = select_and_choose(to_workers(logged_in()), (1,))
    button(at, DECLARE).click().run()

    def writes() -> list[str]:
        return [q for q in queries if "batch" in q and not q.startswith("SELECT")]

    queries.clear()
    at.run()
    assert writes() == []
    fill(at, {"remuneration_garantie": "1 100,50"})
    assert len([w for w in writes() if w.startswith("UPDATE batch_worker")]) == 1
    queries.clear()
    at.run()
    assert writes() == []


def test_the_retention_clock_is_the_service_clock(env, store):
    """updated_at follows ESAT_TODAY, like every date the retention job compares with."""
    batches.save(store, env, account(store), a_batch())
    touched: datetime = store.scalar("SELECT updated_at FROM batch")
    assert abs((touched.date() - TODAY).days) <= 1
