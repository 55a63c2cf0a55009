"""Espace ESAT — the router. Reading order: this file, then pages/, then ui/ and services/.

Who sees what:
- nobody logged in: the welcome page (login);
- logged in, CGU not accepted: the CGU page;
- an ESAT manager without a valid contract: an explanation;
- an ESAT manager: Accueil → Mes travailleurs → Fiche travailleur → Déclaration;
- a Caf agent: campaign dashboard, changes of situation, corbeille, avis;
- a reviewer: the review of the forms.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from services import accounts, partner
from services.clock import now_utc, today
from ui import layout, resources
from ui.state import reset, session

# A local favicon (ui/assets/favicon.png, as a data: URL read once per process): a :material/
# icon would be fetched from a third-party font server (PRIV-07).
st.set_page_config(page_title="Espace ESAT", page_icon=resources.favicon(), layout="wide")

settings = resources.settings()
store = resources.store()
state = session()

# SESS-01: an idle or too old session is forgotten before anything is read or drawn.
now = now_utc(settings)
if state.account is not None:
    if state.login_at is None or accounts.session_expired(state.login_at, state.seen_at or now, now):
        accounts.logout(store, state.account, "session_expired")
        reset()
        state = session()
        state.flash = "Votre session a expiré. Reconnectez-vous pour continuer."
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
    "guide": ("pages/guide.py", {"title": "Guide utilisateur", "url_path": "guide"}),
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
}
AGENT_PAGES = ["campagne", "changements", "corbeille", "avis", "revue"]


def allowed_pages() -> list[str]:
    account = state.account
    if account is None:
        return ["connexion"]
    if not state.cgu_ok:
        return ["cgu"]
    if account.role == "esat":
        if state.missing_contracts(store, today(settings)):  # read once per login and day
            return ["acces", "guide"]
        return ["accueil", "travailleurs", "fiche", "declaration", "guide"]
    if account.role == "agent":
        return AGENT_PAGES
    return ["revue"]


names = allowed_pages()
pages = {}  # the run's own copies of the pages (resources.page)
for name in names:
    source, options = PAGES[name]
    pages[name] = resources.page(source, **options)
page = st.navigation(
    list(pages.values()), position="top" if len(names) > 1 and "revue" in names else "hidden"
)
state.enter(next(name for name, p in pages.items() if p is page))
layout.sidebar(state, store)
layout.banners(settings)
try:
    page.run()
except partner.NotAllowed:  # a forged selection or id: refused and audited (AUTHZ-03)
    layout.access_denied(store, state)
except Exception as exc:  # st.rerun/st.switch_page are BaseException and pass through
    layout.technical_error(exc)
