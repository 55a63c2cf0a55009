"""Tests of the synthetic demo data generator (data/demo.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from data import demo
from data.store import Store
from forms import load_all
from rules import engine, validate
from services import timeline
from services.declarations import known_before
from services.passwords import verify_password
from services.receipts import receipt_number, verification_code
from tests import stores

pytestmark = pytest.mark.xdist_group("demo")  # one xdist worker: its seeded stores are module fixtures

TODAY = date(2026, 11, 27)  # between campaigns: 2025 closed, 2026 not yet open
TODAY_OPEN = date(2027, 1, 10)  # campaign 2026 open
PASSWORD = "Demo-Test-2026"
SECRET = "test-secret"


def _seeded(today: date) -> Store:
    store = Store(stores.empty())
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
    for table in ("cgu_acceptance", "outbox", "audit_log"):
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
        "SELECT caf_code, allocataire, string_agg(person_role, ',' ORDER BY person_role) AS roles "
        "FROM worker WHERE esat_id = ? GROUP BY caf_code, allocataire HAVING count(*) > 1",
        [_esat_id(store, "esat.demo@example.org")],
    )
    assert len(couples) >= 2
    assert all(c["roles"] == "CONJOINT,RESPONSABLE" for c in couples)


def test_double_activity(store: Store) -> None:
    rows = [w for w in _final(store) if w["double_activity"]]
    workers = store.scalar("SELECT count(*) FROM worker")
    assert 0.01 * workers <= len(rows) <= 0.03 * workers  # DOMAIN §6: 1-3 %
    assert any(r["esat_id"] == _esat_id(store, "esat.demo@example.org") for r in rows)
    for r in rows:
        assert Decimal(20) <= r["rate_mo"] <= Decimal(50)
        assert Decimal(0) < r["rate_esat"] < Decimal(100)
        assert r["rate_esat"] + r["rate_mo"] <= Decimal(100)


def test_ordinary_workers(store: Store) -> None:
    rows = [w for w in _final(store) if not w["double_activity"] and w["status"] == "ACTIVE"]
    rates = {r["rate_esat"] for r in rows}
    assert {Decimal(100), Decimal(80), Decimal(50)} <= rates <= set(demo.RATE_STEPS)
    # rate_mo is NULL, or 0 once a double activity ended with the outside job.
    assert all(r["rate_mo"] in (None, Decimal(0)) for r in rows)
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
        "SELECT count(*) FROM (SELECT DISTINCT caf_code, allocataire, person_role FROM worker) AS w"
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
        ]  # certificats only: no change of situation for the reference workers
        # A certificat in every closed campaign, none in a campaign still open.
        closed = [y for y in demo.demo_campaigns(today) if demo.campaign_window(y)[1] < today]
        assert campaigns == closed


# --- declarations -----------------------------------------------------------------------


def test_campaigns(store: Store, store_open: Store) -> None:
    def counts(s: Store) -> dict[int, int]:
        return {
            r["campaign"]: r["n"]
            for r in s.all(
                "SELECT campaign, count(*) AS n FROM declaration WHERE form_id = 'certificat_emploi' GROUP BY 1"
            )
        }

    workers = store.scalar("SELECT count(*) FROM worker")
    assert store.scalar("SELECT count(*) FROM declaration WHERE campaign IS NULL") == store.scalar(
        "SELECT count(*) FROM declaration WHERE form_id <> 'certificat_emploi'"
    )
    closed = counts(store)
    assert sorted(closed) == [2023, 2024, 2025]
    for year, n in closed.items():
        # ~5 % skipped, and none for those who had left the ESAT by 30 November.
        gone = store.scalar(
            "SELECT count(*) FROM v_change WHERE effective_date <= ? AND (form_id = 'depart_esat' "
            "OR (form_id = 'fin_double_activite' AND motif_depart IS NOT NULL))",
            [date(year, 11, 30)],
        )
        assert 0.9 * (workers - gone) <= n < workers - gone / 2, year
    opened = counts(store_open)
    assert sorted(opened) == [2024, 2025, 2026]
    assert 0 < opened[2026] < opened[2025]  # only those already sent by 10 January
    assert demo.demo_campaigns(date(2026, 12, 1)) == [2023, 2024, 2025]
    assert demo.demo_campaigns(date(2026, 12, 2)) == [2023, 2024, 2025, 2026]


def test_received_inside_window_and_before_today(any_store: tuple[Store, date]) -> None:
    s, today = any_store
    for r in s.all(
        "SELECT campaign, min(received_at) AS lo, max(received_at) AS hi FROM declaration "
        "WHERE campaign IS NOT NULL GROUP BY 1"
    ):
        first, last = demo.campaign_window(r["campaign"])
        assert r["lo"] >= datetime.combine(first, datetime.min.time())
        assert r["hi"].date() <= last
    assert s.scalar("SELECT count(*) FROM declaration WHERE received_at >= ?", [today]) == 0
    # Peak before the 15 January deadline.
    early = s.scalar(
        "SELECT count(*) FROM v_certificat WHERE extract(month FROM received_at) IN (12, 1) AND NOT "
        "(extract(month FROM received_at) = 1 AND extract(day FROM received_at) >= 15)"
    )
    assert early > s.scalar("SELECT count(*) FROM v_certificat") / 2


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
    forms = load_all()
    for r in rows:
        assert r["form_version"] == forms[r["form_id"]].version
        if r["form_id"] == "certificat_emploi":
            assert r["natural_key"] == f"certificat_emploi:{r['worker_id']}:{r['campaign']}"
            assert r["effective_date"] is None
        else:
            assert r["form_id"] in demo.CHANGE_FORMS and forms[r["form_id"]].unique_per == "effective_date"
            assert r["campaign"] is None and r["effective_date"] is not None
            assert r["natural_key"] == f"{r['form_id']}:{r['worker_id']}:{r['effective_date']}"
        assert r["idempotency_key"] == f"demo-{r['id']}"
        assert r["receipt_number"] == receipt_number(r["id"], r["received_at"])
        assert (r["caf_code"], r["esat_id"]) == (r["w_caf"], r["w_esat"])
        assert r["author_id"] == authors[r["esat_id"]]
    # Ids follow the order of receipt.
    ordered = s.all("SELECT id FROM declaration ORDER BY received_at, worker_id")
    assert [r["id"] for r in ordered] == list(range(1, len(ordered) + 1))


def _values(s: Store) -> dict[int, dict[str, Decimal]]:
    """The certificats' values."""
    values: dict[int, dict[str, Decimal]] = {}
    for r in s.all(
        "SELECT v.declaration_id, v.field_id, v.number, v.day, v.text FROM declaration_value v "
        "JOIN declaration d ON d.id = v.declaration_id WHERE d.form_id = 'certificat_emploi'"
    ):
        assert r["day"] is None and r["text"] is None
        values.setdefault(r["declaration_id"], {})[r["field_id"]] = r["number"]
    return values


