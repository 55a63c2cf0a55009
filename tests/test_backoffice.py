"""Back-office figures on their boundaries (the services, without the pages)."""

from __future__ import annotations

from datetime import date, datetime

from data.store import Store
from services import accounts, backoffice


def _certificat(store: Store, decl_id: int, worker_id: int, received_utc: str) -> None:
    store.execute(
        "INSERT INTO declaration (id, receipt_number, form_id, form_version, worker_id, esat_id, caf_code, author_id, "
        "idempotency_key, campaign, received_at, verification_code) "
        "VALUES (?, ?, 'certificat_emploi', 1, ?, 1, '441', 1, ?, 2026, ?, 'x')",
        [decl_id, f"T-{decl_id}", worker_id, f"k-{decl_id}", datetime.fromisoformat(received_utc)],
    )


def test_late_means_after_15_january_in_paris(empty_db):
    store = Store(empty_db)
    _certificat(store, 1, 1, "2027-01-15 22:59:59")  # 15/01 23:59:59 in Paris
    _certificat(store, 2, 2, "2027-01-15 23:00:00")  # 16/01 00:00:00 in Paris
    assert store.all("SELECT id, late FROM v_certificat ORDER BY id") == [
        {"id": 1, "late": False},
        {"id": 2, "late": True},
    ]


def test_totals_match_direct_sql_for_each_campaign(env, store):
    agent = accounts.get(store, store.scalar("SELECT id FROM account WHERE login = 'agent.caf@example.org'"))
    for campaign in (2024, 2025, 2026):
        totals = backoffice.campaign_totals(store, agent, campaign)
        received = store.scalar(
            "SELECT count(*) FROM declaration WHERE campaign IS NOT NULL AND replaces_id IS NULL "
            "AND caf_code = '441' AND campaign = ?",
            [campaign],
        )
        assert totals.received == received
        by_esat = backoffice.campaign_by_esat(store, agent, campaign)
        assert int(by_esat["received"].sum()) == received
        assert int(by_esat["expected"].sum()) == totals.expected
        assert int(by_esat["missing"].sum()) == totals.missing
        assert totals.missing == len(backoffice.undeclared_workers(store, agent, campaign))
        weekly = backoffice.campaign_by_week(store, agent, campaign)
        assert (int(weekly["cumulative"].iloc[-1]) if len(weekly) else 0) == received


def test_current_campaign_follows_the_window():
    assert backoffice.current_campaign(date(2026, 12, 1)) == 2026
    assert backoffice.current_campaign(date(2027, 2, 28)) == 2026
    assert backoffice.current_campaign(date(2027, 3, 1)) == 2026  # last one closed
    assert backoffice.current_campaign(date(2027, 11, 30)) == 2026
    assert backoffice.milestone(2026) == date(2027, 1, 15)


# -- not hard-coded on form or field ids (issue 12, point 11) ----------------------------------


def _agent(store: Store):
    return accounts.get(store, store.scalar("SELECT id FROM account WHERE login = 'agent.caf@example.org'"))


def test_a_return_to_the_esat_is_counted_and_listed_like_the_others(env, store):
    from services import exports
    from tests.test_timeline import departure, file, fresh_worker, on

    day, since = on(env, date(2026, 12, 10)), date(2026, 12, 1)
    agent = _agent(store)
    before = backoffice.changes_by_month(store, agent, since)
    assert "retour_esat" not in set(before["form_id"])
    worker = fresh_worker(store)
    file(store, day, worker, "depart_esat", departure("30/06/2026"), "dep")
    back = file(
        store, day, worker, "retour_esat", {"date_retour": "01/12/2026", "taux_activite": "70"}, "back"
    )

    by_month = backoffice.changes_by_month(store, agent, since)
    [row] = by_month[by_month["form_id"] == "retour_esat"].to_dict("records")
    assert (row["type"], row["declarations"]) == ("Retour dans l'ESAT", 1)
    # The ESAT rate it sets counts as a rate change (from 100 % known before to 70 %).
    changes = backoffice.rate_changes(store, agent, since)
    assert int(changes[changes["change"] == -30]["declarations"].sum()) >= 1
    # Corbeille: listed, filtered on its type, and in the processing delays.
    assert "retour_esat" in backoffice.form_titles()
    rows, total = backoffice.inbox(store, agent, backoffice.InboxFilter(form_id="retour_esat"))
    assert total == 1 and list(rows["id"]) == [back.id] and list(rows["type"]) == ["Retour dans l'ESAT"]
    delays = backoffice.processing_delays(store, agent)
    assert int(delays[delays["form_id"] == "retour_esat"]["waiting"].iloc[0]) == 1
    # Exports carry it like any other row.
    assert "Retour dans l'ESAT" in exports.to_csv(rows.drop(columns=["id"])).decode("utf-8-sig")


def test_starts_and_ends_of_double_activity_are_read_from_the_effects(env, store):
    from tests.test_timeline import file, fresh_worker, on

    day, since = on(env, date(2026, 12, 10)), date(2026, 12, 1)
    agent = _agent(store)

    def counts() -> tuple[int, int]:
        frame = backoffice.double_activity_counts(store, agent, since)
        return int(frame["started"].sum()), int(frame["ended"].sum())

    started, ended = counts()
    worker = fresh_worker(store)
    debut = {
        "date_debut": "01/12/2026",
        "taux_esat_avant": "100",
        "taux_esat_apres": "60",
        "taux_milieu_ordinaire": "30",
    }
    file(store, day, worker, "debut_double_activite", debut, "debut")
    assert counts() == (started + 1, ended)
    fin = {
        "date_fin": "01/01/2027",
        "taux_esat_avant": "60",
        "taux_mo_avant": "30",
        "taux_esat_apres": "80",
        "taux_mo_apres": "0",
    }
    file(store, day, worker, "fin_double_activite", fin, "fin")
    assert counts() == (started + 1, ended + 1)


def test_no_form_id_in_the_back_office_code_nor_its_latest_views():
    import re
    from pathlib import Path

    from forms import load_all

    root = Path(__file__).resolve().parents[1]
    migrations = sorted((root / "data" / "migrations").glob("[0-9][0-9][0-9]_*.sql"))
    views = ("v_certificat", "v_change", "v_inbox", "v_status_change")
    latest = {
        v: next(p for p in reversed(migrations) if re.search(rf"VIEW {v}\b", p.read_text())) for v in views
    }
    sources = {root / "services" / "backoffice.py", *latest.values()}
    for path in sources:
        text = path.read_text()
        for form_id in load_all():
            assert form_id not in text, f"{path.name} cite l'identifiant de formulaire {form_id}"
