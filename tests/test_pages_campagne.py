"""Certificats d'emploi en tableau, page by page with AppTest (issue 13): the table, its checks on
each row, the récapitulatif, one "Valider", the end page; closed outside the campaign; a forged
row refused and audited."""

from __future__ import annotations

from data.store import Store
from services import campaign
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.test_pages import VALID, logged_in

__all__ = ["no_legacy_pages"]

TITLE = "Certificats d'emploi en tableau"
FIELDS = list(VALID)


def to_table(at):
    button(at, TITLE).click().run()
    assert titles(at) == [TITLE], texts(at)
    return at


def row_inputs(at) -> dict[int, dict[str, object]]:
    """Worker id → field id → its text input, for the rows on screen (keys t<gen>_<worker>_<field>)."""
    rows: dict[int, dict[str, object]] = {}
    for box in at.text_input:
        _, worker, field = box.key.split("_", 2)
        rows.setdefault(int(worker), {})[field] = box
    return rows


def fill(at, worker_id: int, values: dict[str, str]) -> None:
    for field, value in values.items():
        row_inputs(at)[worker_id][field].input(value)


def certificats(store: Store) -> int:
    return store.scalar("SELECT count(*) FROM declaration WHERE campaign = 2026 AND esat_id = 1")


def test_a_row_in_error_stops_the_recap_then_the_fixed_rows_are_filed_once(env, store):
    at = to_table(logged_in())
    rows = row_inputs(at)
    assert len(rows) == 20 and all(set(r) == set(FIELDS) for r in rows.values())
    first, second = list(rows)[:2]
    fill(at, first, VALID)
    fill(at, second, dict(VALID, aide_au_poste="abc"))
    before = certificats(store)
    button(at, "Vérifier et voir le récapitulatif").click().run()
    assert "1 ligne(s) en erreur" in texts(at)
    assert any(e.value.startswith("Montant brut de l'aide au poste : ") for e in at.error)
    assert certificats(store) == before

    fill(at, second, VALID)
    button(at, "Vérifier et voir le récapitulatif").click().run()
    assert "Vérifiez vos certificats" in texts(at)
    assert [m.value for m in at.metric[:1]] == ["2"]
    button(at, "Valider").click().run()
    assert "2 certificat(s) transmis à la Caf" in texts(at)
    assert certificats(store) == before + 2
    assert store.scalar("SELECT count(*) FROM batch_ack") == 1
    assert (
        store.scalar(
            "SELECT count(*) FROM outbox o JOIN declaration d ON d.id = o.declaration_id "
            "WHERE d.worker_id IN (?, ?)",
            [first, second],
        )
        == 0
    )  # no accusé per row
    button(at, "Terminer").click().run()
    assert titles(at) == ["Mes travailleurs"]

    # Both are now filed: a new table no longer offers them.
    at = to_table(logged_in())
    assert first not in row_inputs(at) and second not in row_inputs(at)


def test_nothing_typed_files_nothing(env, store):
    at = to_table(logged_in())
    button(at, "Vérifier et voir le récapitulatif").click().run()
    assert "Aucun montant n'est saisi" in texts(at)
    assert "Vérifiez vos certificats" not in texts(at)


def test_outside_the_campaign_the_table_is_not_offered(env, store, monkeypatch):
    monkeypatch.setenv("ESAT_TODAY", "2026-06-10")
    at = logged_in()
    assert TITLE not in [b.label for b in at.button]


def test_a_forged_row_of_another_esat_is_refused_and_audited(env, store):
    at = to_table(logged_in())
    foreign = store.scalar("SELECT min(id) FROM worker WHERE esat_id <> 1")
    table = at.session_state["espace_esat"].table
    table.workers.insert(0, foreign)
    table.people[foreign] = campaign.Candidate(foreign, "441", "9900000", "RESPONSABLE", "X", "Y")
    table.raw[foreign] = dict(VALID)
    at.run()
    before = certificats(store)
    button(at, "Vérifier et voir le récapitulatif").click().run()
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'access_denied'") == 1
    assert at.session_state["espace_esat"].table is None
    assert certificats(store) == before
    assert not at.exception
