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
            "SELECT count(*) FROM declaration WHERE form_id = 'certificat_emploi' AND caf_code = '441' AND campaign = ?",
            [campaign],
        )
        assert totals.received == received
        by_esat = backoffice.campaign_by_esat(store, agent, campaign)
        assert int(by_esat["received"].sum()) == received
        assert int(by_esat["workers"].sum()) == totals.workers
        weekly = backoffice.campaign_by_week(store, agent, campaign)
        assert (int(weekly["cumulative"].iloc[-1]) if len(weekly) else 0) == received


def test_current_campaign_follows_the_window():
    assert backoffice.current_campaign(date(2026, 12, 1)) == 2026
    assert backoffice.current_campaign(date(2027, 2, 28)) == 2026
    assert backoffice.current_campaign(date(2027, 3, 1)) == 2026  # last one closed
    assert backoffice.current_campaign(date(2027, 11, 30)) == 2026
    assert backoffice.milestone(2026) == date(2027, 1, 15)
