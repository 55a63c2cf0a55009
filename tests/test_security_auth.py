"""Login and sessions under attack: AUTH-01/02/03/07/08, SESS-01/02/04 (RELIABILITY.md)."""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from data.demo import AGENT_LOGIN, DEMO_ESAT_LOGIN, SIMPLE_ESAT_LOGIN
from services import accounts
from tests.apptest import accept_cgu, button, login, no_legacy_pages, start, texts, titles
from tests.conftest import PASSWORD, ROOT

__all__ = ["no_legacy_pages"]

T0 = datetime(2026, 12, 10, 9, 0)
WELCOME = "Bienvenue sur Mon Compte Partenaire"


def audit_actions(store, prefix: str = "") -> list[str]:
    return [
        r["action"]
        for r in store.all("SELECT action FROM audit_log WHERE action LIKE ? ORDER BY id", [prefix + "%"])
    ]


# -- AUTH-01 --------------------------------------------------------------------------------


def test_every_stored_hash_is_argon2id_at_owasp_parameters(store):
    hashes = [r["password_hash"] for r in store.all("SELECT password_hash FROM account")]
    assert len(hashes) > 20
    for h in hashes:
        assert h.startswith("$argon2id$v=19$"), h[:20]
        params = dict(p.split("=") for p in h.split("$")[3].split(","))
        assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2 and int(params["p"]) >= 1


# -- AUTH-02 --------------------------------------------------------------------------------


@pytest.fixture
def cheap_hashes(store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest cost for a test that counts attempts (AUTH-02), not their cost
    (AUTH-01 and AUTH-03 above and below use the real parameters): every failed or delayed attempt
    still verifies a hash, in about 0.1 ms instead of 50 (1,000 attempts: 0.1 s instead of 50 s).
    Verification reads the parameters from the hash itself."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("compte-inexistant"))
    store.execute(
        "UPDATE account SET password_hash = ? WHERE login = ?", [cheap.hash(PASSWORD), DEMO_ESAT_LOGIN]
    )


def test_a_thousand_wrong_passwords_are_slowed_down_but_never_lock_the_account(env, store, cheap_hashes):
    """An attacker tries every half second for 500 s: 5 free failures, then a growing delay."""
    results = [
        accounts.authenticate(
            store, env, DEMO_ESAT_LOGIN, f"essai-{i}", "10.0.0.66", T0 + timedelta(seconds=i / 2)
        )
        for i in range(1000)
    ]
    assert results == [None] * 1000
    actions = audit_actions(store, "login")
    assert actions[:5] == ["login_failed"] * 5
    assert actions[5] == "login_delayed"  # the 6th attempt comes 0.5 s after the 5th: wait 1 s
    failed = actions.count("login_failed")
    assert failed <= 100, failed  # and far fewer in the first hour than an unthrottled 1,000
    assert actions.count("login_delayed") == 1000 - failed
    # No permanent lockout: from another address, once the delay is over, the right password works.
    last = store.scalar("SELECT max(failed_at) FROM login_failure")
    later = last + accounts.delay_after(failed) + timedelta(seconds=1)
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "10.0.0.7", later) is not None


def test_the_delay_holds_the_right_password_too_until_it_is_over(env, store):
    for i in range(5):
        accounts.authenticate(store, env, DEMO_ESAT_LOGIN, "faux", "10.0.0.8", T0 + timedelta(seconds=i))
    # 6th attempt, right password, 0.5 s after the 5th failure: refused without looking at it.
    too_soon = T0 + timedelta(seconds=4.5)
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "10.0.0.8", too_soon) is None
    assert audit_actions(store, "login")[-1] == "login_delayed"
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "10.0.0.8", T0 + timedelta(seconds=6))


def test_one_source_guessing_many_accounts_is_slowed_down(env, store):
    for i in range(5):
        accounts.authenticate(
            store, env, f"compte-{i}@example.org", "x", "10.0.0.9", T0 + timedelta(seconds=i)
        )
    soon = T0 + timedelta(seconds=4.2)
    assert accounts.authenticate(store, env, SIMPLE_ESAT_LOGIN, PASSWORD, "10.0.0.9", soon) is None
    assert accounts.authenticate(store, env, SIMPLE_ESAT_LOGIN, PASSWORD, "10.0.0.10", soon) is not None


def test_delay_grows_then_stays_bounded():
    delays = [accounts.delay_after(n).total_seconds() for n in range(12)]
    assert delays == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60]
    assert accounts.delay_after(10_000).total_seconds() == 60


# -- AUTH-03 --------------------------------------------------------------------------------


