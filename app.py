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

from pathlib import Path

import streamlit as st

from services import accounts
from services.clock import today
from ui import layout, resources
from ui.state import session

FAVICON = Path(__file__).resolve().parent / "ui" / "assets" / "favicon.png"

# A local favicon: a :material/ icon would be fetched from a third-party font server (PRIV-07).
st.set_page_config(page_title="Espace ESAT", page_icon=str(FAVICON), layout="wide")

settings = resources.settings()
store = resources.store()
state = session()

PAGES = {
    "connexion": st.Page("pages/connexion.py", title="Bienvenue", url_path="bienvenue", default=True),
    "cgu": st.Page("pages/cgu.py", title="Conditions générales d'utilisation", url_path="cgu"),
    "acces": st.Page("pages/acces.py", title="Accès au service", url_path="acces"),
    "accueil": st.Page("pages/accueil.py", title="Accueil", url_path="accueil"),
    "travailleurs": st.Page("pages/travailleurs.py", title="Mes travailleurs", url_path="travailleurs"),
    "fiche": st.Page("pages/fiche.py", title="Fiche travailleur", url_path="fiche"),
    "declaration": st.Page("pages/declaration.py", title="Déclaration", url_path="declaration"),
    "guide": st.Page("pages/guide.py", title="Guide utilisateur", url_path="guide"),
    "campagne": st.Page(
        "pages/caf_campagne.py", title="Campagne", url_path="campagne", icon=":material/monitoring:"
    ),
    "changements": st.Page(
        "pages/caf_changements.py",
        title="Changements de situation",
        url_path="changements",
        icon=":material/swap_horiz:",
    ),
    "corbeille": st.Page(
        "pages/caf_corbeille.py", title="Corbeille", url_path="corbeille", icon=":material/inbox:"
    ),
    "avis": st.Page("pages/caf_avis.py", title="Avis", url_path="avis", icon=":material/reviews:"),
    "revue": st.Page(
        "pages/revue.py", title="Revue des formulaires", url_path="revue", icon=":material/rule:"
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
        if accounts.missing_contracts(store, account, today(settings)):
            return ["acces", "guide"]
        return ["accueil", "travailleurs", "fiche", "declaration", "guide"]
    if account.role == "agent":
        return AGENT_PAGES
    return ["revue"]


names = allowed_pages()
page = st.navigation(
    [PAGES[n] for n in names], position="top" if len(names) > 1 and "revue" in names else "hidden"
)
layout.sidebar(state)
layout.banners(settings)
try:
    page.run()
except Exception as exc:  # st.rerun/st.switch_page are BaseException and pass through
    layout.technical_error(exc)
