"""Certificats en nombre: the certificats of many workers at once, typed in a table or read from a
spreadsheet; one récapitulatif, one "Valider" filing each row as its own declaration, an end
page with every receipt number and one download of the justificatifs (issue 13).

Saisie (a page of the table at a time, or a file) → Récapitulatif → Fin. Each row is checked
with the rules and messages of the single form (services/campaign.py); a row already filed is
never filed again, and a second "Valider" (double click, refresh, second tab) files nothing twice.
"""

import streamlit as st

from forms import fmt
from rules import calendar
from services import batches, campaign, declarations, justificatifs, partner, spreadsheet
from services.clock import today
from ui import resources
from ui.state import Table, session
from ui.text import literal

PAGE_SIZE = 20
PERSON = {"RESPONSABLE": "responsable du dossier", "CONJOINT": "conjoint"}

state = session()
store = resources.store()
settings = resources.settings()
account = state.account
form = declarations.forms()[campaign.FORM_ID]
on = today(settings)
year = calendar.campaign_of(on)

st.title("Certificats d'emploi en tableau")
st.write(declarations.campaign_label(year))
if not calendar.certificat_open(on):
    st.info(
        f"Le certificat d'emploi se déclare du 01/12/{year} au {calendar.window_end(year):%d/%m/%Y}.",
        icon=":material/info:",
    )
    if st.button("Retour à l'accueil", icon=":material/home:"):
        st.switch_page("pages/accueil.py")
    st.stop()


def new_table() -> Table:
    """The workers still to declare: the selection of Mes travailleurs, or the chosen Caf's."""
    if state.caf_code is None:  # reached without Accueil: the ESAT's own Caf
        state.caf_code = state.remember("home", lambda: partner.home(store, account)).default_caf
    people = campaign.candidates(store, settings, account)
    pending = [c for c in people if c.receipt_number is None]
    chosen = set(state.selected) if state.selected and not state.busy else None
    rows = [
        c.worker_id for c in pending if (c.worker_id in chosen if chosen else c.caf_code == state.caf_code)
    ]
    return Table(rows, {c.worker_id: c for c in people})


if state.table is None:
    state.table = new_table()
table = state.table
fields = form.fields


def name(worker_id: int) -> str:
    return literal(table.people[worker_id].full_name)


def check() -> None:
    """Check every row typed so far; to the recap when none is in error."""
    rows = [campaign.Row(w, table.raw[w], table.lines.get(w)) for w in table.workers if table.raw.get(w)]
    table.checks = {c.worker_id: c for c in campaign.check_rows(store, settings, account, rows)}
    errors = [c for c in table.checks.values() if c.status == campaign.ERREUR]
    table.only_errors = bool(errors)
    table.page = 0
    if not errors and campaign.recap(list(table.checks.values())).rows:
        table.step, table.batch_key = "recap", None


def row_messages(worker_id: int) -> None:
    """The row's errors and warnings, right below it (the field's label says which amount)."""
    found = table.checks.get(worker_id)
    if found is None:
        return
    labels = {f.id: f.label for f in fields}
    if found.already is not None:
        st.info(
            f"Certificat déjà transmis : reçu n° {found.already.receipt_number}, le "
            f"{found.already.received_at:%d/%m/%Y à %H:%M}. Il ne sera pas transmis une seconde fois.",
            icon=":material/task_alt:",
        )
        return
    for level, issues in ((st.error, found.errors), (st.warning, found.warnings)):
        for field_id, texts in issues.items():
            for text in texts:
                level(f"{labels[field_id]} : {text}" if field_id in labels else text)


notice = state.pop_flash()
if notice:
    st.info(notice, icon=":material/info:")

