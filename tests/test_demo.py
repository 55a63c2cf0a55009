"""Tests of the synthetic demo data generator (data/demo.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from data import demo
from data.store import Store
from services.passwords import verify_password
from services.receipts import receipt_number, verification_code

TODAY = date(2026, 11, 27)  # between campaigns: 2025 closed, 2026 not yet open
TODAY_OPEN = date(2027, 1, 10)  # campaign 2026 open
PASSWORD = "Demo-Test-2026"
SECRET = "test-secret"


def _seeded(today: date) -> Store:
    store = Store(":memory:")
    demo.seed_demo(store, today=today, password=PASSWORD, secret=SECRET)
    return store


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    s = _seeded(TODAY)
    yield s
    s.close()


@pytest.fixture(scope="module")
def store_open() -> Iterator[Store]:
    s = _seeded(TODAY_OPEN)
    yield s
    s.close()


@pytest.fixture(scope="module", params=["closed", "open"])
def any_store(request: pytest.FixtureRequest, store: Store, store_open: Store) -> tuple[Store, date]:
    return (store, TODAY) if request.param == "closed" else (store_open, TODAY_OPEN)


def _esat_id(s: Store, login: str) -> int:
    return s.scalar("SELECT esat_id FROM account WHERE login = ?", [login])


# --- reference data ---------------------------------------------------------------------


def test_cafs_and_esats(store: Store) -> None:
    cafs = {r["code"]: r["name"] for r in store.all("SELECT * FROM caf")}
    assert cafs == {demo.PILOT_CAF: "Caf de Loire-Atlantique", demo.NEIGHBOUR_CAF: "Caf de Maine-et-Loire"}
    per_caf = {
        r["caf_code"]: r["n"] for r in store.all("SELECT caf_code, count(*) AS n FROM esat GROUP BY caf_code")
    }
    assert sum(per_caf.values()) >= 20
    assert set(per_caf) == {demo.PILOT_CAF, demo.NEIGHBOUR_CAF}
    assert per_caf[demo.PILOT_CAF] > per_caf[demo.NEIGHBOUR_CAF]
    assert all(r["legal_name"].startswith("ESAT ") for r in store.all("SELECT legal_name FROM esat"))


def test_siret_and_finess_are_valid(store: Store) -> None:
    for row in store.all("SELECT siret FROM esat"):
        assert re.fullmatch(r"\d{14}", row["siret"]) and demo.luhn_valid(row["siret"])
        assert demo.luhn_valid(row["siret"][:9])  # the SIREN too
    sites = store.all("SELECT s.*, e.caf_code FROM esat_site s JOIN esat e ON e.id = s.esat_id")
    for site in sites:
        assert re.fullmatch(r"(44|49)\d{7}", site["finess"]) and demo.luhn_valid(site["finess"])
        assert re.fullmatch(r"(44|49)\d{3}", site["postcode"])
        assert site["finess"][:2] == site["postcode"][:2] == site["caf_code"][:2]
    ranks: dict[int, list[int]] = {}
    for site in sites:
        ranks.setdefault(site["esat_id"], []).append(site["rank"])
    assert len(ranks) == store.scalar("SELECT count(*) FROM esat")
    assert all(sorted(r) in ([1], [1, 2]) for r in ranks.values())
    assert any(sorted(r) == [1, 2] for r in ranks.values())  # some ESATs have two sites


def test_luhn_helpers() -> None:
    assert demo.luhn_valid("750712184")  # a published hospital FINESS (DOMAIN §5)
    assert not demo.luhn_valid("750712185")
    assert demo.luhn_check_digit("75071218") == "4"


def test_partner_contracts(store: Store) -> None:
    kinds: dict[int, set[str]] = {}
    for r in store.all("SELECT esat_id, kind, valid_from, valid_to FROM partner_contract"):
        assert r["valid_from"] == date(2025, 1, 1) and r["valid_to"] is None
        kinds.setdefault(r["esat_id"], set()).add(r["kind"])
    no_contract = _esat_id(store, "esat.sans.contrat@example.org")
    assert kinds[no_contract] == {"convention", "contrat_services"}
    others = [k for esat_id, k in kinds.items() if esat_id != no_contract]
    assert len(others) == store.scalar("SELECT count(*) FROM esat") - 1
    assert all(k == {"convention", "contrat_services", "bulletin_esat"} for k in others)


def test_cgu_published_not_accepted(store: Store) -> None:
    rows = store.all("SELECT * FROM cgu_version ORDER BY scope")
    assert [(r["scope"], r["version"], r["published_on"]) for r in rows] == [
        ("esat", 1, date(2026, 1, 1)),
        ("mcp", 1, date(2026, 1, 1)),
    ]
    assert all(r["title"] and len(r["body"]) > 300 for r in rows)
    for table in ("cgu_acceptance", "feedback", "outbox", "audit_log"):
        assert store.scalar(f"SELECT count(*) FROM {table}") == 0, table


# --- accounts ---------------------------------------------------------------------------


def test_demo_accounts(store: Store) -> None:
    accounts = {r["login"]: r for r in store.all("SELECT * FROM account")}
    for login, role in demo.DEMO_ACCOUNTS.items():
        assert accounts[login]["role"] == role
    assert accounts["esat.demo@example.org"]["esat_id"] == 1
    assert accounts["esat.simple@example.org"]["esat_id"] == 2
    agent = accounts["agent.caf@example.org"]
    assert agent["caf_code"] == demo.PILOT_CAF and agent["esat_id"] is None
    assert accounts["relecteur@example.org"]["esat_id"] is None
    for a in accounts.values():
        assert a["email"] == a["login"] and a["active"]
        assert re.fullmatch(r"\S+ \S+", a["display_name"])
        if a["role"] == "esat":
            assert a["esat_id"] is not None
    # Every ESAT has an account (the author of its past declarations).
    assert {a["esat_id"] for a in accounts.values() if a["role"] == "esat"} == {
        r["id"] for r in store.all("SELECT id FROM esat")
    }


def test_every_password_verifies(store: Store) -> None:
    hashes = store.all("SELECT login, password_hash FROM account")
    assert hashes
    for row in hashes:
        assert verify_password(row["password_hash"], PASSWORD), row["login"]
        assert not verify_password(row["password_hash"], PASSWORD + "x")
    named = [r["password_hash"] for r in hashes if r["login"] in demo.DEMO_ACCOUNTS]
    assert len(set(named)) == len(demo.DEMO_ACCOUNTS)  # hashed one by one


# --- workers ----------------------------------------------------------------------------


def test_demo_esat_workers(store: Store) -> None:
    esat_id = _esat_id(store, "esat.demo@example.org")
    per_caf = {
        r["caf_code"]: r["n"]
        for r in store.all(
            "SELECT caf_code, count(*) AS n FROM worker WHERE esat_id = ? GROUP BY 1", [esat_id]
        )
    }
    total = sum(per_caf.values())
    assert total >= 600
    assert set(per_caf) == {demo.PILOT_CAF, demo.NEIGHBOUR_CAF}
    assert 0.75 <= per_caf[demo.PILOT_CAF] / total <= 0.95


def test_demo_esat_couples(store: Store) -> None:
    couples = store.all(
        "SELECT caf_code, allocataire, list(person_role ORDER BY person_role) AS roles "
        "FROM worker WHERE esat_id = ? GROUP BY caf_code, allocataire HAVING count(*) > 1",
        [_esat_id(store, "esat.demo@example.org")],
    )
    assert len(couples) >= 2
    assert all(c["roles"] == ["CONJOINT", "RESPONSABLE"] for c in couples)


def test_double_activity(store: Store) -> None:
    rows = store.all("SELECT * FROM worker WHERE double_activity")
    assert 1 <= len(rows) <= 20
    assert any(r["esat_id"] == _esat_id(store, "esat.demo@example.org") for r in rows)
    for r in rows:
        assert Decimal(20) <= r["rate_mo"] <= Decimal(50)
        assert Decimal(0) < r["rate_esat"] < Decimal(100)
        assert r["rate_esat"] + r["rate_mo"] <= Decimal(100)


def test_ordinary_workers(store: Store) -> None:
    rows = store.all("SELECT rate_esat, rate_mo, status FROM worker WHERE NOT double_activity")
    assert {r["rate_esat"] for r in rows} == {Decimal(100), Decimal(80), Decimal(50)}
    assert all(r["rate_mo"] is None and r["status"] == "ACTIVE" for r in rows)
    full_time = sum(r["rate_esat"] == Decimal(100) for r in rows)
    assert full_time > len(rows) / 2


def test_simple_esat_on_one_caf(store: Store) -> None:
    esat_id = _esat_id(store, "esat.simple@example.org")
    rows = store.all("SELECT DISTINCT caf_code FROM worker WHERE esat_id = ?", [esat_id])
    assert [r["caf_code"] for r in rows] == [demo.PILOT_CAF]
    assert store.scalar("SELECT count(*) FROM worker WHERE esat_id = ?", [esat_id]) >= 30
    assert store.scalar("SELECT caf_code FROM esat WHERE id = ?", [esat_id]) == demo.PILOT_CAF


def test_other_esats_size(store: Store) -> None:
    rows = store.all("SELECT esat_id, count(*) AS n FROM worker WHERE esat_id > 2 GROUP BY esat_id")
    assert len(rows) == store.scalar("SELECT count(*) FROM esat") - 2
    assert all(30 <= r["n"] <= 90 for r in rows)


def test_identities_are_fake(store: Store) -> None:
    rows = store.all("SELECT allocataire, last_name, first_name, birth_date FROM worker")
    for r in rows:
        assert re.fullmatch(r"^99\d{5}$", r["allocataire"])
        assert r["allocataire"].startswith(demo.ALLOCATAIRE_FAKE_PREFIX)
        assert r["last_name"] == r["last_name"].upper()
        assert date(1962, 1, 1) <= r["birth_date"] <= date(2004, 12, 31)
    # (caf, allocataire, role) is unique (also a table constraint).
    assert store.scalar(
        "SELECT count(*) FROM (SELECT DISTINCT caf_code, allocataire, person_role FROM worker)"
    ) == len(rows)


def test_first_two_pilot_workers_are_ordinary(any_store: tuple[Store, date]) -> None:
    s, today = any_store
    esat_id = _esat_id(s, "esat.demo@example.org")
    first_two = s.all(
        "SELECT * FROM worker WHERE esat_id = ? AND caf_code = ? ORDER BY last_name, first_name LIMIT 3",
        [esat_id, demo.PILOT_CAF],
    )
    assert (
        (first_two[0]["last_name"], first_two[0]["first_name"])
        < (
            first_two[1]["last_name"],
            first_two[1]["first_name"],
        )
        < (first_two[2]["last_name"], first_two[2]["first_name"])
    )
    for w in first_two[:2]:
        assert not w["double_activity"] and w["rate_mo"] is None and w["person_role"] == "RESPONSABLE"
        assert (
            s.scalar(
                "SELECT count(*) FROM worker WHERE caf_code = ? AND allocataire = ?",
                [w["caf_code"], w["allocataire"]],
            )
            == 1
        )
        campaigns = [
            r["campaign"]
            for r in s.all(
                "SELECT campaign FROM declaration WHERE worker_id = ? ORDER BY campaign", [w["id"]]
            )
        ]
        # A certificat in every closed campaign, none in a campaign still open.
        closed = [y for y in demo.demo_campaigns(today) if demo.campaign_window(y)[1] < today]
        assert campaigns == closed


# --- declarations -----------------------------------------------------------------------


def test_campaigns(store: Store, store_open: Store) -> None:
    def counts(s: Store) -> dict[int, int]:
        return {
            r["campaign"]: r["n"] for r in s.all("SELECT campaign, count(*) AS n FROM declaration GROUP BY 1")
        }

    workers = store.scalar("SELECT count(*) FROM worker")
    closed = counts(store)
    assert sorted(closed) == [2023, 2024, 2025]
    assert all(0.9 * workers <= n < workers for n in closed.values())  # ~5 % skipped
    opened = counts(store_open)
    assert sorted(opened) == [2024, 2025, 2026]
    assert 0 < opened[2026] < opened[2025]  # only those already sent by 10 January
    assert demo.demo_campaigns(date(2026, 12, 1)) == [2023, 2024, 2025]
    assert demo.demo_campaigns(date(2026, 12, 2)) == [2023, 2024, 2025, 2026]


def test_received_inside_window_and_before_today(any_store: tuple[Store, date]) -> None:
    s, today = any_store
    for r in s.all(
        "SELECT campaign, min(received_at) AS lo, max(received_at) AS hi FROM declaration GROUP BY 1"
    ):
        first, last = demo.campaign_window(r["campaign"])
        assert r["lo"] >= datetime.combine(first, datetime.min.time())
        assert r["hi"].date() <= last
    assert s.scalar("SELECT count(*) FROM declaration WHERE received_at >= ?", [today]) == 0
    # Peak before the 15 January deadline.
    early = s.scalar(
        "SELECT count(*) FROM declaration WHERE month(received_at) IN (12, 1) AND NOT "
        "(month(received_at) = 1 AND day(received_at) >= 15)"
    )
    assert early > s.scalar("SELECT count(*) FROM declaration") / 2


def test_history_older_and_within_two_years(any_store: tuple[Store, date]) -> None:
    s, today = any_store
    cutoff = today - timedelta(days=730)
    assert s.scalar("SELECT count(*) FROM declaration WHERE received_at < ?", [cutoff]) > 0
    assert s.scalar("SELECT count(*) FROM declaration WHERE received_at >= ?", [cutoff]) > 0


def test_declaration_columns(any_store: tuple[Store, date]) -> None:
    s, _today = any_store
    rows = s.all(
        "SELECT d.*, w.caf_code AS w_caf, w.esat_id AS w_esat FROM declaration d JOIN worker w ON w.id = d.worker_id"
    )
    assert len(rows) == s.scalar("SELECT count(*) FROM declaration")
    authors = {r["esat_id"]: r["id"] for r in s.all("SELECT id, esat_id FROM account WHERE role = 'esat'")}
    for r in rows:
        assert r["form_id"] == "certificat_emploi" and r["form_version"] == 1
        assert r["natural_key"] == f"certificat_emploi:{r['worker_id']}:{r['campaign']}"
        assert r["idempotency_key"] == f"demo-{r['id']}"
        assert r["receipt_number"] == receipt_number(r["id"], r["received_at"])
        assert (r["caf_code"], r["esat_id"]) == (r["w_caf"], r["w_esat"])
        assert r["author_id"] == authors[r["esat_id"]]
    # Ids follow the order of receipt.
    ordered = s.all("SELECT id FROM declaration ORDER BY received_at, worker_id")
    assert [r["id"] for r in ordered] == list(range(1, len(ordered) + 1))


def _values(s: Store) -> dict[int, dict[str, Decimal]]:
    values: dict[int, dict[str, Decimal]] = {}
    for r in s.all("SELECT declaration_id, field_id, number, day, text FROM declaration_value"):
        assert r["day"] is None and r["text"] is None
        values.setdefault(r["declaration_id"], {})[r["field_id"]] = r["number"]
    return values


def test_verification_codes_recompute(any_store: tuple[Store, date]) -> None:
    s, _today = any_store
    values = _values(s)
    declarations = s.all("SELECT id, receipt_number, worker_id, verification_code FROM declaration")
    assert len(declarations) == len(values)
    for d in declarations:
        expected = verification_code(SECRET, d["receipt_number"], d["worker_id"], values[d["id"]])
        assert d["verification_code"] == expected, d["id"]
        assert verification_code("other", d["receipt_number"], d["worker_id"], values[d["id"]]) != expected


def test_amounts_are_coherent(store: Store) -> None:
    values = _values(store)
    rows = store.all(
        "SELECT d.id, d.campaign, w.rate_esat FROM declaration d JOIN worker w ON w.id = d.worker_id"
    )
    for r in rows:
        v = values[r["id"]]
        assert set(v) == {"remuneration_garantie", "aide_au_poste", "part_esat"}
        smic = demo.smic_monthly(date(r["campaign"], 11, 1))
        share = r["rate_esat"] / 100
        rg, aide, part = v["remuneration_garantie"], v["aide_au_poste"], v["part_esat"]
        assert all(x == x.quantize(Decimal("0.01")) for x in v.values())
        assert aide <= rg and part == rg - aide
        assert (
            smic * Decimal("0.557") * share - Decimal("0.01")
            <= rg
            <= smic * Decimal("0.70") * share + Decimal("0.01")
        )
        assert abs(aide - smic * Decimal("0.507") * share) <= Decimal("0.01")
        assert part >= smic * Decimal("0.05") * share - Decimal("0.01")


def test_smic_table() -> None:
    assert demo.smic_monthly(date(2023, 11, 1)) == Decimal("1747.20")
    assert demo.smic_monthly(date(2024, 10, 31)) == Decimal("1766.92")
    assert demo.smic_monthly(date(2025, 11, 1)) == Decimal("1801.80")
    assert demo.smic_monthly(date(2026, 11, 1)) == Decimal("1867.02")


def test_sequence_continues_after_max_id(store_open: Store) -> None:
    # store_open only: nextval would consume a value that other tests do not look at.
    expected = store_open.scalar("SELECT max(id) FROM declaration") + 1
    assert store_open.scalar("SELECT nextval('declaration_seq')") == expected


# --- determinism, emptiness, entry point ------------------------------------------------


def test_deterministic(store: Store) -> None:
    again = _seeded(TODAY)
    try:
        for table, order in (
            ("worker", "id"),
            ("declaration", "id"),
            ("declaration_value", "declaration_id, field_id"),
            ("esat", "id"),
            ("esat_site", "esat_id, rank"),
        ):
            sql = f"SELECT * FROM {table} ORDER BY {order}"
            assert store.all(sql) == again.all(sql), table
    finally:
        again.close()


def test_workers_do_not_depend_on_today(store: Store, store_open: Store) -> None:
    sql = "SELECT * FROM worker ORDER BY id"
    assert store.all(sql) == store_open.all(sql)


def test_is_empty_and_refuses_a_second_seed(store: Store) -> None:
    fresh = Store(":memory:")
    try:
        assert demo.is_empty(fresh)
    finally:
        fresh.close()
    assert not demo.is_empty(store)
    with pytest.raises(ValueError, match="empty"):
        demo.seed_demo(store, today=TODAY, password=PASSWORD, secret=SECRET)


def test_main_seeds_once(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.duckdb"
    monkeypatch.setenv("ESAT_DB", str(db))
    monkeypatch.setenv("ESAT_TODAY", TODAY.isoformat())
    monkeypatch.setenv("ESAT_DEMO_PASSWORD", PASSWORD)
    monkeypatch.setenv("ESAT_SECRET", SECRET)
    demo.main()
    first = capsys.readouterr().out
    assert first.count("\n") == 1 and "seeded" in first and "esat" in first
    s = Store(str(db))
    try:
        counts = (s.scalar("SELECT count(*) FROM worker"), s.scalar("SELECT count(*) FROM declaration"))
        names = {r["last_name"] for r in s.all("SELECT DISTINCT last_name FROM worker")}
    finally:
        s.close()
    assert f"{counts[0]} worker" in first and f"{counts[1]} declaration" in first
    assert not any(name in first.upper() for name in names)  # counts only, never names
    demo.main()
    second = capsys.readouterr().out
    assert "nothing seeded" in second
    s = Store(str(db))
    try:
        assert s.scalar("SELECT count(*) FROM worker") == counts[0]
    finally:
        s.close()
