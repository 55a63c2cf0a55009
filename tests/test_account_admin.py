"""Account administration by a Caf administrator: provisional passwords by e-mail, refusals that
write nothing, the Caf's scope (AUTHZ-01/04), deactivation ending sessions (SESS-03), AUTH-07."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from data.demo import AGENT_LOGIN, DEMO_ESAT_ID, DEMO_ESAT_LOGIN, REVIEWER_LOGIN
from data.store import Store
from services import account_admin, accounts, partner, password_policy
from services.accounts import Account
from services.clock import now_utc
from services.config import Settings, load_settings
from tests.browser import free_port
from tests.conftest import PASSWORD
from tests.smtp import smtp_server
from tests.test_passwords import parse

__all__ = ["smtp_server"]

PROVISIONAL = re.compile(r"Mot de passe provisoire : (\S+)")
ADMIN_441 = "admin.441@caf44.example.org"
ADMIN_491 = "admin.491@caf49.example.org"
NEW_ESAT = "direction@esat-nouveau.example.org"
NEW_AGENT = "agent.nouveau@caf44.example.org"
CHOSEN = "Une phrase de passe bien à moi"


# -- helpers ---------------------------------------------------------------------------------


def outbox(settings: Settings) -> list[Path]:
    folder = Path(settings.outbox)
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def provisional_in(msg: EmailMessage) -> str:
    found = PROVISIONAL.search(msg.get_content())
    assert found, msg.get_content()
    return found.group(1)


def last_outbox_password(settings: Settings) -> str:
    newest = max(outbox(settings), key=lambda p: p.stat().st_mtime_ns)
    return provisional_in(parse(newest.read_bytes()))


def get(store: Store, account_id: int) -> Account:
    found = accounts.get(store, account_id)
    assert found is not None
    return found


def by_login(store: Store, login: str) -> Account:
    return get(store, store.scalar("SELECT id FROM account WHERE login = ?", [login]))


def first_admin(store: Store, settings: Settings, caf: str, address: str) -> Account:
    account_id = account_admin.create_first_admin(
        store, settings, caf_code=caf, email=address, display_name=f"Administrateur {caf}"
    )
    return get(store, account_id)


def esat_of(store: Store, caf: str) -> int:
    return store.scalar("SELECT min(id) FROM esat WHERE caf_code = ? AND id <> ?", [caf, DEMO_ESAT_ID])


def written(store: Store, settings: Settings) -> tuple[int, int, int]:
    return (
        store.scalar("SELECT count(*) FROM account"),
        store.scalar("SELECT count(*) FROM audit_log"),
        len(outbox(settings)),
    )


@pytest.fixture
def admin(env: Settings, store: Store) -> Account:
    return first_admin(store, env, "441", ADMIN_441)


# -- creating accounts -----------------------------------------------------------------------


def test_the_first_admin_gets_a_provisional_password_that_must_be_changed(env, store):
    account_id = account_admin.create_first_admin(
        store, env, caf_code="441", email="  Admin.441@Caf44.Example.org ", display_name="Claire Admin"
    )
    (path,) = outbox(env)
    assert re.fullmatch(r"compte-[0-9a-f]{32}\.eml", path.name)
    password = provisional_in(parse(path.read_bytes()))
    assert len(password) == 19 and password_policy.problems(password, ADMIN_441) == []
    row = store.one("SELECT * FROM account WHERE id = ?", [account_id])
    assert (row["login"], row["role"], row["caf_code"], row["created_by"]) == (
        ADMIN_441,
        "admin",
        "441",
        None,
    )
    assert row["must_change_password"] and not row["demo"] and row["password_hash"].startswith("$argon2id$")
    assert password not in str(row)
    logged = accounts.authenticate(store, env, ADMIN_441, password, "x")
    assert logged is not None and logged.must_change_password and logged.role == "admin"
    actions = store.all("SELECT account_id, action, object_ref FROM audit_log WHERE action NOT LIKE 'login%'")
    assert actions == [
        {"account_id": None, "action": "account_created", "object_ref": f"compte:{account_id}"},
        {"account_id": None, "action": "provisional_password_sent", "object_ref": f"compte:{account_id}"},
    ]


def test_a_provisional_password_stops_working_after_72_hours(env, store):
    """AUTH-08: initial passwords are single use (changed at once) and expire within 72 h."""
    account_id = account_admin.create_first_admin(
        store, env, caf_code="441", email=ADMIN_441, display_name="A"
    )
    password = provisional_in(parse(outbox(env)[-1].read_bytes()))
    set_at = store.scalar("SELECT password_changed_at FROM account WHERE id = ?", [account_id])
    for age, works in ((timedelta(hours=71, minutes=59), True), (timedelta(hours=72, minutes=1), False)):
        store.execute("UPDATE account SET password_changed_at = ? WHERE id = ?", [set_at - age, account_id])
        logged = accounts.authenticate(store, env, ADMIN_441, password, f"source-{works}")
        assert (logged is not None) is works, age


def test_an_unknown_caf_gets_no_admin(env, store):
    before = written(store, env)
    with pytest.raises(account_admin.Refused) as refused:
        account_admin.create_first_admin(store, env, caf_code="999", email=ADMIN_441, display_name="X")
    assert refused.value.errors == {"caf_code": account_admin.UNKNOWN_CAF}
    assert written(store, env) == before


def test_esat_and_agent_accounts_get_their_password_by_smtp_and_log_in(
    env, store, admin, smtp_server, monkeypatch
):
    port, collector = smtp_server
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    settings = load_settings()
    esat_id = esat_of(store, "441")

    esat_account = account_admin.create_account(
        store, settings, admin, email=NEW_ESAT, role="esat", display_name="Directrice", esat_id=esat_id
    )
    agent_account = account_admin.create_account(
        store, settings, admin, email=NEW_AGENT, role="agent", display_name="Agent", esat_id=esat_id
    )
    assert [e.rcpt_tos for e in collector.envelopes] == [[NEW_ESAT], [NEW_AGENT]]
    for envelope, login, role, esat, account_id in [
        (collector.envelopes[0], NEW_ESAT, "esat", esat_id, esat_account),
        (collector.envelopes[1], NEW_AGENT, "agent", None, agent_account),
    ]:
        msg = parse(envelope.content)
        assert msg["Auto-Submitted"] == "auto-generated"
        assert login in msg.get_content() and settings.base_url in msg.get_content()
        logged = accounts.authenticate(store, settings, login, provisional_in(msg), "x")
        assert logged is not None and logged.id == account_id
        assert (logged.role, logged.esat_id, logged.caf_code, logged.must_change_password) == (
            role,
            esat,
            "441",
            True,
        )
        assert store.scalar("SELECT created_by FROM account WHERE id = ?", [account_id]) == admin.id
        refs = [
            r["action"]
            for r in store.all(
                "SELECT action FROM audit_log WHERE object_ref = ? ORDER BY id", [f"compte:{account_id}"]
            )
        ]
        assert refs == ["account_created", "provisional_password_sent"]
    # The ESAT account sees its ESAT once its password is its own.
    logged = accounts.authenticate(
        store, settings, NEW_ESAT, provisional_in(parse(collector.envelopes[0].content)), "y"
    )
    assert logged is not None
    accounts.change_password(
        store, settings, logged, provisional_in(parse(collector.envelopes[0].content)), CHOSEN, CHOSEN
    )
    assert not by_login(store, NEW_ESAT).must_change_password
    listed = {r.login: r for r in account_admin.list_accounts(store, admin)}
    assert listed[NEW_ESAT].esat_id == esat_id and listed[NEW_ESAT].esat_name
    assert listed[NEW_ESAT].last_login_at is not None and not listed[NEW_ESAT].must_change_password
    assert listed[NEW_AGENT].must_change_password and listed[NEW_AGENT].role == "agent"


BAD_CREATIONS = [
    # (changes, field, message)
    ({"email": AGENT_LOGIN}, "email", account_admin.EMAIL_TAKEN),
    ({"email": "Agent.Caf@Example.org"}, "email", account_admin.EMAIL_TAKEN),
    ({"email": "pas-une-adresse"}, "email", account_admin.BAD_EMAIL),
    ({"email": "a@b.example.org, c@d.example.org"}, "email", account_admin.BAD_EMAIL),
    ({"email": "x@y.example.org\r\nBcc: z@w.example.org"}, "email", account_admin.BAD_EMAIL),
    ({"email": "Jean <j@x.example.org>"}, "email", account_admin.BAD_EMAIL),
    ({"email": ""}, "email", account_admin.BAD_EMAIL),
    ({"esat_id": "491"}, "esat_id", account_admin.BAD_ESAT),  # an ESAT of the other Caf
    ({"esat_id": 10_000}, "esat_id", account_admin.BAD_ESAT),
    ({"esat_id": "inactive"}, "esat_id", account_admin.BAD_ESAT),
    ({"esat_id": None}, "esat_id", account_admin.ESAT_REQUIRED),
    ({"role": "superadmin"}, "role", account_admin.BAD_ROLE),
    ({"display_name": "  "}, "display_name", account_admin.BAD_NAME),
    ({"display_name": "x" * 101}, "display_name", account_admin.BAD_NAME),
    ({"display_name": "Nom\nBcc: x@y.example.org"}, "display_name", account_admin.BAD_NAME),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_CREATIONS, ids=lambda v: None)
def test_bad_creations_are_refused_and_write_nothing(env, store, admin, changes, field, message):
    store.execute("UPDATE esat SET active = FALSE WHERE id = ?", [esat_of(store, "441") + 1])
    values = {
        "email": NEW_ESAT,
        "role": "esat",
        "display_name": "Directrice",
        "esat_id": esat_of(store, "441"),
    } | changes
    if values["esat_id"] == "491":
        values["esat_id"] = esat_of(store, "491")
    elif values["esat_id"] == "inactive":
        values["esat_id"] = esat_of(store, "441") + 1
    before = written(store, env)
    with pytest.raises(account_admin.Refused) as refused:
        account_admin.create_account(store, env, admin, **values)
    assert refused.value.errors == {field: message}
    assert written(store, env) == before


def test_a_failed_delivery_keeps_the_account_and_the_password_can_be_sent_again(
    env, store, admin, monkeypatch
):
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(free_port()))  # nobody listens there
    down = load_settings()
    with pytest.raises(account_admin.MailNotSent) as failed:
        account_admin.create_account(store, down, admin, email=NEW_AGENT, role="agent", display_name="Agent")
    assert "n'a pas pu être envoyé" in str(failed.value)
    account_id = failed.value.account_id
    assert by_login(store, NEW_AGENT).must_change_password
    sent = "SELECT count(*) FROM audit_log WHERE action = 'provisional_password_sent'"
    assert store.scalar(sent) == 1  # the admin's own, from create_first_admin

    with pytest.raises(account_admin.MailNotSent):
        account_admin.resend_provisional(store, down, admin, account_id)
    account_admin.resend_provisional(store, env, admin, account_id)  # the outbox works
    password = last_outbox_password(env)
    logged = accounts.authenticate(store, env, NEW_AGENT, password, "x")
    assert logged is not None and logged.must_change_password
    assert store.scalar(sent) == 2
    # Once the password is its own, there is no provisional password to send any more.
    accounts.change_password(store, env, logged, password, CHOSEN, CHOSEN)
    before = written(store, env)
    with pytest.raises(account_admin.Refused) as refused:
        account_admin.resend_provisional(store, env, admin, account_id)
    assert refused.value.errors == {"account": account_admin.NO_PROVISIONAL}
    assert written(store, env) == before


def test_a_new_provisional_password_replaces_the_old_one_and_ends_its_sessions(env, store, admin):
    account_id = account_admin.create_account(
        store, env, admin, email=NEW_AGENT, role="agent", display_name="A"
    )
    old = last_outbox_password(env)
    session = now_utc(env) - timedelta(seconds=1)
    account_admin.resend_provisional(store, env, admin, account_id)
    new = last_outbox_password(env)
    assert new != old
    assert accounts.authenticate(store, env, NEW_AGENT, old, "x") is None
    assert accounts.authenticate(store, env, NEW_AGENT, new, "x") is not None
    assert not accounts.session_valid(store, account_id, session)


# -- the Caf's scope -------------------------------------------------------------------------


def test_an_admin_lists_only_the_accounts_of_its_caf(env, store, admin):
    admin_491 = first_admin(store, env, "491", ADMIN_491)
    mine = {r.login for r in account_admin.list_accounts(store, admin)}
    theirs = {r.login for r in account_admin.list_accounts(store, admin_491)}
    in_441 = {
        r["login"]
        for r in store.all(
            "SELECT a.login FROM account a LEFT JOIN esat e ON e.id = a.esat_id "
            "WHERE a.caf_code = '441' OR e.caf_code = '441'"
        )
    }
    assert mine == in_441 and {ADMIN_441, AGENT_LOGIN, DEMO_ESAT_LOGIN} <= mine
    assert REVIEWER_LOGIN not in mine  # no Caf, no ESAT: nobody's to administer
    assert ADMIN_491 in theirs and not mine & theirs and len(theirs) > 1


def test_an_admin_cannot_touch_an_account_of_another_caf(env, store, admin):
    admin_491 = first_admin(store, env, "491", ADMIN_491)
    other_esat = store.scalar(
        "SELECT min(a.id) FROM account a JOIN esat e ON e.id = a.esat_id WHERE e.caf_code = '491'"
    )
    before = written(store, env)
    for target in (admin_491.id, other_esat, 99_999, "1"):
        with pytest.raises(partner.NotAllowed):
            account_admin.set_active(store, env, admin, target, False)
        with pytest.raises(partner.NotAllowed):
            account_admin.resend_provisional(store, env, admin, target)
    assert written(store, env) == before
    assert accounts.get(store, admin_491.id) is not None


@pytest.mark.parametrize("login", [DEMO_ESAT_LOGIN, AGENT_LOGIN, REVIEWER_LOGIN])
def test_other_roles_cannot_administer_accounts(env, store, admin, login):
    someone = by_login(store, login)
    target = by_login(store, DEMO_ESAT_LOGIN).id
    before = written(store, env)
    calls = [
        lambda who: account_admin.list_accounts(store, who),
        lambda who: account_admin.create_account(
            store, env, who, email=NEW_AGENT, role="agent", display_name="A"
        ),
        lambda who: account_admin.set_active(store, env, who, target, False),
        lambda who: account_admin.resend_provisional(store, env, who, target),
    ]
    # The account as it is, and the same account claiming the admin role (a tampered session).
    for who in (someone, replace(someone, role="admin", caf_code="441")):
        for call in calls:
            with pytest.raises(partner.NotAllowed):
                call(who)
    assert written(store, env) == before


def test_a_deactivated_admin_can_no_longer_administer(env, store, admin):
    second = get(
        store,
        account_admin.create_account(
            store, env, admin, email="admin.bis@caf44.example.org", role="admin", display_name="B"
        ),
    )
    account_admin.set_active(store, env, admin, second.id, False)
    with pytest.raises(partner.NotAllowed):
        account_admin.list_accounts(store, second)  # its session object still says "admin"


# -- deactivation ----------------------------------------------------------------------------


def test_a_deactivated_account_cannot_log_in_and_its_sessions_end(env, store, admin):
    target = by_login(store, DEMO_ESAT_LOGIN)
    session = now_utc(env) - timedelta(minutes=1)
    assert accounts.session_valid(store, target.id, session)
    accounts.request_reset(store, env, DEMO_ESAT_LOGIN)
    accounts.wait_for_mail()

    account_admin.set_active(store, env, admin, target.id, False)
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "x") is None
    assert not accounts.session_valid(store, target.id, session)
    assert store.scalar("SELECT count(*) FROM password_reset WHERE used_at IS NULL") == 0
    assert not any(r.login == DEMO_ESAT_LOGIN and r.active for r in account_admin.list_accounts(store, admin))

    account_admin.set_active(store, env, admin, target.id, False)  # already done: nothing written
    account_admin.set_active(store, env, admin, target.id, True)
    logged_again = now_utc(env)
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "x") is not None
    assert not accounts.session_valid(store, target.id, session)  # opened before the deactivation
    assert accounts.session_valid(store, target.id, logged_again)
    actions = [
        r["action"]
        for r in store.all(
            "SELECT action FROM audit_log WHERE object_ref = ? ORDER BY id", [f"compte:{target.id}"]
        )
    ]
    assert actions == ["password_reset_requested", "account_deactivated", "account_reactivated"]


def test_an_admin_cannot_deactivate_itself(env, store, admin):
    before = written(store, env)
    with pytest.raises(account_admin.Refused) as refused:
        account_admin.set_active(store, env, admin, admin.id, False)
    assert refused.value.errors == {"active": account_admin.SELF_DEACTIVATION}
    assert written(store, env) == before and accounts.get(store, admin.id) is not None


# -- logs ------------------------------------------------------------------------------------


def test_no_provisional_password_or_address_reaches_a_log(env, store, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    boss = first_admin(store, env, "441", ADMIN_441)
    account_id = account_admin.create_account(
        store, env, boss, email=NEW_AGENT, role="agent", display_name="Zoé Canari"
    )
    account_admin.resend_provisional(store, env, boss, account_id)
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(free_port()))
    with pytest.raises(account_admin.MailNotSent):
        account_admin.resend_provisional(store, load_settings(), boss, account_id)
    account_admin.set_active(store, env, boss, account_id, False)
    passwords = [provisional_in(parse(p.read_bytes())) for p in outbox(env)]
    assert len(passwords) == 3
    events = [r.getMessage().split()[1] for r in caplog.records if r.name == "espace_esat.auth"]
    assert events == [
        "account_created",
        "provisional_password_sent",
        "account_created",
        "provisional_password_sent",
        "provisional_password_renewed",
        "provisional_password_sent",
        "provisional_password_renewed",
        "provisional_password_mail_failed",
        "account_deactivated",
    ]
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    stored = str(store.all("SELECT * FROM audit_log")) + str(
        store.all("SELECT * FROM account WHERE id = ?", [account_id])
    )
    for secret in (*passwords, NEW_AGENT, ADMIN_441, "Zoé Canari"):
        assert secret not in everything, secret
    for secret in passwords:
        assert secret not in stored