def test_unknown_wrong_and_delayed_take_the_same_time(env, store):
    """500 samples each, interleaved; each wrong-password sample an hour apart (never delayed)."""
    delayed_at = T0 + timedelta(days=400)
    for i in range(6):
        accounts.authenticate(
            store, env, SIMPLE_ESAT_LOGIN, "faux", "10.1.0.1", delayed_at + timedelta(seconds=i)
        )
    cases = {
        "unknown": lambda i: (
            "personne@example.org",
            "faux",
            f"10.2.{i // 250}.{i % 250}",
            T0 + timedelta(hours=2 * i),
        ),
        "wrong": lambda i: (
            DEMO_ESAT_LOGIN,
            "faux",
            f"10.3.{i // 250}.{i % 250}",
            T0 + timedelta(hours=2 * i),
        ),
        "delayed": lambda i: (SIMPLE_ESAT_LOGIN, "faux", "10.1.0.1", delayed_at + timedelta(seconds=5.5)),
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(500):
        for name, args in cases.items():
            started = time.perf_counter()
            assert accounts.authenticate(store, env, *args(i)) is None
            timings[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    assert audit_actions(store, "login_delayed").count("login_delayed") >= 500
    spread = max(medians.values()) - min(medians.values())
    assert spread < 5, medians


def test_every_failure_shows_the_same_french_message(env, store):
    messages = []
    for who, password in [(DEMO_ESAT_LOGIN, "faux"), ("personne@example.org", PASSWORD)]:
        at = login(start(), who, password)
        messages.append([e.value for e in at.error])
    for _ in range(6):  # failed, then delayed (however long each login takes on a loaded machine)
        at = login(start(), DEMO_ESAT_LOGIN, "faux")
        assert [e.value for e in at.error] == [accounts.LOGIN_FAILED]
    # The growing delay reaches its longest, 60 s from now, whatever time those logins took.
    key = accounts._throttle_key(env, "compte", DEMO_ESAT_LOGIN)
    now = datetime.now(UTC).replace(tzinfo=None)
    store.write(lambda tx: tx.executemany("INSERT INTO login_failure VALUES (?, ?)", [[key, now]] * 11))
    at = login(start(), DEMO_ESAT_LOGIN, PASSWORD)  # delayed: same words
    messages.append([e.value for e in at.error])
    assert messages == [[accounts.LOGIN_FAILED]] * 3


# -- AUTH-07, PRIV-05 -----------------------------------------------------------------------


def test_every_auth_event_is_logged_and_no_secret_reaches_a_log(env, store, caplog):
    canary_password = "Canari-MotDePasse-7f3a9"
    canary_login = "canari.identifiant.51c2@example.org"
    caplog.set_level(logging.DEBUG)
    account = accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "192.0.2.44", T0)
    assert account is not None
    accounts.authenticate(store, env, DEMO_ESAT_LOGIN, canary_password, "192.0.2.44", T0)
    accounts.authenticate(store, env, canary_login, canary_password, "192.0.2.44", T0)
    for _ in range(4):
        accounts.authenticate(store, env, canary_login, canary_password, "192.0.2.44", T0)
    accounts.logout(store, account)
    accounts.logout(store, account, "session_expired")
    events = [r.getMessage() for r in caplog.records if r.name == "espace_esat.auth"]
    assert [e.split()[1] for e in events] == [
        "login",
        "login_failed",
        *["login_failed"] * 4,
        "login_delayed",
        "logout",
        "session_expired",
    ]
    # Same events, same order, in the audit trail.
    assert audit_actions(store) == [e.split()[1] for e in events]
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (canary_password, canary_login, PASSWORD, "192.0.2.44"):
        assert everything.count(secret) == 0, secret
    stored = str(store.all("SELECT * FROM login_failure")) + str(store.all("SELECT * FROM audit_log"))
    assert canary_login not in stored and canary_password not in stored and "192.0.2.44" not in stored


# -- AUTH-08 --------------------------------------------------------------------------------


def test_demo_accounts_do_not_work_outside_demo_mode(env, store):
    assert store.scalar("SELECT count(*) FROM account WHERE NOT demo") == 0
    production = replace(env, demo=False)
    assert accounts.authenticate(store, production, DEMO_ESAT_LOGIN, PASSWORD, "x", T0) is None
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "x", T0) is not None
    store.execute("UPDATE account SET demo = FALSE WHERE login = ?", [AGENT_LOGIN])
    assert accounts.authenticate(store, production, AGENT_LOGIN, PASSWORD, "x", T0) is not None