def test_verification_codes_recompute(any_store: tuple[Store, date]) -> None:
    s, _today = any_store
    values = _values(s)
    declarations = s.all(
        "SELECT id, receipt_number, worker_id, verification_code FROM declaration WHERE form_id = 'certificat_emploi'"
    )
    assert len(declarations) == len(values)
    for d in declarations:
        expected = verification_code(SECRET, d["receipt_number"], d["worker_id"], values[d["id"]])
        assert d["verification_code"] == expected, d["id"]
        assert verification_code("other", d["receipt_number"], d["worker_id"], values[d["id"]]) != expected


def test_amounts_are_coherent(store: Store) -> None:
    values = _values(store)
    replayed = _replay(store)
    rows = store.all("SELECT id, worker_id, campaign FROM v_certificat")
    for r in rows:
        v = values[r["id"]]
        assert set(v) == {"remuneration_garantie", "aide_au_poste", "part_esat"}
        smic = demo.smic_monthly(date(r["campaign"], 11, 1))
        # The rate in force on 30 November; the worker was in the ESAT that day.
        rate, present = replayed[r["worker_id"]].on(date(r["campaign"], 11, 30))
        assert present, r
        share = rate / 100
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


def test_sequences_continue_after_max_id(store_open: Store) -> None:
    # store_open only: nextval would consume a value that other tests do not look at.
    for table, sequence in (("declaration", "declaration_seq"), ("feedback", "feedback_seq")):
        expected = store_open.scalar(f"SELECT max(id) FROM {table}") + 1
        assert store_open.scalar(f"SELECT nextval('{sequence}')") == expected, sequence


