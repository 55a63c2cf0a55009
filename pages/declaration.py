"""The declaration wizard for the current worker: Saisie → Récapitulatif → Fin.

A rectificatif (started with "Rectifier" on the fiche) is the same wizard, pre-filled with the
values of the declaration it corrects, filed with ``submit(..., replaces=…)``."""

import streamlit as st

from rules import calendar
from services import declarations, justificatifs, partner
from services.clock import today
from ui import batch, resources, wizard
from ui.layout import step_bar
from ui.navigation import close_dialog, go
from ui.state import session
from ui.text import literal

state = session()
store = resources.store()
settings = resources.settings()

draft = state.draft()
if draft is None:
    st.switch_page("pages/travailleurs.py")
kind = declarations.kinds()[draft.kind]
form = declarations.forms()[draft.form_id] if draft.form_id else None
account = state.account
# Read once per visit of the page (the steps' reruns reuse them), again on each new visit.
worker = state.remember_on_screen(
    ("worker", account.id, draft.worker_id), lambda: partner.get_worker(store, account, draft.worker_id)
)
# The steps only go forward through their buttons (AUTHZ-05): no form before its questions,
# no "fin" before a commit. The recap validates again before showing anything.
if form is None:
    draft.step = "questions"
elif draft.step == "fin" and draft.declaration_id is None:
    draft.step = "recap"
last = state.index + 1 >= len(state.selected)
correction = draft.replaces is not None and form is not None

st.title(f"Rectificatif — {form.title}" if correction else form.title if form else kind.title)
if form is not None and form.window == "certificat":
    st.write(declarations.campaign_label(calendar.campaign_of(today(settings))))
st.caption(
    f"{literal(worker.full_name)} — n° allocataire {worker.allocataire} — travailleur {state.index + 1} / {len(state.selected)}"
)


def _quit(worker_id: int, target: str) -> None:
    state.dialog = None
    state.drafts.pop(worker_id, None)
    go(target)


@st.dialog("Quitter la déclaration ?", on_dismiss=lambda: setattr(state, "dialog", None))
def quit_dialog(target: str, text: str) -> None:
    st.write(text)
    cancel, confirm = st.columns(2)
    cancel.button("Annuler", on_click=close_dialog, args=(state,))
    confirm.button("Confirmer", type="primary", on_click=_quit, args=(draft.worker_id, target))


if draft.step == "questions":
    step_bar(1)
    target = wizard.render_questions(kind.tree, draft)
    refused: list[str] = []
    if target is not None:
        chosen = declarations.forms()[target]
        refused = state.remember_on_screen(
            ("refusals", account.id, draft.worker_id, chosen.id, today(settings)),
            lambda: declarations.refusals(store, settings, account, draft.worker_id, chosen),
        )
        for text in refused:
            st.error(text, icon=":material/block:")
        if not refused:
            st.info(f"Déclaration à saisir : {chosen.title}. {chosen.summary}", icon=":material/info:")
    row = st.container(horizontal=True, horizontal_alignment="distribute")  # one block, not three
    if row.button("Quitter", icon=":material/close:"):
        state.dialog = "quit_saisie"
    if (
        target is not None
        and not refused
        and row.button("Commencer la saisie", type="primary", icon=":material/arrow_forward:")
    ):
        draft.form_id, draft.step = target, "saisie"
        draft.errors, draft.warnings, draft.form_errors = {}, {}, []
        st.rerun()
    if state.dialog == "quit_saisie":
        quit_dialog("pages/travailleurs.py", "Les informations saisies pour ce travailleur seront perdues.")

elif draft.step == "saisie":
    step_bar(1)
    if correction:
        st.info(
            f"Rectificatif du justificatif n° {draft.replaces_number} : les valeurs déclarées sont reprises, "
            "corrigez celles qui doivent l'être.",
            icon=":material/edit_note:",
        )
    elif kind.tree is not None and st.button(
        "Modifier mes réponses", icon=":material/edit:", type="tertiary"
    ):
        draft.step = "questions"
        st.rerun()
    if form.intro:
        st.write(form.intro)
    wizard.render_fields(form, draft)
    for text in draft.form_errors:
        st.error(text, icon=":material/error:")
    row = st.container(horizontal=True, horizontal_alignment="distribute")  # one block, not three
    if row.button("Quitter", icon=":material/close:"):
        state.dialog = "quit_saisie"
    if row.button("Suivant : récapitulatif", type="primary", icon=":material/arrow_forward:"):
        report = declarations.check(
            store, settings, state.account, draft.worker_id, form, wizard.payload(form, draft), draft.replaces
        )
        wizard.remember_report(draft, report)
        if report.valid:
            draft.step = "recap"
        st.rerun()
    if state.dialog == "quit_saisie":
        quit_dialog("pages/travailleurs.py", "Les informations saisies pour ce travailleur seront perdues.")

