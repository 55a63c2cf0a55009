"""Passwords: the policy (AUTH-04), changing one, the forgotten password (AUTH-03, AUTH-07),
sessions ended by a change (SESS-03), the account e-mails and the base URL setting."""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
import statistics
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from data.demo import DEMO_ESAT_ID, DEMO_ESAT_LOGIN, SIMPLE_ESAT_LOGIN
from data.store import Store
from services import accounts, mail, password_policy
from services.accounts import Account
from services.clock import now_utc
from services.config import Settings, load_settings
from tests.conftest import PASSWORD
from tests.smtp import smtp_server

__all__ = ["smtp_server"]

T0 = datetime(2026, 12, 10, 9, 0)  # naive UTC, for the reset links
IDENT = "jean.dupont@esat-rhone.example.org"
GOOD = "Cheval violet mange trois pommes"
LINK = re.compile(r"/reinitialisation\?jeton=([A-Za-z0-9_-]+)")


# -- helpers ---------------------------------------------------------------------------------


def account(store: Store, login: str = DEMO_ESAT_LOGIN) -> Account:
    row = store.one("SELECT id FROM account WHERE login = ?", [login])
    assert row is not None, login
    found = accounts.get(store, row["id"])
    assert found is not None
    return found


def password_hash(store: Store, login: str = DEMO_ESAT_LOGIN) -> str:
    return store.scalar("SELECT password_hash FROM account WHERE login = ?", [login])


def audit_count(store: Store, action: str | None = None) -> int:
    if action is None:
        return store.scalar("SELECT count(*) FROM audit_log")
    return store.scalar("SELECT count(*) FROM audit_log WHERE action = ?", [action])


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def outbox_mails(settings: Settings) -> list[EmailMessage]:
    folder = Path(settings.outbox)
    return [parse(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def token_of(msg: EmailMessage) -> str:
    found = LINK.search(msg.get_content())
    assert found, msg.get_content()
    return found.group(1)


def with_smtp(monkeypatch: pytest.MonkeyPatch, port: int) -> Settings:
    monkeypatch.setenv("ESAT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ESAT_SMTP_PORT", str(port))
    monkeypatch.setenv("ESAT_BASE_URL", "https://espace-esat.caf.example.org/")
    return load_settings()


# -- the policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", password_policy.TOO_SHORT.format(min=12, n=0)),
        ("court", password_policy.TOO_SHORT.format(min=12, n=5)),
        ("Kx7#mP2qZ9w", password_policy.TOO_SHORT.format(min=12, n=11)),  # 11 characters, strong ones
        ("ééééééééééé", password_policy.TOO_SHORT.format(min=12, n=11)),  # code points, not bytes
        ("motdepasse123", password_policy.TOO_GUESSABLE),
        ("azertyuiop12", password_policy.TOO_GUESSABLE),
        ("Motdepasse2024!", password_policy.TOO_GUESSABLE),
        ("123456789012", password_policy.TOO_GUESSABLE),
        ("aaaaaaaaaaaaaaaa", password_policy.TOO_GUESSABLE),
        ("Jean.Dupont@esat-rhone.example.org", password_policy.HAS_IDENTIFIANT),
        ("Dupont-Violet-Nuage-1975", password_policy.HAS_IDENTIFIANT),  # a part of the identifiant
        ("x" * 1025, password_policy.TOO_LONG.format(max=1024)),
    ],
    ids=lambda value: (
        None if len(value) <= 40 else "" if value.startswith(("Le ", "Ce ")) else f"{len(value)}-chars"
    ),
)
def test_bad_passwords_are_refused_with_a_french_message_that_says_what_to_do(password, message):
    found = password_policy.problems(password, IDENT)
    assert message in found, found
    assert all("Choisissez" in m for m in found)


@pytest.mark.parametrize(
    "password",
    [
        GOOD,
        "correct horse battery staple",
        "Mot-de-passe-de-test-2026",
        "tartempion rigolo du dimanche",
        "Le héron au long bec emmanché d'un long cou" * 2,  # 64+ characters (AUTH-04)
        "k7mq-x3vd-p9tw-h4nc",
    ],
)
def test_good_passwords_are_accepted_without_composition_rule(password):
    assert password_policy.problems(password, IDENT) == []