# --- determinism, emptiness, entry point ------------------------------------------------


def test_deterministic(store: Store) -> None:
    again = _seeded(TODAY)
    try:
        for table, order in (
            ("worker", "id"),
            ("declaration", "id"),
            ("declaration_value", "declaration_id, field_id"),
            ("feedback", "id"),
            ("esat", "id"),
            ("esat_site", "esat_id, rank"),
        ):
            sql = f"SELECT * FROM {table} ORDER BY {order}"
            assert store.all(sql) == again.all(sql), table
    finally:
        again.close()


def test_worker_identities_do_not_depend_on_today(store: Store, store_open: Store) -> None:
    # Their state does: it follows the changes filed before ``today``.
    sql = (
        "SELECT id, caf_code, allocataire, person_role, last_name, first_name, birth_date, esat_id "
        "FROM worker ORDER BY id"
    )
    assert store.all(sql) == store_open.all(sql)


def test_is_empty_and_refuses_a_second_seed(store: Store) -> None:
    fresh = Store(stores.empty())
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
    monkeypatch.setenv("ESAT_DEMO", "1")
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


# --- changes of situation ---------------------------------------------------------------


class _Timeline:
    """A worker's state over time, rebuilt from the stored change declarations only."""

    def __init__(self, initial_rate: Decimal) -> None:
        self.initial_rate = initial_rate
        self.steps: list[tuple[date, Decimal, str, date | None]] = []  # effective, rate, status, return

    def on(self, day: date) -> tuple[Decimal, bool]:
        rate, present = self.initial_rate, True
        for effective, after, status, back in self.steps:
            if effective > day:
                break
            rate = after
            present = status == "ACTIVE" or (status == "ON_LEAVE" and back is not None and back <= day)
        return rate, present


def _changes(s: Store) -> dict[int, list[dict[str, Any]]]:
    """Change declarations per worker, in order of receipt, with their payload as stored."""
    by_worker: dict[int, list[dict[str, Any]]] = {}
    rows = s.all("SELECT * FROM declaration WHERE form_id <> 'certificat_emploi' ORDER BY worker_id, id")
    payloads: dict[int, dict[str, Any]] = {}
    for v in s.all(
        "SELECT v.* FROM declaration_value v JOIN declaration d ON d.id = v.declaration_id "
        "WHERE d.form_id <> 'certificat_emploi'"
    ):
        value = v["number"] if v["number"] is not None else v["day"] if v["day"] is not None else v["text"]
        payloads.setdefault(v["declaration_id"], {})[v["field_id"]] = value
    for r in rows:
        r["payload"] = payloads[r["id"]]
        by_worker.setdefault(r["worker_id"], []).append(r)
    return by_worker


def _replay(s: Store, secret: str = SECRET) -> dict[int, _Timeline]:
    """Validate every change with what the Caf knew when it was filed (the worker row is the
    baseline, services/timeline.py), check the changes and the known state stored with it, and
    that folding the stored changes gives the replayed state. Returns each worker's timeline."""
    forms = load_all()
    workers = {w["id"]: w for w in s.all("SELECT * FROM worker")}
    timelines: dict[int, _Timeline] = {}
    for worker_id, w in workers.items():
        changes = _changes_cache(s).get(worker_id, [])
        base = timeline.baseline(w)
        state: dict[str, Any] = dict(base)
        steps = timelines[worker_id] = _Timeline(state["rate_esat"])
        last_change: date | None = None
        events = []
        for c in changes:
            form = forms[c["form_id"]]
            on = c["received_at"].date()
            context = {**state, "last_change_date": last_change}
            report = validate(form, c["payload"], on, context)
            assert report.valid and not report.warnings, (c["id"], report.as_json())
            assert c["effective_date"] == report.values[form.effective_date]
            assert c["verification_code"] == verification_code(
                secret, c["receipt_number"], worker_id, report.values
            ), c["id"]
            assert c["known_before"] == known_before(state), c["id"]
            effects = engine.state_changes(form, report.values)
            assert c["effects"] == timeline.encode(effects), c["id"]
            events.append(
                timeline.Event(c["id"], c["form_id"], c["effective_date"], timeline.decode(c["effects"]))
            )
            state.update(effects)
            last_change = c["effective_date"]
            steps.steps.append(
                (c["effective_date"], state["rate_esat"], state["status"], state["return_date"])
            )
        assert timeline.fold(base, events, last_change or date.min) == state, worker_id
    return timelines


