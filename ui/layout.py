"""The frame around every page: title bar, demo/date banners, account box, footer, error screen."""

from __future__ import annotations

import logging

import streamlit as st

from data import accessibilite
from data.store import Store
from services import accounts, audit
from services.clock import today
from services.config import Settings
from ui import batch
from ui.state import Session, reset
from ui.text import literal

log = logging.getLogger("espace_esat")

GENERIC_ERROR = (
    "Une erreur technique empêche d'afficher cette page. Vos déclarations déjà validées sont "
    "conservées. Réessayez dans quelques instants ; si le problème persiste, contactez votre Caf."
)


ACCESS_DENIED = "Cette information n'existe pas ou ne relève pas de votre périmètre."
SERVICE = "Espace ESAT"


# Keyboard focus on check boxes, radios, page links and the top navigation (RGAA 10.7): Streamlit
# only tints the label or the link (about 1.2:1 on white); an outline in the primary colour
# (#000091, 14.9:1 on white) is drawn around them too. Style-only HTML goes to Streamlit's event
# container: no space taken.
FOCUS_STYLE = """<style>
label:has(input[type="checkbox"]:focus-visible), label:has(input[type="radio"]:focus-visible),
a[data-testid="stPageLink-NavLink"]:focus-visible, a[data-testid="stTopNavLink"]:focus-visible {
  outline: 2px solid #000091; outline-offset: 2px;
}
</style>"""


def styles() -> None:
    st.html(FOCUS_STYLE)


def page_title(screen: str) -> str:
    """The browser's title of a screen: "<screen> – Espace ESAT" (RGAA 8.6)."""
    return f"{screen} – {SERVICE}"


def banners(settings: Settings) -> None:
    if settings.demo:
        st.info(
            "Mode démonstration : les comptes et toutes les données sont fictifs.", icon=":material/science:"
        )
    if settings.today:
        st.warning(
            f"Date simulée : nous faisons comme si nous étions le {today(settings):%d/%m/%Y} (ESAT_TODAY).",
            icon=":material/event:",
        )


def footer() -> None:
    """The State's usual footer, on every screen: the accessibility statement (with the service's
    conformity state), the mentions légales and the données personnelles. Links inside the app
    (st.page_link), so the session is kept; app.py registers the three pages for everyone."""
    st.divider()
    with st.container(horizontal=True, gap="medium"):  # one block: a row of links, wrapped if narrow
        st.page_link("pages/accessibilite.py", label=f"Accessibilité : {accessibilite.CONFORMITY}")
        st.page_link("pages/mentions_legales.py", label="Mentions légales")
        st.page_link("pages/donnees_personnelles.py", label="Données personnelles")


def sidebar(state: Session, store: Store, password_page: bool = False) -> None:
    # Drawn on every run of every page: one element per block of text (each element is one more
    # message per rerun, docs/benchmarks.md P1). The account's name and email are shown literally.
    with st.sidebar:
        # The service's name, not a heading: each screen has one h1, its own title (RGAA 9.1).
        st.markdown("**Mon Compte Partenaire**  \n:small[:gray[Espace ESAT — Caf]]")
        if state.account is None:
            return
        st.markdown(f"{literal(state.account.display_name)}  \n:small[:gray[{literal(state.account.email)}]]")
        if password_page:  # "Mon mot de passe", when the navigation holds it
            st.page_link("pages/mot_de_passe.py", label="Mon mot de passe", icon=":material/password:")
        if st.button("Se déconnecter", icon=":material/logout:", key="logout"):
            accounts.logout(store, state.account)
            reset()
            st.rerun()


def technical_error(exc: BaseException) -> None:
    """Log the failure without personal data and show a French message, never a traceback."""
    where = exc.__traceback__
    while where is not None and where.tb_next is not None:
        where = where.tb_next
    origin = f"{where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else "?"
    log.error("page failed: %s at %s", type(exc).__name__, origin)
    st.error(GENERIC_ERROR, icon=":material/error:")


def access_denied(store: Store, state: Session) -> None:
    """An object outside the account's scope was asked for: say no, show nothing, audit it."""
    account_id = state.account.id if state.account else None
    audit.log(store, account_id, "access_denied")
    log.warning("access denied account=%s", account_id)
    batch.abandon(state, store)  # drop the selection that led here, in the store too
    state.table = None  # and the table of certificats, if it named that worker
    st.error(ACCESS_DENIED, icon=":material/block:")


def field_error(errors: dict[str, str], field_id: str) -> None:
    """The French message of a refused field, right under it."""
    if field_id in errors:
        st.error(errors[field_id], icon=":material/error:")


STEPS = ("Saisie", "Récapitulatif", "Fin")


def step_bar(current: int) -> None:
    """The wizard's step indicator, as the DSFR's stepper: the current step's name, "Étape 2 sur 3",
    a bar of the three steps (those done or under way in the primary colour, the others grey) and the
    next step's name. The browser's title names the step too."""
    name, total = STEPS[current - 1], len(STEPS)
    st.set_page_config(page_title=page_title(f"Déclaration, étape {current} sur {total} : {name}"))
    st.markdown(f"**:blue[{name}]**")
    st.caption(f"Étape {current} sur {total}")
    # Each step keeps its number and name, the current one in bold: not colour alone (RGAA 3.1).
    bar = "  ".join(
        f":gray-background[{i}. {step}]"
        if i > current
        else f":blue-background[**{i}. {step}**]"
        if i == current
        else f":blue-background[{i}. {step}]"
        for i, step in enumerate(STEPS, start=1)
    )
    after = f"**Étape suivante :** {STEPS[current]}" if current < total else "**Dernière étape**"
    st.markdown(f"{bar}  \n{after}")