def test_parts_of_the_identifiant_count_from_four_characters():
    sentence = "{} part pêcher à Noirmoutier en 2026"
    assert password_policy.problems(sentence.format("eva"), "eva.lambert@esat.example.org") == []
    assert password_policy.problems(sentence.format("jean"), IDENT) == [password_policy.HAS_IDENTIFIANT]
    assert password_policy.problems(sentence.format("Lambert"), "eva.lambert@esat.example.org") == [
        password_policy.HAS_IDENTIFIANT
    ]


def test_the_words_of_the_service_are_told_to_zxcvbn():
    from zxcvbn import zxcvbn

    for password in ("moncomptepartenaire26", "motdepasseesat"):
        assert zxcvbn(password)["score"] >= 3  # strong for zxcvbn alone…
        assert password_policy.problems(password, IDENT) == [password_policy.TOO_GUESSABLE]  # …not here


def test_a_very_long_password_is_rated_on_its_first_100_characters(monkeypatch: pytest.MonkeyPatch):
    """zxcvbn's cost grows fast with the length: it is never given more than 100 characters
    (checked on what it receives, not on a time a loaded machine could miss)."""
    rated: list[int] = []
    real = password_policy.zxcvbn

    def spy(password: str, *args, **kwargs):
        rated.append(len(password))
        return real(password, *args, **kwargs)

    monkeypatch.setattr(password_policy, "zxcvbn", spy)
    assert password_policy.problems("Ab1!" * 256, IDENT) == [
        password_policy.TOO_GUESSABLE
    ]  # 1,024 characters
    assert password_policy.problems("z" * 1024, IDENT) == [password_policy.TOO_GUESSABLE]
    assert rated and max(rated) <= password_policy.ZXCVBN_LIMIT == 100


# -- changing one's password -----------------------------------------------------------------

BAD_CHANGES = [
    # (current, new, confirm, field, message)
    (PASSWORD, "court", "court", "new", password_policy.TOO_SHORT.format(min=12, n=5)),
    (PASSWORD, "Kx7#mP2qZ9w", "Kx7#mP2qZ9w", "new", password_policy.TOO_SHORT.format(min=12, n=11)),
    (PASSWORD, "motdepasse123", "motdepasse123", "new", password_policy.TOO_GUESSABLE),
    (PASSWORD, "azertyuiop12", "azertyuiop12", "new", password_policy.TOO_GUESSABLE),
    (
        PASSWORD,
        "Ma phrase esat.demo à moi",
        "Ma phrase esat.demo à moi",
        "new",
        password_policy.HAS_IDENTIFIANT,
    ),
    (PASSWORD, "aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", "new", password_policy.TOO_GUESSABLE),
    (PASSWORD, GOOD, GOOD + " ", "confirm", accounts.CONFIRM_MISMATCH),
    (PASSWORD, PASSWORD, PASSWORD, "new", accounts.SAME_AS_CURRENT),
    ("Pas-le-bon-mot-de-passe", GOOD, GOOD, "current", accounts.WRONG_CURRENT),
]


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    BAD_CHANGES,
    ids=["short", "11-chars", "common", "azerty", "identifiant", "weak", "confirm", "same", "wrong-current"],
)
def test_every_bad_change_is_refused_and_writes_nothing(env, store, current, new, confirm, field, message):
    me = account(store)
    before_hash, before_audit = password_hash(store), audit_count(store)
    before_failures = store.scalar("SELECT count(*) FROM login_failure")
    with pytest.raises(accounts.PasswordRefused) as refused:
        accounts.change_password(store, env, me, current, new, confirm)
    assert message in refused.value.fields[field], refused.value.fields
    assert refused.value.messages == list(refused.value.fields.values())
    assert password_hash(store) == before_hash
    assert audit_count(store) == before_audit
    assert store.scalar("SELECT password_changed_at FROM account WHERE id = ?", [me.id]) is None
    # A wrong current password counts as a login failure of the account (throttle), nothing else.
    failures = store.scalar("SELECT count(*) FROM login_failure")
    assert failures == before_failures + (field == "current")


