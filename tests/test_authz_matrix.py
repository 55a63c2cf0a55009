"""Who reaches what: AUTHZ-01 (every role × every out-of-scope object), AUTHZ-03 (forged session
state and query parameters are refused and audited), AUTHZ-05 (wizard order, calendar edges),
ST-07 (no cache shared across ESATs) and PRIV-05 (a worker's name never reaches a log)."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from data.demo import AGENT_LOGIN, DEMO_ESAT_ID, DEMO_ESAT_LOGIN, REVIEWER_LOGIN, SIMPLE_ESAT_LOGIN
from rules import calendar
from services import accounts, backoffice, declarations, justificatifs, partner
from tests.apptest import button, no_legacy_pages, texts, titles
from tests.conftest import TODAY
from tests.test_bad_input import choose_certificat, shown
from tests.test_pages import logged_in, to_workers
from ui.layout import ACCESS_DENIED

__all__ = ["no_legacy_pages"]


def account(store, login: str) -> accounts.Account:
    found = accounts.get(store, store.scalar("SELECT id FROM account WHERE login = ?", [login]))
    assert found is not None
    return found


def in_scope(who: accounts.Account, row: dict) -> bool:
    if who.role == "esat":
        return row["esat_id"] == who.esat_id
    if who.role == "agent":
        return row["caf_code"] == who.caf_code
    return False


WORKER_READS = {
    "get_worker": lambda store, env, who, i: partner.get_worker(store, who, i),
    "history": lambda store, env, who, i: partner.history(store, who, i, TODAY),
    "submit": lambda store, env, who, i: declarations.submit(
        store, env, who, i, declarations.forms()["certificat_emploi"], {}, f"forge-{i}"
    ),
}
DECLARATION_READS = {
    "get": lambda store, env, who, i: declarations.get(store, who, i),
    "receipt_pdf": lambda store, env, who, i: justificatifs.receipt_pdf(store, env, who, i),
    "detail": lambda store, env, who, i: backoffice.detail(store, who, i),
    "mark_processed": lambda store, env, who, i: backoffice.mark_processed(store, env, who, i),
}
ROLES = [DEMO_ESAT_LOGIN, SIMPLE_ESAT_LOGIN, AGENT_LOGIN, REVIEWER_LOGIN]


@pytest.mark.parametrize("login", ROLES)
def test_every_out_of_scope_worker_and_declaration_is_denied(env, store, login):
    """Every function × the first and last object of every (ESAT, Caf) pair, and unknown ids."""
    who = account(store, login)
    edges = (
        "SELECT id, esat_id, caf_code FROM {0} WHERE id IN "
        "(SELECT min(id) FROM {0} GROUP BY esat_id, caf_code UNION SELECT max(id) FROM {0} GROUP BY esat_id, caf_code) "
        "UNION ALL SELECT 1000000000, -1, '000' ORDER BY id"
    )
    workers = store.all(edges.format("worker"))
    decls = store.all(edges.format("declaration"))
    processed = "SELECT count(*) FROM declaration WHERE processed_at IS NOT NULL"
    before = store.scalar("SELECT count(*) FROM declaration"), store.scalar(processed)
    tried = denied = allowed_inside = 0
    for objects, reads in ((workers, WORKER_READS), (decls, DECLARATION_READS)):
        for row in objects:
            if in_scope(who, row):
                allowed_inside += 1
                continue
            for read in reads.values():
                tried += 1
                try:
                    read(store, env, who, row["id"])
                except partner.NotAllowed:
                    denied += 1
    assert tried > 100 and denied == tried, (tried, denied)
    assert (store.scalar("SELECT count(*) FROM declaration"), store.scalar(processed)) == before
    if who.role != "relecteur":  # the matrix is not vacuous: in-scope objects exist and are read
        assert allowed_inside > 0
        mine = next(r for r in workers if in_scope(who, r))
        assert partner.get_worker(store, who, mine["id"]).id == mine["id"]


def audit_count(store, action: str) -> int:
    return store.scalar("SELECT count(*) FROM audit_log WHERE action = ?", [action])


def test_a_forged_selection_of_another_esats_worker_is_refused_and_audited(env, store):
    foreign = store.one(
        "SELECT id, last_name FROM worker WHERE esat_id <> ? ORDER BY id LIMIT 1", [DEMO_ESAT_ID]
    )
    at = to_workers(logged_in())
    state = at.session_state["espace_esat"]
    state.selected, state.kind, state.index = [foreign["id"]], "certificat_emploi", 0
    at.switch_page("pages/fiche.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == [ACCESS_DENIED]
    assert foreign["last_name"] not in shown(at)
    assert audit_count(store, "access_denied") == 1
    assert state.selected == []  # the forged selection is dropped


def test_a_forged_declaration_id_on_the_last_step_is_refused(env, store):
    theirs = store.one(
        "SELECT id, receipt_number FROM declaration WHERE esat_id <> ? LIMIT 1", [DEMO_ESAT_ID]
    )
    at = to_saisie(choose_certificat(to_workers(logged_in())))
    state = at.session_state["espace_esat"]
    draft = state.draft()
    draft.step, draft.declaration_id = "fin", theirs["id"]
    at.switch_page("pages/declaration.py").run()
    assert [e.value for e in at.error] == [ACCESS_DENIED]
    assert theirs["receipt_number"] not in shown(at)
    assert audit_count(store, "access_denied") == 1


def test_query_parameters_are_ignored(env, store):
    foreign = store.one(
        "SELECT id, last_name FROM worker WHERE esat_id <> ? ORDER BY id LIMIT 1", [DEMO_ESAT_ID]
    )
    at = logged_in()
    for key, value in {
        "worker": foreign["id"],
        "worker_id": foreign["id"],
        "esat_id": 2,
        "page": "fiche",
    }.items():
        at.query_params[key] = str(value)
    at.run()
    assert titles(at) == ["Espace ESAT"]
    assert foreign["last_name"] not in shown(at)


# -- AUTHZ-05: the wizard's order ----------------------------------------------------------


def to_saisie(at):
    """Fiche travailleur → « Déclarer : … » → the Saisie step."""
    button(at, next(b.label for b in at.button if b.label.startswith("Déclarer :"))).click().run()
    return at


@pytest.mark.parametrize("forged", ["recap", "fin"])
def test_the_wizard_steps_cannot_be_skipped(env, store, forged):
    at = to_saisie(choose_certificat(to_workers(logged_in())))
    state = at.session_state["espace_esat"]
    draft = state.draft()
    assert draft.step == "saisie"
    draft.step = forged  # nothing typed yet
    at.run()
    assert draft.step == "saisie" and draft.declaration_id is None
    assert not any("transmise" in s.value for s in at.success)
    assert (
        store.scalar(
            "SELECT count(*) FROM declaration WHERE esat_id = ? AND campaign = 2026 AND worker_id = 1",
            [DEMO_ESAT_ID],
        )
        == 0
    )


def test_a_change_form_cannot_be_reached_without_its_questions(env, store):
    at = to_workers(logged_in())
    at.button(key="tile_1").click().run()
    button(at, "Déclarer pour la sélection").click().run()
    at.radio[0].set_value("changement_situation")
    button(at, "Confirmer").click().run()
    state = at.session_state["espace_esat"]
    draft = state.draft()
    assert draft.step == "questions"
    draft.step = "saisie"  # forged: form_id is still unknown
    at.switch_page("pages/declaration.py").run()
    assert not at.exception
    assert draft.step == "questions"


@pytest.mark.parametrize(
    ("day", "campaign"),
    [
        (date(2026, 11, 30), None),
        (date(2026, 12, 1), 2026),
        (date(2027, 2, 28), 2026),
        (date(2027, 3, 1), None),
        (date(2027, 12, 1), 2027),
        (date(2028, 2, 28), 2027),
        (date(2028, 2, 29), 2027),  # leap day: still open
        (date(2028, 3, 1), None),
    ],
)
def test_certificat_window_edges_including_29_february_2028(day, campaign):
    is_open = "certificat_emploi" in {k.id for k in declarations.open_kinds(day)}
    assert is_open == (campaign is not None)
    if campaign is not None:
        assert calendar.campaign_of(day) == campaign


# -- ST-07 and PRIV-05 ----------------------------------------------------------------------


def tile_names(at) -> set[str]:
    return {b.label for b in at.button if b.key and str(b.key).startswith("tile_")}


def test_two_sessions_of_two_esats_never_see_each_others_workers(env, store):
    """Both sessions in one process, interleaved, as on a server: nothing read is shared."""
    demo = to_workers(logged_in(DEMO_ESAT_LOGIN))
    simple = to_workers(logged_in(SIMPLE_ESAT_LOGIN))
    demo.run()
    simple.run()
    simple_esat = account(store, SIMPLE_ESAT_LOGIN).esat_id
    numbers = {  # numéros d'allocataire are unique, names may be shared by two people
        esat: {
            r["allocataire"] for r in store.all("SELECT allocataire FROM worker WHERE esat_id = ?", [esat])
        }
        for esat in (DEMO_ESAT_ID, simple_esat)
    }
    for at, own, other in ((demo, DEMO_ESAT_ID, simple_esat), (simple, simple_esat, DEMO_ESAT_ID)):
        screen = shown(at)
        assert tile_names(at), "tiles are shown"
        assert any(number in screen for number in numbers[own])
        assert not any(number in screen for number in numbers[other])


def test_no_worker_name_reaches_a_log(env, store, caplog, monkeypatch):
    canary_last, canary_first = "Aaacanarinom", "Zephyrine-Canari"  # sorts first: on page 1
    store.execute("UPDATE worker SET last_name = ?, first_name = ? WHERE id = 1", [canary_last, canary_first])
    caplog.set_level(logging.DEBUG)
    at = choose_certificat(to_workers(logged_in()))
    assert canary_last in shown(at)
    to_saisie(at)
    # A rejected input, then a crash on a page: both are logged, neither with the name.
    button(at, "Suivant : récapitulatif").click().run()

    def broken(*args, **kwargs):
        raise RuntimeError(f"échec pour {canary_last} {canary_first}")

    monkeypatch.setattr(partner, "get_worker", broken)
    at.switch_page("pages/fiche.py").run()
    assert "Une erreur technique" in texts(at)
    assert any(r.name == "espace_esat" for r in caplog.records), "the failure was logged"
    logged = caplog.text + "".join(str(r.args) + str(r.exc_info) for r in caplog.records)
    assert canary_last not in logged and canary_first not in logged