# -- Saisie ------------------------------------------------------------------------------------
if table.step == "saisie":
    st.header("Déposer un fichier")
    st.write(
        "Téléchargez le modèle pré-rempli avec vos travailleurs, complétez les montants bruts de "
        "novembre (ou collez-les depuis votre logiciel de paie), puis déposez-le. Un fichier CSV "
        "exporté par votre logiciel de paie est aussi accepté."
    )
    st.download_button(
        "Télécharger le modèle (.xlsx)",
        data=lambda: spreadsheet.template(store, settings, account),
        file_name=spreadsheet.template_name(year),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        on_click="ignore",
    )
    uploaded = st.file_uploader(
        "Fichier des certificats (.xlsx ou .csv)",
        type=["xlsx", "csv"],
        key=f"upload_{table.generation}",
        help="Une ligne par travailleur : numéro d'allocataire, personne et les trois montants bruts.",
    )
    if uploaded is not None and st.button("Lire le fichier", icon=":material/upload_file:"):
        report = spreadsheet.read(store, settings, account, uploaded.getvalue(), uploaded.name)
        table.upload, table.generation = report, table.generation + 1
        if report.refused is None:
            for row in report.rows:
                if row.worker_id not in table.workers:
                    table.workers.append(row.worker_id)
                table.raw[row.worker_id] = row.raw
                if row.line is not None:
                    table.lines[row.worker_id] = row.line
            if report.rows:
                check()
        st.rerun()
    upload = table.upload
    if upload is not None:
        if upload.refused:
            st.error(upload.refused, icon=":material/block:")
        else:
            st.success(
                f"Fichier lu : {len(upload.rows)} ligne(s) reprise(s) dans le tableau, "
                f"{upload.skipped} ligne(s) sans montant laissée(s) de côté.",
                icon=":material/task_alt:",
            )
        if upload.already:
            st.info(
                f"{len(upload.already)} ligne(s) du fichier concernent un certificat déjà transmis : "
                "elles ne seront pas transmises une seconde fois.\n\n"
                + "\n".join(
                    f"- {literal(spreadsheet.where(a.line, a.sheet))} : certificat déjà transmis, reçu n° {a.receipt_number}"
                    for a in upload.already
                ),
                icon=":material/task_alt:",
            )
        if upload.problems:
            st.error(
                f"{len(upload.problems)} ligne(s) du fichier n'ont pas pu être reprises : corrigez-les dans "
                "le fichier et déposez-le à nouveau.",
                icon=":material/error:",
            )
            st.table(
                [
                    {
                        "Où": literal(spreadsheet.where(p.line, p.sheet)),
                        "Colonne": literal(p.column or ""),
                        "Problème": p.message,
                    }
                    for p in upload.problems
                ],
                hide_index=True,
            )

    st.header("Saisir dans le tableau")
    in_error = [w for w in table.workers if w in table.checks and table.checks[w].status == campaign.ERREUR]
    shown = in_error if table.only_errors and in_error else table.workers
    if in_error:
        st.error(
            f"{len(in_error)} ligne(s) en erreur : corrigez-les ci-dessous, puis vérifiez à nouveau.",
            icon=":material/error:",
        )
        table.only_errors = st.toggle("Afficher seulement les lignes en erreur", value=table.only_errors)
    if not table.workers:
        st.info(
            "Aucun certificat à déclarer pour cette sélection : ils ont tous déjà été transmis.",
            icon=":material/task_alt:",
        )
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    table.page = min(table.page, pages - 1)
    here = shown[table.page * PAGE_SIZE : (table.page + 1) * PAGE_SIZE]
    typed: dict[int, dict[str, str]] = {}
    with st.form("table", border=False):
        head = st.columns([3, 2, 2, 2])
        head[0].markdown("**Travailleur**")
        for column, f in zip(head[1:], fields, strict=True):
            column.markdown(f"**{f.label}**", help=f.help)
        for worker_id in here:
            person = table.people[worker_id]
            line = st.columns([3, 2, 2, 2])
            line[0].markdown(
                f"{name(worker_id)}  \nN° {person.allocataire} · {PERSON.get(person.person_role, '')}"
            )
            typed[worker_id] = {
                f.id: column.text_input(
                    f"{f.label} — {person.full_name}",
                    value=table.raw.get(worker_id, {}).get(f.id, ""),
                    key=f"t{table.generation}_{worker_id}_{f.id}",
                    max_chars=20,
                    label_visibility="collapsed",
                    placeholder="0,00",
                )
                for column, f in zip(line[1:], fields, strict=True)
            }
            row_messages(worker_id)
        buttons = st.container(horizontal=True, horizontal_alignment="distribute")
        previous = buttons.form_submit_button(
            "Page précédente", icon=":material/chevron_left:", disabled=table.page == 0
        )
        buttons.markdown(f"Page {table.page + 1} sur {pages} — {len(shown)} travailleurs")
        following = buttons.form_submit_button(
            "Page suivante", icon=":material/chevron_right:", disabled=table.page >= pages - 1
        )
        verify = st.form_submit_button(
            "Vérifier et voir le récapitulatif", type="primary", icon=":material/arrow_forward:"
        )
    if previous or following or verify:
        for worker_id, values in typed.items():
            cleaned = {k: v.strip() for k, v in values.items() if v.strip()}
            if cleaned:
                table.raw[worker_id] = cleaned
            else:
                table.raw.pop(worker_id, None)
                table.checks.pop(worker_id, None)
        table.page += -1 if previous else 1 if following else 0
        if verify:
            check()
            if not table.checks:
                state.flash = "Aucun montant n'est saisi : complétez au moins une ligne du tableau."
        st.rerun()
    valid = [c for c in table.checks.values() if c.to_file]
    if (
        in_error
        and valid
        and st.button(
            f"Continuer sans les lignes en erreur ({len(valid)} certificat(s) à transmettre)",
            icon=":material/arrow_forward:",
        )
    ):
        table.step, table.batch_key = "recap", None
        st.rerun()
    row = st.container(horizontal=True, horizontal_alignment="distribute")
    if row.button("Quitter", icon=":material/close:"):
        state.table = None
        st.switch_page("pages/travailleurs.py")