def _final(s: Store) -> list[dict[str, Any]]:
    """Each worker row with the state every change filed for it leads to (the timeline read as of
    its last change; the row itself holds the baseline)."""
    events: dict[int, list[timeline.Event]] = {}
    for r in s.all(
        "SELECT id, worker_id, form_id, effective_date, effects FROM declaration "
        "WHERE effects IS NOT NULL AND superseded_at IS NULL ORDER BY effective_date, id"
    ):
        event = timeline.Event(r["id"], r["form_id"], r["effective_date"], timeline.decode(r["effects"]))
        events.setdefault(r["worker_id"], []).append(event)
    rows = []
    for w in s.all("SELECT * FROM worker ORDER BY id"):
        history = events.get(w["id"], [])
        last = history[-1].effective_date if history else date.min
        rows.append({**w, **timeline.fold(timeline.baseline(w), history, last)})
    return rows


_CHANGES: dict[int, dict[int, list[dict[str, Any]]]] = {}


def _changes_cache(s: Store) -> dict[int, list[dict[str, Any]]]:
    if id(s) not in _CHANGES:
        _CHANGES[id(s)] = _changes(s)
    return _CHANGES[id(s)]


def test_changes_are_valid_and_explain_the_worker_states(any_store: tuple[Store, date]) -> None:
    s, _today = any_store
    timelines = _replay(s)
    assert sum(len(t.steps) for t in timelines.values()) == s.scalar(
        "SELECT count(*) FROM declaration WHERE form_id <> 'certificat_emploi'"
    )


def test_changes_cover_the_last_three_years(any_store: tuple[Store, date]) -> None:
    s, today = any_store
    first, last = s.one(
        "SELECT min(received_at) AS first, max(received_at) AS last FROM declaration "
        "WHERE form_id <> 'certificat_emploi'"
    ).values()
    start = demo.history_start(today)
    assert start <= first.date() < start + timedelta(days=60)
    assert today - timedelta(days=60) < last.date() < today


def test_change_volumes_follow_the_domain_figures(store: Store) -> None:
    counts = {
        r["form_id"]: r["n"] for r in store.all("SELECT form_id, count(*) AS n FROM v_change GROUP BY 1")
    }
    assert set(counts) == set(demo.CHANGE_FORMS)
    others = store.scalar("SELECT count(*) FROM worker WHERE esat_id <> ?", [demo.DEMO_ESAT_ID])
    departures = store.scalar(
        "SELECT count(*) FROM v_change WHERE esat_id <> ? AND motif_depart IS NOT NULL", [demo.DEMO_ESAT_ID]
    )
    assert 0.04 <= departures / others / 3 <= 0.08  # ~6 % a year (DOMAIN §6)
    workers = store.scalar("SELECT count(*) FROM worker")
    assert 0.07 <= counts["modification_activite"] / workers / 3 <= 0.13  # ~10 % a year
    assert counts["debut_double_activite"] >= 10
    assert counts["fin_double_activite"] >= 2 and counts["modification_double_activite"] >= 2