def test_a_good_change_ends_the_other_sessions_and_keeps_this_one(env, store):
    me = account(store)
    other_session = now_utc(env) - timedelta(minutes=5)
    assert accounts.session_valid(store, me.id, other_session)
    accounts.request_reset(store, env, DEMO_ESAT_LOGIN)
    accounts.wait_for_mail()
    assert store.scalar("SELECT count(*) FROM password_reset WHERE account_id = ?", [me.id]) == 1

    changed_at = accounts.change_password(store, env, me, PASSWORD, GOOD, GOOD)

    row = store.one("SELECT * FROM account WHERE id = ?", [me.id])
    assert row["password_changed_at"] == changed_at and not row["must_change_password"]
    assert row["password_hash"].startswith("$argon2id$")
    assert not accounts.session_valid(store, me.id, other_session)  # logged in before: ended
    assert accounts.session_valid(store, me.id, changed_at)  # this session takes changed_at
    assert accounts.session_valid(store, me.id, changed_at + timedelta(seconds=1))
    assert store.scalar("SELECT count(*) FROM password_reset WHERE account_id = ?", [me.id]) == 0
    assert audit_count(store, "password_changed") == 1
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "x") is None
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, GOOD, "x") is not None


def test_a_provisional_password_must_be_changed_first(env, store):
    store.execute("UPDATE account SET must_change_password = TRUE WHERE login = ?", [DEMO_ESAT_LOGIN])
    logged = accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "x")
    assert logged is not None and logged.must_change_password
    accounts.change_password(store, env, logged, PASSWORD, GOOD, GOOD)
    again = accounts.authenticate(store, env, DEMO_ESAT_LOGIN, GOOD, "x")
    assert again is not None and not again.must_change_password
    assert not account(store, SIMPLE_ESAT_LOGIN).must_change_password


def test_login_records_last_login_at(env, store):
    assert store.scalar("SELECT last_login_at FROM account WHERE login = ?", [DEMO_ESAT_LOGIN]) is None
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, PASSWORD, "x", T0) is not None
    assert store.scalar("SELECT last_login_at FROM account WHERE login = ?", [DEMO_ESAT_LOGIN]) == T0
    accounts.authenticate(store, env, DEMO_ESAT_LOGIN, "faux", "x", T0 + timedelta(hours=1))
    assert store.scalar("SELECT last_login_at FROM account WHERE login = ?", [DEMO_ESAT_LOGIN]) == T0


def test_guessing_the_current_password_is_slowed_down_like_a_login(env, store):
    me = account(store)
    for i in range(accounts.FREE_FAILURES):
        with pytest.raises(accounts.PasswordRefused):
            accounts.change_password(store, env, me, f"essai-{i}", GOOD, GOOD)
    with pytest.raises(accounts.PasswordRefused) as refused:  # the right one, too soon: not even checked
        accounts.change_password(store, env, me, PASSWORD, GOOD, GOOD)
    assert "Trop d'essais infructueux" in refused.value.fields["current"]
    assert password_hash(store) == store.scalar("SELECT password_hash FROM account WHERE id = ?", [me.id])
    assert audit_count(store, "password_changed") == 0


def test_an_inactive_esat_is_named_among_what_the_partner_lacks(env, store):
    me = account(store)
    assert accounts.missing_contracts(store, me, env.today) == []
    store.execute("UPDATE esat SET active = FALSE WHERE id = ?", [DEMO_ESAT_ID])
    assert accounts.missing_contracts(store, me, env.today) == [accounts.INACTIVE_ESAT]


# -- forgotten password ----------------------------------------------------------------------


