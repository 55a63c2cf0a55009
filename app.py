"""Espace ESAT — the router. Reading order: this file, then pages/, then ui/ and services/.

Who sees what:
- nobody logged in: the welcome page (login), "Mot de passe oublié ?" and its reset link, and
  "Vérifier un justificatif" (public: receipt number and verification code, nothing personal);
- logged in with a provisional password: the password change, before anything else;
- logged in, CGU not accepted: the CGU page;
- an ESAT manager without a valid contract: an explanation;
- an ESAT manager: Accueil → Mes travailleurs → Fiche travailleur → Déclaration, or the
  certificats of many workers at once (a table or a spreadsheet: Certificats d'emploi en tableau);
- a Caf agent: campaign dashboard, changes of situation, corbeille, avis, justificatif verification;
- a reviewer: the review of the forms;
- a Caf administrator: partners and contracts, accounts, the worker file.
Every logged-in account can change its password ("Mon mot de passe").
Everyone, logged in or not, reaches the pages of the footer: the accessibility statement, the
mentions légales and the données personnelles (hidden from the top navigation).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from services import accounts, partner
from services.clock import now_utc, today
from ui import batch, layout, resources
from ui.state import reset, session

settings = resources.settings()
store = resources.store()
state = session()

SESSION_CHECK = timedelta(minutes=1)  # how often a session asks whether its account still holds

# SESS-01: an idle or too old session is forgotten before anything is read or drawn.
now = now_utc(settings)
if state.account is not None:
    if state.login_at is None or accounts.session_expired(state.login_at, state.seen_at or now, now):
        accounts.logout(store, state.account, "session_expired")
        reset()
        state = session()
        state.flash = "Votre session a expiré. Reconnectez-vous pour continuer."
    elif state.session_checked_at is None or now - state.session_checked_at >= SESSION_CHECK:
        # Every other session of an account ends after a password change or a deactivation.
        if accounts.session_valid(store, state.account.id, state.login_at):
            state.seen_at = state.session_checked_at = now
        else:
            accounts.logout(store, state.account, "session_ended")
            reset()
            state = session()
            state.flash = (
                "Votre session a été fermée : le mot de passe a changé ou le compte a été désactivé."
            )
    else:
        state.seen_at = now

# Each page: its script and what st.Page gets; resources.page builds each one once per process.
PAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "connexion": ("pages/connexion.py", {"title": "Bienvenue", "url_path": "bienvenue", "default": True}),
    "cgu": ("pages/cgu.py", {"title": "Conditions générales d'utilisation", "url_path": "cgu"}),
    "acces": ("pages/acces.py", {"title": "Accès au service", "url_path": "acces"}),
    "accueil": ("pages/accueil.py", {"title": "Accueil", "url_path": "accueil"}),
    "travailleurs": ("pages/travailleurs.py", {"title": "Mes travailleurs", "url_path": "travailleurs"}),
    "fiche": ("pages/fiche.py", {"title": "Fiche travailleur", "url_path": "fiche"}),
    "declaration": ("pages/declaration.py", {"title": "Déclaration", "url_path": "declaration"}),
    "certificats": (
        "pages/campagne.py",
        {"title": "Certificats d'emploi en tableau", "url_path": "certificats"},
    ),
    "guide": ("pages/guide.py", {"title": "Guide utilisateur", "url_path": "guide"}),
    "oubli": (
        "pages/mot_de_passe_oublie.py",
        {"title": "Mot de passe oublié", "url_path": "mot-de-passe-oublie"},
    ),
    "reinitialisation": (
        "pages/reinitialisation.py",
        {"title": "Nouveau mot de passe", "url_path": "reinitialisation"},
    ),
    "verification": (
        "pages/verification.py",
        {"title": "Vérifier un justificatif", "url_path": "verification", "icon": ":material/verified:"},
    ),
    "mot_de_passe": (
        "pages/mot_de_passe.py",
        {"title": "Mon mot de passe", "url_path": "mot-de-passe", "icon": ":material/password:"},
    ),
    "campagne": (
        "pages/caf_campagne.py",
        {"title": "Campagne", "url_path": "campagne", "icon": ":material/monitoring:"},
    ),
    "changements": (
        "pages/caf_changements.py",
        {"title": "Changements de situation", "url_path": "changements", "icon": ":material/swap_horiz:"},
    ),
    "corbeille": (
        "pages/caf_corbeille.py",
        {"title": "Corbeille", "url_path": "corbeille", "icon": ":material/inbox:"},
    ),
    "avis": ("pages/caf_avis.py", {"title": "Avis", "url_path": "avis", "icon": ":material/reviews:"}),
    "revue": (
        "pages/revue.py",
        {"title": "Revue des formulaires", "url_path": "revue", "icon": ":material/rule:"},
    ),
    "transmission": (
        "pages/caf_transmission.py",
        {"title": "Remise du jour", "url_path": "remise", "icon": ":material/upload_file:"},
    ),
    "partenaires": (
        "pages/admin_partenaires.py",
        {"title": "Partenaires", "url_path": "partenaires", "icon": ":material/domain:"},
    ),
    "comptes": (
        "pages/admin_comptes.py",
        {"title": "Comptes", "url_path": "comptes", "icon": ":material/group:"},
    ),
    "fichier": (
        "pages/admin_travailleurs.py",
        {"title": "Fichier des travailleurs", "url_path": "fichier-travailleurs", "icon": ":material/badge:"},
    ),
    # The footer's pages (ui/layout.footer): public, never listed in the top navigation.
    "accessibilite": (
        "pages/accessibilite.py",
        {"title": "Accessibilité", "url_path": "accessibilite", "visibility": "hidden"},
    ),
    "mentions_legales": (
        "pages/mentions_legales.py",
        {"title": "Mentions légales", "url_path": "mentions-legales", "visibility": "hidden"},
    ),
    "donnees_personnelles": (
        "pages/donnees_personnelles.py",
        {"title": "Données personnelles", "url_path": "donnees-personnelles", "visibility": "hidden"},
    ),
}
FOOTER_PAGES = ["accessibilite", "mentions_legales", "donnees_personnelles"]
AGENT_PAGES = [
    "campagne",
    "changements",
    "corbeille",
    "transmission",
    "avis",
    "revue",
    "verification",
    "mot_de_passe",
]
ADMIN_PAGES = ["partenaires", "comptes", "fichier", "mot_de_passe"]


def allowed_pages() -> list[str]:
    account = state.account
    if account is None:
        return ["connexion", "oubli", "reinitialisation", "verification"]
    if account.must_change_password:
        return ["mot_de_passe"]
    if not state.cgu_ok:
        return ["cgu"]
    if account.role == "esat":
        if state.missing_contracts(store, today(settings)):  # read once per login and day
            return ["acces", "guide", "mot_de_passe"]
        return ["accueil", "travailleurs", "fiche", "declaration", "certificats", "guide", "mot_de_passe"]
    if account.role == "agent":
        return AGENT_PAGES
    if account.role == "admin":
        return ADMIN_PAGES
    return ["revue", "mot_de_passe"]


role_pages = allowed_pages()
names = role_pages + FOOTER_PAGES
if "travailleurs" in names:  # an ESAT manager: the batch an earlier session left (once per login)
    batch.restore(state, store)
pages = {}  # the run's own copies of the pages (resources.page)
for name in names:
    source, options = PAGES[name]
    pages[name] = resources.page(source, **options)
page = st.navigation(
    list(pages.values()), position="top" if role_pages in (AGENT_PAGES, ADMIN_PAGES) else "hidden"
)
screen = next(name for name, p in pages.items() if p is page)
state.enter(screen)
# The browser's title says where the user is: "Mes travailleurs – Espace ESAT" (RGAA 8.6).
# A local favicon (ui/assets/favicon.png, as a data: URL read once per process): a :material/
# icon would be fetched from a third-party font server (PRIV-07).
st.set_page_config(page_title=layout.page_title(page.title), page_icon=resources.favicon(), layout="wide")
layout.styles()
# The screen goes in a container drawn above the footer, so the footer is there on every screen,
# even one whose script stops early (st.stop) or fails.
body = st.container()
layout.footer()
with body:
    try:
        try:
            layout.sidebar(state, store, password_page="mot_de_passe" in role_pages and len(role_pages) > 1)
            layout.banners(settings)
            if screen in FOOTER_PAGES:  # the way back to the session's first screen
                home = pages[role_pages[0]]
                st.page_link(home, label=f"Retour à la page « {home.title} »", icon=":material/arrow_back:")
            page.run()
        finally:  # also after a switch, a rerun or a logout: what this run changed in the batch is saved
            batch.save(state, store, settings)
    except partner.NotAllowed:  # a forged selection or id: refused and audited (AUTHZ-03)
        layout.access_denied(store, state)
    except Exception as exc:  # st.rerun/st.switch_page are BaseException and pass through
        layout.technical_error(exc)
