"""Privacy: PRIV-02 (the schema holds what the guide needs, nothing more), PRIV-03 (two-year
retention, with a fixed clock), PRIV-04 (synthetic data only)."""

from __future__ import annotations

import re
import subprocess
from datetime import date, datetime, timedelta

import pytest

from data.demo import DEMO_ESAT_ID
from services import declarations, justificatifs, partner, retention
from services.clock import to_paris
from tests.conftest import ROOT, TODAY
from tests.test_services import account

# Every column of every table, reviewed. Personal data (P) are what the guide's screens and the
# paper forms show: identity of the worker (name, birth date, numéro d'allocataire), the declared
# values, the ESAT manager's contact. No NIR, no address of a worker, no health information.
SCHEMA = {
    "account": "id login(P) email(P) password_hash role esat_id caf_code display_name(P) active created_at demo "
    "must_change_password password_changed_at last_login_at created_by",
    "audit_head": "id last_id last_hash",
    "audit_log": "id occurred_at account_id action object_ref prev_hash hash",
    "batch_ack": "batch_key account_id recipient(P) subject message(P) declarations created_at sent_at",
    "batch": "id account_id esat_id kind with_questions current_rank started_at updated_at",
    "batch_worker": "batch_id rank worker_id draft(P) declaration_id receipt_number skipped",
    "caf": "code name",
    "cgu_acceptance": "account_id scope version accepted_at",
    "cgu_version": "scope version title body published_on",
    "declaration": "id receipt_number form_id form_version worker_id esat_id caf_code author_id "
    "idempotency_key natural_key campaign received_at verification_code effective_date processed_at "
    "processed_by known_before(P) export_batch_id effects(P) derived(P) warnings(P) replaces_id superseded_at "
    "superseded_by",
    "declaration_value": "declaration_id field_id number(P) day(P) text(P)",
    "esat": "id legal_name siret caf_code street postcode city active",
    "esat_site": "esat_id rank finess name street postcode city",
    "export_batch": "id caf_code day cutoff created_at created_by schema_version declarations",
    "feedback": "id declaration_id account_id rating comment created_at",
    "login_failure": "key failed_at",
    "outbox": "declaration_id recipient(P) subject message(P) created_at sent_at",
    "password_reset": "token_hash account_id created_at expires_at used_at",
    "partner_contract": "esat_id kind valid_from valid_to",
    "reminder": "campaign milestone esat_id reminded_at missing recipients triggered_by",
    "reminder_caf": "campaign milestone esat_id caf_code missing",
    "review_comment": "id form_id form_version field_id author_id body created_at resolved_at resolved_by",
    "schema_migration": "version applied_at",
    "worker": "id caf_code allocataire(P) person_role last_name(P) first_name(P) birth_date(P) esat_id "
    "rate_esat(P) rate_mo(P) double_activity(P) status(P) double_activity_since(P) return_date(P) "
    "absent_since imported_at entry_date(P)",
}


def test_the_schema_is_exactly_the_reviewed_one(store):
    rows = store.all(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
        "WHERE t.table_type = 'BASE TABLE' AND c.table_schema IN ('main', 'public')"
    )
    actual = {(r["table_name"], r["column_name"]) for r in rows}
    reviewed = {(t, re.sub(r"\(P\)$", "", c)) for t, cols in SCHEMA.items() for c in cols.split()}
    assert actual - reviewed == set(), "new columns: classify them here before storing anything new"
    assert reviewed - actual == set()
    forbidden = re.compile(r"nir|secu|insee|ssn|sante|handicap|diagnostic|iban|adresse_travailleur")
    assert not [c for _, c in actual if forbidden.search(c)]


# -- PRIV-03 ----------------------------------------------------------------------------------


def received(store, declaration_id: int) -> datetime:
    return store.scalar("SELECT received_at FROM declaration WHERE id = ?", [declaration_id])