elif draft.step == "recap":
    step_bar(2)
    report = declarations.check(
        store, settings, state.account, draft.worker_id, form, wizard.payload(form, draft), draft.replaces
    )
    if not report.valid:  # e.g. the calendar window closed meanwhile
        wizard.remember_report(draft, report)
        draft.step = "saisie"
        st.rerun()
    st.header("Vérifiez votre déclaration")
    if correction:
        st.info(
            f"Cette déclaration est un rectificatif du justificatif n° {draft.replaces_number}. Une fois "
            "validée, elle le remplace ; il reste dans l'historique du travailleur.",
            icon=":material/edit_note:",
        )
    with st.container(border=True):
        for label, text in wizard.recap_rows(form, report.values, report.derived):
            left, right = st.columns([3, 2])
            left.write(label)
            right.write(f"**{literal(text)}**")
        if st.button("Modifier", icon=":material/edit:", key="edit"):
            draft.step = "saisie"
            st.rerun()
    for issue in report.warnings:
        st.warning(issue.message, icon=":material/warning:")
    row = st.container(horizontal=True, horizontal_alignment="distribute")  # one block, not three
    if row.button("Quitter", icon=":material/close:"):
        state.dialog = "quit_recap"
    if row.button("Valider", type="primary", icon=":material/check:"):
        try:
            decl = declarations.submit(
                store,
                settings,
                state.account,
                draft.worker_id,
                form,
                wizard.payload(form, draft),
                draft.idempotency_key,
                replaces=draft.replaces,
            )
        except declarations.AlreadyDeclared as exc:
            first = exc.existing
            st.error(
                f"Cette déclaration a déjà été transmise pour ce travailleur : n° {first.receipt_number}, "
                f"reçue le {first.received_at:%d/%m/%Y à %H:%M}. Son justificatif est sur la fiche du travailleur.",
                icon=":material/error:",
            )
        except declarations.Invalid as exc:
            wizard.remember_report(draft, exc.report)
            draft.step = "saisie"
            st.rerun()
        else:
            draft.declaration_id, draft.step = decl.id, "fin"
            state.filed(draft.worker_id, decl.id, decl.receipt_number)
            state.memo.pop(("history", draft.worker_id), None)
            st.rerun()
    if state.dialog == "quit_recap":
        quit_dialog(
            "pages/fiche.py",
            "Votre déclaration n'a pas été transmise. Les informations saisies seront perdues.",
        )

else:  # fin
    step_bar(3)
    decl = state.remember_on_screen(
        ("declaration", account.id, draft.declaration_id),
        lambda: declarations.get(store, account, draft.declaration_id),
    )
    if correction:
        st.success(
            f"Votre rectificatif a bien été transmis à la Caf. Numéro de reçu : {decl.receipt_number}, "
            f"le {decl.received_at:%d/%m/%Y à %H:%M}. Il remplace le justificatif n° {draft.replaces_number}.",
            icon=":material/check_circle:",
        )
    else:
        st.success(
            f"Votre déclaration a bien été transmise à la Caf. Numéro de reçu : {decl.receipt_number}, "
            f"le {decl.received_at:%d/%m/%Y à %H:%M}.",
            icon=":material/check_circle:",
        )
    st.write(f"Un accusé de réception est envoyé à l'adresse {literal(state.account.email)}.")
    st.download_button(
        "Télécharger",
        data=lambda: justificatifs.receipt_pdf(store, settings, state.account, decl.id),
        file_name=f"{decl.receipt_number}.pdf",
        mime="application/pdf",
        icon=":material/download:",
        type="primary",
        on_click="ignore",
        help="Le justificatif PDF de votre déclaration",
    )
    st.download_button(
        "Version accessible (HTML)",
        data=lambda: justificatifs.receipt_html(store, settings, state.account, decl.id),
        file_name=f"{decl.receipt_number}.html",
        mime="text/html",
        icon=":material/accessibility_new:",
        type="secondary",
        on_click="ignore",
        help="Le même justificatif en page web, lisible par les lecteurs d'écran",
    )
    with st.container(border=True):
        st.write("**Votre avis nous aide à améliorer ce service**")
        if draft.feedback_sent:
            st.write("Merci pour votre avis.")
        else:
            rating = st.feedback("stars", key=f"avis_{decl.id}")
            comment = st.text_area("Un commentaire ? (facultatif)", max_chars=1000, key=f"avis_txt_{decl.id}")
            if st.button("Envoyer mon avis", disabled=rating is None):
                declarations.save_feedback(store, settings, state.account, decl.id, rating + 1, comment or "")
                draft.feedback_sent = True
                st.rerun()
    row = st.container(horizontal=True, horizontal_alignment="distribute")  # one block, not three
    # Quitter: back to the list, the batch open at the next worker (taken up or abandoned there).
    if row.button("Quitter", icon=":material/close:"):
        if not state.advance():
            batch.end(state, store)
        st.switch_page("pages/travailleurs.py")
    if row.button("Valider" if last else "Continuer", type="primary", icon=":material/arrow_forward:"):
        if state.advance():
            st.switch_page("pages/fiche.py")
        batch.end(state, store)
        st.switch_page("pages/travailleurs.py")