def test_change_values(store: Store) -> None:
    motifs = {o.value for o in demo.checks.reference_list("motifs_depart")}
    used = {r["motif_depart"] for r in store.all("SELECT DISTINCT motif_depart FROM v_change")}
    assert used - {None} <= motifs
    assert set(demo.LEAVE_MOTIFS) <= used and len(used) >= 8
    for r in store.all("SELECT * FROM v_change WHERE form_id = 'modification_activite'"):
        assert r["rate_before"] != r["rate_after"]
    sens = store.all(
        "SELECT v.text AS sens, c.rate_before, c.rate_after FROM v_change c "
        "JOIN declaration_value v ON v.declaration_id = c.id AND v.field_id = 'sens'"
    )
    assert {r["sens"] for r in sens} == {"augmentation", "reduction"}
    for r in sens:
        assert (r["rate_after"] > r["rate_before"]) == (r["sens"] == "augmentation")
    # Stored as services.declarations._insert_values does: by field type.
    forms = load_all()
    for r in store.all(
        "SELECT d.form_id, v.* FROM declaration_value v JOIN declaration d ON d.id = v.declaration_id "
        "WHERE d.form_id <> 'certificat_emploi'"
    ):
        kind = forms[r["form_id"]].field(r["field_id"]).type
        filled = {c for c in ("number", "day", "text") if r[c] is not None}
        assert filled == {{"rate": "number", "date": "day"}.get(kind, "text")}, r
        if kind == "certify":
            assert r["text"] == "oui"
    # A congé, and only a congé, has an expected return date.
    returns = store.all(
        "SELECT c.motif_depart, v.day FROM v_change c LEFT JOIN declaration_value v "
        "ON v.declaration_id = c.id AND v.field_id = 'date_retour_prevue' WHERE c.motif_depart IS NOT NULL"
    )
    for r in returns:
        assert (r["day"] is not None) == (r["motif_depart"] in demo.LEAVE_MOTIFS)


def test_latest_change_sets_the_worker_status(any_store: tuple[Store, date]) -> None:
    s, _today = any_store
    final = {w["id"]: w for w in _final(s)}
    rows = s.all(
        "SELECT d.worker_id, c.motif_depart, v.day AS back "
        "FROM (SELECT *, row_number() OVER (PARTITION BY worker_id ORDER BY id DESC) AS k "
        "FROM declaration WHERE campaign IS NULL) d JOIN v_change c ON c.id = d.id AND d.k = 1 "
        "LEFT JOIN declaration_value v ON v.declaration_id = d.id AND v.field_id = 'date_retour_prevue'"
    )
    assert rows
    for r in rows:
        w = final[r["worker_id"]]
        if r["motif_depart"] in demo.LEAVE_MOTIFS:
            assert (w["status"], w["return_date"]) == ("ON_LEAVE", r["back"])
        elif r["motif_depart"] is not None:
            assert (w["status"], w["return_date"]) == ("LEFT", None)
        else:
            assert w["status"] == "ACTIVE"
    # The worker rows hold the baseline: whoever is not active got there through a declaration.
    assert s.scalar("SELECT count(*) FROM worker WHERE status <> 'ACTIVE'") == 0
    changed = {r["worker_id"] for r in rows}
    assert all(w["status"] == "ACTIVE" for w in final.values() if w["id"] not in changed)


def test_demo_esat_reference_and_double_activity_workers_untouched(any_store: tuple[Store, date]) -> None:
    s, _today = any_store
    fixed = s.all(
        "SELECT * FROM worker WHERE esat_id = ? AND (id IN (1, 2) OR double_activity)", [demo.DEMO_ESAT_ID]
    )
    assert len(fixed) == 2 + demo.DEMO_DOUBLE_ACTIVITY
    for w in fixed:
        assert w["status"] == "ACTIVE" and w["return_date"] is None
        assert (
            s.scalar(
                "SELECT count(*) FROM declaration WHERE worker_id = ? AND form_id <> 'certificat_emploi'",
                [w["id"]],
            )
            == 0
        )
        if w["double_activity"]:
            assert w["double_activity_since"] == date(2024, 1 + w["id"] % 12, 1)
    assert {(w["id"], w["rate_esat"]) for w in fixed if w["id"] in (1, 2)} == {
        (1, Decimal(100)),
        (2, Decimal(80)),
    }
    # No new double activity in the demo ESAT, and >= 95 % of its workers still active.
    assert (
        s.scalar(
            "SELECT count(*) FROM declaration WHERE esat_id = ? AND form_id = 'debut_double_activite'",
            [demo.DEMO_ESAT_ID],
        )
        == 0
    )
    active, total = s.one(
        "SELECT count(*) FILTER (WHERE status = 'ACTIVE') AS a, count(*) AS n FROM worker WHERE esat_id = ?",
        [demo.DEMO_ESAT_ID],
    ).values()
    assert active >= 0.95 * total
    assert s.scalar("SELECT count(*) FROM declaration WHERE esat_id = ? AND form_id = 'depart_esat'", [1]) > 0