@pytest.fixture
def old_declaration(env, store):
    """A declaration of the demo ESAT received at 00:30 Paris time (still the day before in UTC)."""
    decl = declarations.submit(
        store, env, account(store), 1, declarations.forms()["certificat_emploi"],
        {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}, "retention",
    )  # fmt: skip
    store.execute(
        "UPDATE declaration SET received_at = ? WHERE id = ?", [datetime(2026, 12, 10, 23, 30), decl.id]
    )
    assert to_paris(received(store, decl.id)).date() == date(2026, 12, 10) + timedelta(days=1)
    return decl.id


def visible(store, env, declaration_id: int, on: date) -> bool:
    me = account(store)
    shown = {h.declaration_id for h in partner.history(store, me, 1, on)}
    return declaration_id in shown


def test_visible_on_day_730_gone_on_day_731(env, store, old_declaration):
    day = to_paris(received(store, old_declaration)).date()
    me = account(store)
    day_730, day_731 = day + timedelta(days=730), day + timedelta(days=731)

    retention.purge(store, day_730)
    assert retention.purge(store, day_730) == 0  # a second run the same day finds nothing more
    assert visible(store, env, old_declaration, day_730)
    assert justificatifs.receipt_pdf(store, env, me, old_declaration).startswith(b"%PDF")
    assert (
        store.scalar("SELECT count(*) FROM declaration_value WHERE declaration_id = ?", [old_declaration])
        == 3
    )

    assert not visible(store, env, old_declaration, day_731)  # the screens already agree on day 731
    deleted = retention.purge(store, day_731)
    assert deleted >= 1
    for table, column in (("declaration", "id"), *((t, "declaration_id") for t in retention.CARRIERS)):
        assert store.scalar(f"SELECT count(*) FROM {table} WHERE {column} = ?", [old_declaration]) == 0
    with pytest.raises(partner.NotAllowed):
        justificatifs.receipt_pdf(store, env, me, old_declaration)
    # Nothing younger went: every declaration left was received on day 731 - 730 = D+1 or later.
    oldest = store.scalar("SELECT min(received_at) FROM declaration")
    assert oldest is None or to_paris(oldest).date() > day
    assert store.scalar(
        "SELECT object_ref FROM audit_log WHERE action = 'retention_purge' ORDER BY id DESC LIMIT 1"
    ) == str(deleted)


def test_the_retention_command_runs_with_the_configured_date(env, store):
    store.close()
    done = subprocess.run(
        [".venv/bin/python", "-m", "services.retention"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d+ déclaration\(s\) de plus de 730 jours supprimée\(s\)\.\n", done.stdout)
    kept = type(store)(env.db)
    try:
        oldest = kept.scalar("SELECT min(received_at) FROM declaration")
        assert to_paris(oldest).date() >= TODAY - timedelta(days=730)
    finally:
        kept.close()


# -- PRIV-04 ----------------------------------------------------------------------------------


def test_every_worker_is_synthetic(store):
    """Numéros d'allocataire in the range kept for fakes; e-mail addresses on example.org only."""
    assert store.scalar("SELECT count(*) FROM worker WHERE allocataire NOT LIKE '99%'") == 0
    assert store.scalar("SELECT count(*) FROM account WHERE email NOT LIKE '%@example.org'") == 0
    assert store.scalar("SELECT count(*) FROM worker WHERE esat_id = ?", [DEMO_ESAT_ID]) > 0


def test_the_repository_holds_no_real_looking_personal_data():
    """No NIR-shaped number (13 digits + key) and no e-mail address outside the reserved domains."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    nir = re.compile(r"\b[12]\s?\d{2}\s?(0[1-9]|1[0-2])\s?(\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}\b")
    mail = re.compile(r"[\w.+-]+@([\w-]+\.)+[a-z]{2,}", re.IGNORECASE)
    allowed = re.compile(
        r"@(example\.(org|com|net|invalid)|([\w-]+\.)*example\.org|evil\.example)$", re.IGNORECASE
    )
    suspicious = []
    for name in tracked.split():
        path = ROOT / name
        if path.suffix not in {".py", ".yaml", ".yml", ".md", ".sql", ".txt", ".toml", ".csv"}:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        suspicious += [f"{name}: NIR" for _ in nir.finditer(text)]
        suspicious += [f"{name}: {m.group(0)}" for m in mail.finditer(text) if not allowed.search(m.group(0))]
    assert suspicious == []