def test_a_reset_link_arrives_by_smtp_works_once_and_only_its_hash_is_kept(
    env, store, smtp_server, monkeypatch
):
    port, collector = smtp_server
    settings = with_smtp(monkeypatch, port)
    me = account(store)
    logged_before = now_utc(settings) - timedelta(minutes=1)

    assert accounts.request_reset(store, settings, "  Esat.Demo@Example.org ", now=T0) is None
    accounts.wait_for_mail()
    assert len(collector.envelopes) == 1
    envelope = collector.envelopes[0]
    assert envelope.rcpt_tos == [DEMO_ESAT_LOGIN]
    msg = parse(envelope.content)
    text = msg.get_content()
    assert "https://espace-esat.caf.example.org/reinitialisation?jeton=" in text
    assert "30 minutes" in text and "une seule fois" in text and "ignorez ce message" in text
    assert msg["Auto-Submitted"] == "auto-generated" and mail.RECEIPT_HEADER not in msg
    token = token_of(msg)
    assert len(token) >= 43  # secrets.token_urlsafe(32): 256 bits

    stored = store.all("SELECT * FROM password_reset")
    assert [r["token_hash"] for r in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert stored[0]["expires_at"] == T0 + timedelta(minutes=30) and stored[0]["used_at"] is None
    assert token not in str(stored) + str(store.all("SELECT * FROM audit_log"))

    assert accounts.reset_token_valid(store, token, now=T0 + timedelta(minutes=29))
    with pytest.raises(accounts.PasswordRefused) as refused:  # a refused password keeps the link usable
        accounts.reset_password(store, settings, token, "motdepasse123", "motdepasse123", now=T0)
    assert password_policy.TOO_GUESSABLE in refused.value.fields["new"]
    with pytest.raises(accounts.PasswordRefused) as refused:
        accounts.reset_password(store, settings, token, GOOD, GOOD + "!", now=T0)
    assert refused.value.fields == {"confirm": accounts.CONFIRM_MISMATCH}
    assert audit_count(store, "password_reset") == 0

    accounts.reset_password(store, settings, token, GOOD, GOOD, now=T0 + timedelta(minutes=29))
    assert audit_count(store, "password_reset") == 1
    assert not accounts.session_valid(store, me.id, logged_before)  # every session of the account ends
    assert accounts.authenticate(store, settings, DEMO_ESAT_LOGIN, GOOD, "x") is not None
    assert not accounts.reset_token_valid(store, token, now=T0 + timedelta(minutes=29))
    with pytest.raises(accounts.ResetInvalid) as used:  # single use
        accounts.reset_password(
            store, settings, token, GOOD + " bis", GOOD + " bis", now=T0 + timedelta(minutes=29)
        )
    assert str(used.value) == accounts.RESET_INVALID
    assert accounts.authenticate(store, settings, DEMO_ESAT_LOGIN, GOOD, "x") is not None


def test_a_reset_link_expires_at_30_minutes_and_unknown_ones_are_refused(env, store):
    accounts.request_reset(store, env, DEMO_ESAT_LOGIN, now=T0)
    accounts.wait_for_mail()
    (first,) = outbox_mails(env)
    accounts.request_reset(store, env, DEMO_ESAT_LOGIN, now=T0 + timedelta(minutes=20))
    accounts.wait_for_mail()
    (second,) = [m for m in outbox_mails(env) if token_of(m) != token_of(first)]
    old, new = token_of(first), token_of(second)
    assert not accounts.reset_token_valid(store, old, now=T0 + timedelta(minutes=30))  # exactly 30 minutes
    assert accounts.reset_token_valid(store, new, now=T0 + timedelta(minutes=30))
    assert accounts.reset_token_valid(store, old, now=T0 + timedelta(minutes=29, seconds=59))
    before = password_hash(store)
    for token in (old, "inconnu-" + "x" * 40, "", "x" * 5000):
        with pytest.raises(accounts.ResetInvalid):
            accounts.reset_password(store, env, token, GOOD, GOOD, now=T0 + timedelta(minutes=30))
    assert password_hash(store) == before and audit_count(store, "password_reset") == 0
    accounts.reset_password(store, env, new, GOOD, GOOD, now=T0 + timedelta(minutes=30))
    assert store.scalar("SELECT count(*) FROM password_reset") == 1  # the other link is gone


def test_at_most_three_links_an_hour_and_the_same_answer_beyond(env, store):
    answers = [
        accounts.request_reset(store, env, DEMO_ESAT_LOGIN, now=T0 + timedelta(minutes=i)) for i in range(5)
    ]
    accounts.wait_for_mail()
    assert answers == [None] * 5
    assert store.scalar("SELECT count(*) FROM password_reset") == 3
    assert len(outbox_mails(env)) == 3
    assert audit_count(store, "password_reset_throttled") == 2
    accounts.request_reset(store, env, DEMO_ESAT_LOGIN, now=T0 + timedelta(minutes=61))
    assert store.scalar("SELECT count(*) FROM password_reset") == 4


def test_unknown_and_inactive_addresses_get_the_same_answer_and_no_mail(env, store):
    store.execute("UPDATE account SET active = FALSE WHERE login = ?", [SIMPLE_ESAT_LOGIN])
    for who in ("personne@example.org", SIMPLE_ESAT_LOGIN, "", "pas une adresse\r\nBcc: x@y.example.org"):
        assert accounts.request_reset(store, env, who, now=T0) is None
    accounts.wait_for_mail()
    assert outbox_mails(env) == [] and store.scalar("SELECT count(*) FROM password_reset") == 0
    rows = store.all("SELECT account_id, action FROM audit_log WHERE action LIKE 'password_reset%'")
    assert rows == [{"account_id": None, "action": "password_reset_requested"}] * 4


def test_known_and_unknown_addresses_take_the_same_time(env, store):
    """300 samples each, interleaved; each known sample 2 hours apart (never throttled)."""
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(300):
        at = T0 + timedelta(hours=2 * i)
        for name, who in (("known", DEMO_ESAT_LOGIN), ("unknown", "personne.inconnue@example.org")):
            started = time.perf_counter()
            assert accounts.request_reset(store, env, who, now=at) is None
            timings[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    accounts.wait_for_mail(120)
    assert store.scalar("SELECT count(*) FROM password_reset") == 300
    assert len(list(Path(env.outbox).glob("compte-*.eml"))) == 300
    assert abs(medians["known"] - medians["unknown"]) < 5, medians


def test_no_password_token_or_address_reaches_a_log(env, store, caplog):
    caplog.set_level(logging.DEBUG)
    canary_password = "Canari phrase de passe 7f3a9 violette"
    canary_address = "canari.inconnu.51c2@example.org"
    accounts.request_reset(store, env, canary_address, now=T0)
    accounts.request_reset(store, env, DEMO_ESAT_LOGIN, now=T0)
    accounts.wait_for_mail()
    (msg,) = outbox_mails(env)
    token = token_of(msg)
    with pytest.raises(accounts.PasswordRefused):
        accounts.reset_password(store, env, token, canary_password, canary_password + "x", now=T0)
    accounts.reset_password(store, env, token, canary_password, canary_password, now=T0)
    with pytest.raises(accounts.ResetInvalid):
        accounts.reset_password(store, env, token, canary_password, canary_password, now=T0)
    me = account(store)
    with pytest.raises(accounts.PasswordRefused):
        accounts.change_password(store, env, me, "Canari-faux-courant-1b2c", GOOD, GOOD)
    accounts.change_password(store, env, me, canary_password, GOOD, GOOD)
    events = [r.getMessage().split()[1] for r in caplog.records if r.name == "espace_esat.auth"]
    assert events == [
        "password_reset_requested",
        "password_reset_requested",
        "password_reset_mail_sent",
        "password_reset",
        "password_reset_invalid",
        "password_change_failed",
        "password_changed",
    ]
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (canary_password, canary_address, DEMO_ESAT_LOGIN, token, GOOD, "Canari-faux"):
        assert everything.count(secret) == 0, secret
    stored = str(store.all("SELECT * FROM audit_log")) + str(store.all("SELECT * FROM password_reset"))
    for secret in (canary_password, canary_address, token, GOOD):
        assert secret not in stored


# -- the account e-mail and the base URL -----------------------------------------------------


def test_an_account_mail_has_safe_headers_and_an_outbox_name_without_personal_data(tmp_path):
    settings = load_settings({"ESAT_OUTBOX": str(tmp_path / "outbox")})
    msg = mail.build_account_mail(
        settings=settings,
        recipient="jean.dupont@esat-rhone.example.org",
        subject="Votre compte\r\nBcc: victime@example.org =?utf-8?q?=0D=0ABcc:_x@y.z?=",
        body="Ligne 1\r\nLigne 2\x00\u202e\n",
    )
    path = Path(mail.deliver(settings, msg))
    assert re.fullmatch(r"compte-[0-9a-f]{32}\.eml", path.name)
    raw = path.read_bytes()
    written = parse(raw)
    assert set(written.keys()) == {
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
    }
    assert "Bcc" not in written and written["To"] == "jean.dupont@esat-rhone.example.org"
    assert written.get_content().replace("\r\n", "\n") == "Ligne 1\nLigne 2\n"  # no NUL, no bidi override
    assert (
        "=?" not in written["Subject"] and "victime@example.org" in written["Subject"]
    )  # text, not a header
    for bad in (
        "a@b.example.org, c@d.example.org",
        "Jean <j@x.example.org>",
        "j@x.example.org\r\nBcc: z@w.example.org",
        "",
    ):
        with pytest.raises(ValueError):
            mail.build_account_mail(settings=settings, recipient=bad, subject="s", body="b")


def test_base_url_setting():
    assert load_settings({}).base_url == "http://127.0.0.1:8501"
    assert load_settings({"ESAT_BASE_URL": " https://esat.caf.fr/ "}).base_url == "https://esat.caf.fr"
    link = accounts.reset_link(load_settings({"ESAT_BASE_URL": "https://esat.caf.fr/"}), "abc")
    assert link == "https://esat.caf.fr/reinitialisation?jeton=abc"
