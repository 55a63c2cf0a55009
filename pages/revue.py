"""Revue des formulaires: diagrams, field and rule tables, dry runs, versions, comments.

Everything shown is generated from the YAML definitions (services/review.py).
"""

from datetime import date
from decimal import Decimal

import streamlit as st

from forms import load_all, load_trees
from forms.versions import load_version, versions
from services import comments, dryrun, review
from services.clock import today
from ui import resources, wizard
from ui.state import Draft, session
from ui.text import literal

state = session()
store = resources.store()
settings = resources.settings()
account = state.account
forms = load_all()
trees = load_trees()

st.title("Revue des formulaires")
st.write("Ce que les définitions YAML décrivent, rendu en français : rien ici n'est écrit à la main.")
st.download_button(
    "Exporter le catalogue (Markdown)",
    data=lambda: review.catalogue_markdown(today(settings)).encode("utf-8"),
    file_name="catalogue-formulaires-espace-esat.md",
    mime="text/markdown",
    icon=":material/download:",
    on_click="ignore",
)

for tree in trees.values():
    with st.expander(f"{tree.title} : arbre des questions", icon=":material/account_tree:"):
        st.graphviz_chart(review.tree_dot(tree, forms))

form_id = st.selectbox(
    "Formulaire",
    options=list(forms),
    format_func=lambda i: f"{forms[i].title} (version {forms[i].version})",
    key="review_form",
)
form = forms[form_id]
st.caption(f"{form.summary} — identifiant : {form.id}")
on = st.date_input("Règles en vigueur au", value=today(settings), format="DD/MM/YYYY", key="review_on")

schema_tab, rules_tab, trial_tab, versions_tab, comments_tab = st.tabs(
    ["Schéma", "Champs et règles", "Essayer ce formulaire", "Versions", "Commentaires"]
)

with schema_tab:
    st.graphviz_chart(review.form_dot(form))

with rules_tab:
    st.header("Champs")
    st.table(review.field_rows(form))
    st.header("Contrôles")
    st.table(review.check_rows(form, on))
    if form.guards:
        st.header("Conditions sur ce que la Caf connaît du travailleur")
        for g in form.guards:
            st.write("- " + review.guard_sentence(g.guard))
    if form.effects:
        st.header("Effets sur ce que la Caf connaît du travailleur")
        for e in form.effects:
            st.write("- " + review.effect_sentence(e, form))

with trial_tab:
    st.write("Remplissez le formulaire pour un travailleur fictif. Rien n'est enregistré ni envoyé.")
    trial = state.review_drafts.setdefault(form.id, Draft(worker_id=0, kind=form.id, form_id=form.id))
    with st.container(border=True):
        st.caption("Ce que la Caf connaîtrait du travailleur fictif")
        left, middle, right = st.columns(3)
        rate = left.number_input("Taux ESAT connu (%)", 1, 100, 100, key=f"trial_rate_{form.id}")
        double = middle.toggle("Double activité connue", key=f"trial_double_{form.id}")
        status = right.selectbox(
            "Statut",
            ["ACTIVE", "LEFT", "ON_LEAVE"],
            key=f"trial_status_{form.id}",
            format_func={"ACTIVE": "En activité", "LEFT": "Parti", "ON_LEAVE": "En congé"}.get,
        )
    context = dryrun.Context(
        rate_esat=Decimal(rate),
        rate_mo=Decimal(30) if double else None,
        double_activity=double,
        double_activity_since=date(2024, 1, 1) if double else None,
        status=status,
    )
    wizard.render_fields(form, trial)
    if st.button("Vérifier", type="primary", key=f"trial_check_{form.id}"):
        report = dryrun.check(form, wizard.payload(form, trial), on, context)
        wizard.remember_report(trial, report)
        state.review_reports[form.id] = report
        st.rerun()
    report = state.review_reports.get(form.id)
    if report is not None:
        for text in trial.form_errors:
            st.error(text, icon=":material/error:")
        if report.valid:
            st.success(
                "Déclaration acceptée. Voici le récapitulatif qu'aurait vu l'ESAT.",
                icon=":material/check_circle:",
            )
            for label, text in wizard.recap_rows(form, report.values, report.derived):
                left, right = st.columns([3, 2])
                left.write(label)
                right.write(f"**{literal(text)}**")
            st.download_button(
                "Télécharger le justificatif d'essai",
                data=lambda: dryrun.receipt(form, report, on),
                file_name=f"essai-{form.id}.pdf",
                mime="application/pdf",
                on_click="ignore",
                key=f"trial_pdf_{form.id}",
            )

with versions_tab:
    published = versions(form.id)
    st.write("Versions publiées : " + ", ".join(f"v{v}" for v in published))
    if len(published) < 2:
        st.info("Une seule version publiée : rien à comparer pour l'instant.", icon=":material/info:")
    else:
        old_col, new_col = st.columns(2)
        old = old_col.selectbox("Version de référence", published[:-1], key=f"v_old_{form.id}")
        new = new_col.selectbox("Comparer avec", [v for v in published if v > old], key=f"v_new_{form.id}")
        changes = review.diff(load_version(form.id, old), load_version(form.id, new))
        for title, items in changes.items():
            st.header(title.capitalize())
            for item in items or ["Aucun"]:
                st.write("- " + item)

with comments_tab:
    targets = {"": "Le formulaire entier"} | {f.id: f.label for f in form.fields}
    with st.form(f"comment_{form.id}", clear_on_submit=True):
        target = st.selectbox("Sur", list(targets), format_func=targets.get)
        body = st.text_area("Commentaire", max_chars=comments.MAX_LENGTH)
        if st.form_submit_button("Ajouter le commentaire"):
            if body.strip():
                comments.add(store, settings, account, form.id, target or None, body)
                st.rerun()
            st.error("Le commentaire est vide.")
    for c in comments.listing(store, account, form.id):
        with st.container(border=True):
            where = targets.get(c.field_id or "", c.field_id or "")
            st.caption(
                f"{literal(c.author)} — le {c.created_at:%d/%m/%Y à %H:%M} — {literal(where)} — v{c.form_version}"
                + (f" — résolu le {c.resolved_at:%d/%m/%Y}" if c.resolved_at else "")
            )
            st.text(c.body)
            if c.resolved_at is None and st.button("Marquer comme résolu", key=f"resolve_{c.id}"):
                comments.resolve(store, settings, account, c.id)
                st.rerun()