# -- Récapitulatif -----------------------------------------------------------------------------
elif table.step == "recap":
    table.batch_key = table.batch_key or batches.new_id()  # every row's idempotency key derives from it
    summary = campaign.recap(list(table.checks.values()))
    st.header("Vérifiez vos certificats")
    counts = st.columns(3)
    counts[0].metric("Certificats à transmettre", len(summary.rows))
    counts[1].metric("Avec un avertissement", summary.with_warnings)
    counts[2].metric("Déjà transmis (non repris)", summary.already)
    if summary.in_error:
        st.warning(
            f"{summary.in_error} ligne(s) en erreur ne seront pas transmises ; vous pourrez les saisir ensuite.",
            icon=":material/warning:",
        )
    st.table(
        [
            {
                "Travailleur": name(c.worker_id),
                "N° allocataire": table.people[c.worker_id].allocataire,
                **{f.label: fmt.amount(c.values[f.id]) for f in fields if f.id in c.values},
                "Avertissements": " ; ".join(t for texts in c.warnings.values() for t in texts),
            }
            for c in summary.rows
        ],
        hide_index=True,
    )
    with st.container(border=True):
        st.markdown("**Totaux**")
        for f in fields:
            left, right = st.columns([3, 2])
            left.write(f.label)
            right.write(f"**{fmt.amount(summary.totals[f.id])}**")
    row = st.container(horizontal=True, horizontal_alignment="distribute")
    if row.button("Modifier", icon=":material/edit:"):
        table.step = "saisie"
        st.rerun()
    if row.button("Valider", type="primary", icon=":material/check:"):
        bar = st.progress(0.0, text="Transmission des certificats…")
        rows = [
            campaign.Row(c.worker_id, table.raw[c.worker_id], table.lines.get(c.worker_id))
            for c in summary.rows
        ]
        table.filed = campaign.file_rows(
            store,
            settings,
            account,
            rows,
            table.batch_key,
            progress=lambda done, total: (
                bar.progress(done / total, text=f"{done} / {total} certificats transmis")
                if done == total or done % max(1, total // 100) == 0  # about a hundred steps
                else None
            ),
        )
        table.step = "fin"
        st.rerun()

# -- Fin ---------------------------------------------------------------------------------------
else:
    done = [f for f in table.filed if f.status == campaign.TRANSMISE]
    st.success(
        f"{len(done)} certificat(s) transmis à la Caf. Un accusé de réception récapitulatif est envoyé à "
        f"l'adresse {literal(account.email)}.",
        icon=":material/check_circle:",
    )
    status = {
        campaign.TRANSMISE: "Transmis",
        campaign.DEJA_TRANSMISE: "Déjà transmis",
        campaign.REFUSEE: "Non transmis",
    }
    st.table(
        [
            {
                "Travailleur": name(f.worker_id),
                "N° allocataire": table.people[f.worker_id].allocataire,
                "Résultat": status.get(f.status, f.status),
                "N° de reçu": f.receipt_number or "",
                "Message": f.message or "",
            }
            for f in table.filed
        ],
        hide_index=True,
    )
    ids = [f.declaration_id for f in done]
    if ids:
        downloads = st.container(horizontal=True)
        downloads.download_button(
            "Télécharger les justificatifs (.zip)",
            data=lambda: justificatifs.zip_of(store, settings, account, ids),
            file_name=f"justificatifs-{year}.zip",
            mime="application/zip",
            icon=":material/folder_zip:",
            type="primary",
            on_click="ignore",
        )
        downloads.download_button(
            "Télécharger un seul PDF",
            data=lambda: justificatifs.combined_pdf(store, settings, account, ids),
            file_name=f"justificatifs-{year}.pdf",
            mime="application/pdf",
            icon=":material/picture_as_pdf:",
            on_click="ignore",
        )
    if st.button("Terminer", icon=":material/arrow_forward:"):
        state.table = None
        state.memo.clear()
        st.switch_page("pages/travailleurs.py")