# --- processing and avis ----------------------------------------------------------------


def test_processing_by_the_pilot_caf(any_store: tuple[Store, date]) -> None:
    s, today = any_store
    agent = s.scalar("SELECT id FROM account WHERE role = 'agent' AND caf_code = ?", [demo.PILOT_CAF])
    limit = datetime.combine(today - timedelta(days=30), datetime.min.time())
    old, done = s.one(
        "SELECT count(*) AS n, count(processed_at) AS p FROM declaration WHERE caf_code = ? AND received_at < ?",
        [demo.PILOT_CAF, limit],
    ).values()
    assert 0.80 <= done / old <= 0.95
    # Nothing more recent, nothing for a Caf without an agent account.
    assert s.scalar("SELECT count(processed_at) FROM declaration WHERE received_at >= ?", [limit]) == 0
    assert s.scalar("SELECT count(processed_at) FROM declaration WHERE caf_code <> ?", [demo.PILOT_CAF]) == 0
    assert (
        s.scalar("SELECT count(*) FROM declaration WHERE (processed_at IS NULL) <> (processed_by IS NULL)")
        == 0
    )
    rows = s.all(
        "SELECT received_at, processed_at, processed_by FROM declaration WHERE processed_at IS NOT NULL"
    )
    for r in rows:
        assert r["processed_by"] == agent
        assert timedelta(hours=1) <= r["processed_at"] - r["received_at"] <= timedelta(days=10)
        assert r["processed_at"].date() < today
    # Every type of declaration is processed.
    assert {
        r["form_id"] for r in s.all("SELECT DISTINCT form_id FROM declaration WHERE processed_at IS NOT NULL")
    } == {
        "certificat_emploi",
        *demo.CHANGE_FORMS,
    }


def test_feedback(any_store: tuple[Store, date]) -> None:
    s, today = any_store
    rows = s.all(
        "SELECT f.*, d.esat_id, d.author_id, d.received_at FROM feedback f JOIN declaration d ON d.id = f.declaration_id"
    )
    since = datetime.combine(today - timedelta(days=730), datetime.min.time())
    eligible = s.scalar(
        "SELECT count(*) FROM declaration WHERE esat_id = ? AND received_at >= ?", [demo.DEMO_ESAT_ID, since]
    )
    assert 0.10 <= len(rows) / eligible <= 0.20
    assert len(rows) == s.scalar("SELECT count(*) FROM feedback")  # each on an existing declaration
    ratings = [r["rating"] for r in rows]
    assert set(ratings) <= {1, 2, 3, 4, 5} and sum(ratings) / len(ratings) >= 3.8
    assert sum(r >= 4 for r in ratings) >= 0.7 * len(ratings)
    comments = [r["comment"] for r in rows]
    assert 0.2 * len(rows) <= comments.count(None) <= 0.6 * len(rows)
    assert all(c is None or 0 < len(c) <= 100 for c in comments)
    for r in rows:
        assert r["esat_id"] == demo.DEMO_ESAT_ID and r["received_at"] >= since
        assert r["account_id"] == r["author_id"]
        assert r["received_at"] < r["created_at"] <= r["received_at"] + timedelta(minutes=15)
    assert [r["id"] for r in s.all("SELECT id FROM feedback ORDER BY id")] == list(range(1, len(rows) + 1))


# --- national scale ---------------------------------------------------------------------

NATIONAL = {"esats": 30, "workers": 2000, "years": 2}


def _national() -> Store:
    s = Store(stores.empty())
    demo.seed_national(s, today=TODAY, secret=SECRET, **NATIONAL)
    return s


@pytest.fixture(scope="module")
def national() -> Iterator[Store]:
    s = _national()
    yield s
    s.close()


