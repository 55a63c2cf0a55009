"""Espace ESAT — the router. Reading order: this file, then pages/, then ui/ and services/.

Who sees what:
- nobody logged in: the welcome page (login);
- logged in, CGU not accepted: the CGU page;
- an ESAT manager without a valid contract: an explanation;
- an ESAT manager: Accueil → Mes travailleurs → Fiche travailleur → Déclaration;
- a Caf agent: the Caf space.
"""

from __future__ import annotations

import streamlit as st

from services import accounts
from services.clock import today
from ui import layout, resources
from ui.state import session

st.set_page_config(page_title="Espace ESAT", page_icon=":material/badge:", layout="wide")

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
    "caf": st.Page("pages/caf.py", title="Espace Caf", url_path="caf"),
}


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
    return ["caf"]


names = allowed_pages()
page = st.navigation([PAGES[n] for n in names], position="hidden")
layout.sidebar(state)
layout.banners(settings)
try:
    page.run()
except Exception as exc:  # st.rerun/st.switch_page are BaseException and pass through
    layout.technical_error(exc)
