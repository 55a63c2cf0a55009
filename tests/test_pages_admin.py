"""AppTest of the password screens and the Caf administrator's screens (no browser)."""

from __future__ import annotations

import email
import email.policy

import pytest

from data.demo import ADMIN_LOGIN, DEMO_ESAT_LOGIN
from services import accounts
from tests.apptest import accept_cgu, button, login, no_legacy_pages, start, texts, titles
from tests.conftest import PASSWORD
from tests.test_pages import logged_in
from tests.test_passwords import LINK

__all__ = ["no_legacy_pages"]

CHANGE = "Changer mon mot de passe"
WELCOME = "Bienvenue sur Mon Compte Partenaire"
GOOD = "Sept moutons broutent près du canal de Nantes"


def make_provisional(store, login_name: str) -> None:
    """The account's current password (the tests' one) becomes a provisional password."""
    store.execute("UPDATE account SET must_change_password = TRUE WHERE login = ?", [login_name])


def change(at, current: str, new: str, confirm: str | None = None):
    at.text_input(key="pw_current").input(current)
    at.text_input(key="pw_new").input(new)
    at.text_input(key="pw_confirm").input(new if confirm is None else confirm)
    return button(at, "Enregistrer le mot de passe").click().run()


def test_a_provisional_password_leads_to_its_change_before_anything_else(env, store):
    make_provisional(store, DEMO_ESAT_LOGIN)
    at = login(start(), DEMO_ESAT_LOGIN)
    assert titles(at) == [CHANGE]
    # The navigation holds this page and the public footer pages only.
    known = r"'[^']*mot_de_passe\.py', '[^']*accessibilite\.py', '[^']*mentions_legales\.py', '[^']*donnees_personnelles\.py'"
    with pytest.raises(ValueError, match=rf"Known pages: \[{known}\]"):
        at.switch_page("pages/accueil.py")
    hash_before = store.scalar("SELECT password_hash FROM account WHERE login = ?", [DEMO_ESAT_LOGIN])

    change(at, PASSWORD, "motdepasse123")
    assert titles(at) == [CHANGE]
    assert "12 caractères" in texts(at) or "courant" in texts(at)
    assert [e.value for e in at.error]  # the message, next to the field
    change(at, PASSWORD, GOOD, "Autre chose encore plus longue")
    assert titles(at) == [CHANGE] and at.error
    assert store.scalar("SELECT password_hash FROM account WHERE login = ?", [DEMO_ESAT_LOGIN]) == hash_before

    change(at, PASSWORD, GOOD)
    assert titles(at) == ["Conditions générales d'utilisation"]
    accept_cgu(at)
    assert titles(at) == ["Espace ESAT"]
    row = store.one(
        "SELECT must_change_password, password_hash FROM account WHERE login = ?", [DEMO_ESAT_LOGIN]
    )
    assert not row["must_change_password"] and row["password_hash"] != hash_before
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, GOOD, "test") is not None


def test_the_password_can_be_changed_at_any_time_and_other_sessions_end(env, store):
    at, other = logged_in(DEMO_ESAT_LOGIN), logged_in(DEMO_ESAT_LOGIN)
    assert titles(at) == titles(other) == ["Espace ESAT"]
    at.switch_page("pages/mot_de_passe.py").run()
    change(at, PASSWORD, GOOD)
    assert "Votre mot de passe a été changé." in texts(at)
    # The other session asks again at its next check (app.py, at most a minute later).
    state = other.session_state["espace_esat"]
    state.session_checked_at = None
    other.run()
    assert titles(other) == [WELCOME]
    assert "Votre session a été fermée" in texts(other)
    at.switch_page("pages/accueil.py").run()
    assert titles(at) == ["Espace ESAT"]  # the session that changed it stays open


def test_forgotten_password_gives_the_same_answer_and_its_link_works_once(env, store):
    answers = []
    for address in (DEMO_ESAT_LOGIN, "personne.inconnue@example.org"):
        at = start()
        at.switch_page("pages/mot_de_passe_oublie.py").run()
        at.text_input(key="forgot_email").input(address)
        button(at, "Recevoir un lien").click().run()
        answers.append([s.value for s in at.success])
    assert answers[0] == answers[1] and len(answers[0]) == 1
    accounts.wait_for_mail()
    (mail,) = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in env.outbox.glob("*.eml")
    ]
    token = LINK.search(mail.get_content()).group(1)

    at = start()
    at.query_params["jeton"] = token
    at.switch_page("pages/reinitialisation.py").run()
    assert titles(at) == ["Choisir un nouveau mot de passe"]
    assert "jeton" not in at.query_params  # out of the address bar
    at.text_input(key="reset_new").input(GOOD)
    at.text_input(key="reset_confirm").input(GOOD)
    button(at, "Enregistrer le mot de passe").click().run()
    assert titles(at) == [WELCOME]
    assert "Votre mot de passe a été changé" in texts(at)
    assert accounts.authenticate(store, env, DEMO_ESAT_LOGIN, GOOD, "test") is not None

    again = start()
    again.query_params["jeton"] = token
    again.switch_page("pages/reinitialisation.py").run()
    assert [e.value for e in again.error] == [accounts.RESET_INVALID]


def admin_at():
    at = logged_in(ADMIN_LOGIN)
    assert titles(at) == ["Partenaires"]
    return at


def test_a_refused_partner_shows_each_message_under_its_field_and_writes_nothing(env, store):
    at = admin_at()
    before = store.scalar("SELECT count(*) FROM esat"), store.scalar("SELECT count(*) FROM audit_log")
    for label, value in (
        ("Raison sociale", "ESAT refusé"),
        ("SIRET (14 chiffres)", "12345678901234"),
        ("Adresse", "1 rue A"),
        ("Code postal", "4400"),
        ("Ville", "Nantes"),
    ):
        next(t for t in at.text_input if t.label == label).input(value)
    button(at, "Enregistrer le partenaire").click().run()
    errors = [e.value for e in at.error]
    assert any("SIRET" in e for e in errors) and any("code postal" in e.lower() for e in errors), errors
    assert (store.scalar("SELECT count(*) FROM esat"), store.scalar("SELECT count(*) FROM audit_log")) == (
        before[0],
        before[1],
    )


def test_the_administrator_sees_its_three_pages_and_nothing_of_the_partner_journey(env):
    at = admin_at()
    for page, title in (
        ("pages/admin_comptes.py", "Comptes"),
        ("pages/admin_travailleurs.py", "Fichier des travailleurs"),
        ("pages/mot_de_passe.py", CHANGE),
    ):
        at.switch_page(page).run()
        assert titles(at) == [title]
        assert not at.exception