def test_national_reference_data(national: Store) -> None:
    cafs = {r["code"]: r["name"] for r in national.all("SELECT * FROM caf")}
    assert len(cafs) == 101 and all(len(code) == 3 for code in cafs)
    assert cafs[demo.PILOT_CAF] == demo.CAF_NAMES[demo.PILOT_CAF]
    assert cafs[demo.NEIGHBOUR_CAF] == demo.CAF_NAMES[demo.NEIGHBOUR_CAF]
    assert {"751", "2A1", "641", "642", "974"} <= set(cafs)
    assert national.scalar("SELECT count(*) FROM esat") == NATIONAL["esats"]
    assert {r["caf_code"] for r in national.all("SELECT DISTINCT caf_code FROM esat")} >= {
        demo.PILOT_CAF,
        demo.NEIGHBOUR_CAF,
    }
    assert national.scalar("SELECT count(*) FROM esat e WHERE caf_code NOT IN (SELECT code FROM caf)") == 0
    agents = national.all("SELECT login, caf_code FROM account WHERE role = 'agent'")
    assert sorted(a["caf_code"] for a in agents) == sorted(cafs)
    assert all(a["login"] == f"agent.{a['caf_code']}@example.org" for a in agents)
    assert (
        national.scalar("SELECT count(DISTINCT esat_id) FROM account WHERE role = 'esat'")
        == NATIONAL["esats"]
    )
    assert national.scalar("SELECT count(DISTINCT password_hash) FROM account") == 1  # one hash reused


def test_national_counts(national: Store) -> None:
    workers = national.scalar("SELECT count(*) FROM worker")
    assert workers == NATIONAL["workers"]
    per_campaign = {
        r["campaign"]: r["n"]
        for r in national.all("SELECT campaign, count(*) AS n FROM v_certificat GROUP BY 1")
    }
    assert sorted(per_campaign) == [TODAY.year - 2, TODAY.year - 1]
    assert all(0.8 * workers <= n < workers for n in per_campaign.values())
    # At most one certificat per worker and campaign; three values each.
    assert (
        national.scalar(
            "SELECT count(*) FROM (SELECT worker_id, campaign FROM v_certificat "
            "GROUP BY worker_id, campaign HAVING count(*) > 1) AS twice"
        )
        == 0
    )
    assert national.scalar(
        "SELECT count(*) FROM declaration_value v JOIN v_certificat c ON c.id = v.declaration_id"
    ) == 3 * sum(per_campaign.values())
    # Every declaration is on its worker's Caf and ESAT.
    assert (
        national.scalar(
            "SELECT count(*) FROM declaration d JOIN worker w ON w.id = d.worker_id "
            "WHERE d.caf_code <> w.caf_code OR d.esat_id <> w.esat_id"
        )
        == 0
    )
    changes = national.scalar("SELECT count(*) FROM v_change")
    assert 0.15 * workers <= changes <= 0.5 * workers  # ~6 % departures + ~10 % rate changes a year
    double = national.scalar("SELECT count(*) FROM worker WHERE double_activity")
    assert 0.01 * workers <= double <= 0.03 * workers
    limit = datetime.combine(TODAY - timedelta(days=30), datetime.min.time())
    old, done = national.one(
        "SELECT count(*) AS n, count(processed_at) AS p FROM declaration WHERE received_at < ?", [limit]
    ).values()
    assert 0.80 <= done / old <= 0.95
    assert (
        national.scalar(
            "SELECT count(*) FROM declaration d JOIN account a ON a.id = d.processed_by "
            "WHERE a.role <> 'agent' OR a.caf_code <> d.caf_code"
        )
        == 0
    )
    assert national.scalar("SELECT count(*) FROM feedback") > 0
    for table, sequence in (("declaration", "declaration_seq"), ("feedback", "feedback_seq")):
        assert national.scalar(f"SELECT nextval('{sequence}')") > national.scalar(
            f"SELECT max(id) FROM {table}"
        )