def test_demo_mode_is_announced_on_every_screen(env, monkeypatch):
    at = start()
    assert "Mode démonstration" in texts(at)
    at = accept_cgu(login(at, DEMO_ESAT_LOGIN))
    assert titles(at) == ["Espace ESAT"] and "Mode démonstration" in texts(at)
    monkeypatch.setenv("ESAT_DEMO", "0")
    at = start()
    assert "Mode démonstration" not in texts(at)
    at = login(at, DEMO_ESAT_LOGIN)
    assert titles(at) == [WELCOME] and [e.value for e in at.error] == [accounts.LOGIN_FAILED]


def test_demo_data_is_only_seeded_in_demo_mode(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ESAT_DEMO"} | {"ESAT_DB": str(tmp_path / "x.duckdb")}
    done = subprocess.run(
        [sys.executable, "-m", "data.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "mode démonstration (ESAT_DEMO=1)" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.duckdb").exists()


# -- SESS-01/02/04 --------------------------------------------------------------------------


def visit(at, page: str):
    """Ask for a page as a forged navigation would; a page not registered for this session is
    refused by Streamlit (AppTest raises), and the script reruns on what the router allows."""
    with contextlib.suppress(ValueError):
        at.switch_page(page)
    return at.run()


def logged_in_on_workers():
    at = accept_cgu(login(start(), DEMO_ESAT_LOGIN))
    at.switch_page("pages/travailleurs.py").run()
    assert titles(at) == ["Mes travailleurs"]
    return at


def worker_names(store) -> list[str]:
    return [r["last_name"] for r in store.all("SELECT DISTINCT last_name FROM worker WHERE esat_id = 1")]


def shows_no_worker(at, store) -> bool:
    shown = texts(at) + " ".join(str(b.label) for b in at.button)
    return not any(name in shown for name in worker_names(store))


@pytest.mark.parametrize(
    ("idle", "age", "expired"),
    [
        (timedelta(minutes=29), timedelta(hours=1), False),
        (timedelta(minutes=30), timedelta(hours=1), True),
        (timedelta(minutes=1), timedelta(hours=11, minutes=59), False),
        (timedelta(minutes=1), timedelta(hours=12), True),
    ],
)
def test_sessions_end_after_30_minutes_idle_or_12_hours(env, store, idle, age, expired):
    at = logged_in_on_workers()
    assert not shows_no_worker(at, store)  # the tiles show names before the session is aged
    state = at.session_state["espace_esat"]
    now = datetime.now()
    state.seen_at, state.login_at = state.seen_at - idle, state.login_at - age
    # The clock is real: shift by the time already spent so the boundary case stays on its side.
    state.seen_at -= timedelta(seconds=1) if expired else -timedelta(seconds=5)
    at.run()
    if expired:
        assert titles(at) == [WELCOME]
        assert "Votre session a expiré" in texts(at)
        assert shows_no_worker(at, store)
        assert audit_actions(store)[-1] == "session_expired"
        visit(at, "pages/travailleurs.py")
        assert titles(at) == [WELCOME] and shows_no_worker(at, store)
    else:
        assert titles(at) == ["Mes travailleurs"], now


def test_logout_ends_the_session_on_the_server(env, store):
    at = logged_in_on_workers()
    button(at, "Se déconnecter").click().run()
    assert titles(at) == [WELCOME] and shows_no_worker(at, store)
    assert at.session_state["espace_esat"].account is None
    assert audit_actions(store)[-1] == "logout"
    for page in ("pages/travailleurs.py", "pages/fiche.py", "pages/declaration.py", "pages/accueil.py"):
        visit(at, page)
        assert titles(at) == [WELCOME] and shows_no_worker(at, store)


# "Mot de passe oublié ?", its link, and the public check of a justificatif (nothing personal)
PUBLIC = {
    "mot_de_passe_oublie.py",
    "reinitialisation.py",
    "verification.py",
    # the footer's pages: reachable by everyone, logged in or not (tests/test_legal_pages.py)
    "accessibilite.py",
    "mentions_legales.py",
    "donnees_personnelles.py",
}
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py") if p.name not in PUBLIC)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_needs_login_then_both_cgu(env, page):
    at = visit(start(), f"pages/{page}")
    assert titles(at) == [WELCOME]
    at = visit(login(at, DEMO_ESAT_LOGIN), f"pages/{page}")
    assert titles(at) == ["Conditions générales d'utilisation"]
    # One CGU accepted out of two is not enough.
    at.checkbox[0].check()
    at = visit(at.run(), f"pages/{page}")
    assert titles(at) == ["Conditions générales d'utilisation"]