def test_national_declarations_are_valid(national: Store) -> None:
    _replay(national)
    values = _values(national)
    for d in national.all(
        "SELECT id, receipt_number, worker_id, verification_code FROM declaration "
        "WHERE form_id = 'certificat_emploi'"
    ):
        assert d["verification_code"] == verification_code(
            SECRET, d["receipt_number"], d["worker_id"], values[d["id"]]
        )


def test_national_is_deterministic(national: Store) -> None:
    again = _national()
    try:
        for table, order, columns in (
            ("caf", "code", "*"),
            ("esat", "id", "*"),
            ("esat_site", "esat_id, rank", "*"),
            ("account", "id", "id, login, email, role, esat_id, caf_code, display_name, active, created_at"),
            ("worker", "id", "*"),
            ("declaration", "id", "*"),
            ("declaration_value", "declaration_id, field_id", "*"),
            ("feedback", "id", "*"),
        ):
            sql = f"SELECT {columns} FROM {table} ORDER BY {order}"
            assert national.all(sql) == again.all(sql), table
    finally:
        again.close()


def test_national_refuses_a_non_empty_store(national: Store) -> None:
    with pytest.raises(ValueError, match="empty"):
        demo.seed_national(national, today=TODAY, secret=SECRET, **NATIONAL)


def test_national_command(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESAT_TODAY", TODAY.isoformat())
    monkeypatch.setenv("ESAT_SECRET", SECRET)
    taken = tmp_path / "taken.duckdb"
    taken.write_bytes(b"something")
    assert demo.main(["--national", str(taken)]) == 2
    assert taken.read_bytes() == b"something"
    assert "not empty" in capsys.readouterr().err
    path = tmp_path / "national.duckdb"
    args = ["--esats", "30", "--workers", "2000", "--years", "2"]
    assert demo.main(["--national", str(path), *args]) == 0
    out = capsys.readouterr().out
    s = Store(str(path))
    try:
        counts = (s.scalar("SELECT count(*) FROM esat"), s.scalar("SELECT count(*) FROM declaration"))
        names = {r["last_name"] for r in s.all("SELECT DISTINCT last_name FROM worker")}
    finally:
        s.close()
    assert counts[0] == 30 and f"{counts[1]} declaration" in out and "seeded in" in out
    assert not any(name in out.upper() for name in names)  # counts only, never names
    assert demo.main(["--national", str(path), *args]) == 2  # now it exists


def test_entry_dates_and_the_edges_of_the_last_november(any_store: tuple[Store, date]) -> None:
    """Most workers entered long before; a few entered in December of the last campaign, a few left
    on 31 October and one on 10 December: only the last one is expected for that campaign."""
    from services import backoffice

    s, today = any_store
    campaign = demo.demo_campaigns(today)[-1]
    workers = s.scalar("SELECT count(*) FROM worker")
    unknown = s.scalar("SELECT count(*) FROM worker WHERE entry_date IS NULL")
    assert 0 < unknown < 0.06 * workers
    assert s.scalar("SELECT max(entry_date) FROM worker WHERE entry_date < ?", [date(campaign, 12, 1)]) < (
        date(today.year - 3, 1, 1)
    )
    entrants = [
        r["id"] for r in s.all("SELECT id FROM worker WHERE entry_date >= ?", [date(campaign, 12, 1)])
    ]
    assert len(entrants) == demo.DECEMBER_ENTRANTS
    october = [
        r["worker_id"]
        for r in s.all(
            "SELECT worker_id FROM v_status_change WHERE effective_date = ?", [date(campaign, 10, 31)]
        )
    ]
    december = [
        r["worker_id"]
        for r in s.all(
            "SELECT worker_id FROM v_status_change WHERE effective_date = ?", [date(campaign, 12, 10)]
        )
    ]
    assert len(october) >= demo.OCTOBER_LEAVERS and len(december) >= 1
    for worker in entrants + october:
        assert not backoffice.expects_certificat(s, worker, campaign)
        assert not s.scalar(
            "SELECT count(*) FROM declaration WHERE worker_id = ? AND campaign = ?", [worker, campaign]
        )
    for worker in december:
        assert backoffice.expects_certificat(s, worker, campaign)
    for worker in october:
        assert backoffice.expects_certificat(s, worker, campaign - 1)
