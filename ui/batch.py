"""The batch in progress, kept in the store (issue 12): restored at login, saved when it changes,
ended with a summary or abandoned after a confirmation.

app.py calls ``restore`` before the page and ``save`` after it, on every run: ``save`` compares
what the run left with what the store holds (``Session.saved``) and writes only the difference,
so a rerun that changed nothing costs no query (tests/test_rerun_cost.py).
"""

from __future__ import annotations

import streamlit as st

from data.store import Store
from services import batches, declarations
from services.config import Settings
from ui.navigation import close_dialog, go
from ui.state import Session
from ui.text import literal


def restore(state: Session, store: Store) -> None:
    """Once per login of an ESAT manager: take up the batch an earlier session left, if this
    session has none."""
    if state.batch_restored or state.account is None:
        return
    state.batch_restored = True
    if state.busy:
        return
    found = batches.load(store, state.account)
    if found is not None:
        state.resume(found)
        state.saved = _snapshot(found)


def _snapshot(batch: batches.Batch) -> tuple:
    return batches.head(batch), {w: batches.row(batch, w) for w in batch.workers}


def save(state: Session, store: Store, settings: Settings) -> None:
    """Write what this run changed in the batch (nothing when nothing changed), and drop from the
    store the batch this session abandoned (a dialog's callback, which never writes the store).

    Two sessions of one account (two tabs, two devices) share the batch: the last change wins,
    and a session still working on a batch ended elsewhere writes it again whole."""
    if state.abandoned:
        state.abandoned = False
        if state.account is not None:
            batches.abandon(store, state.account)
    current = state.batch()
    if current is None or state.account is None:
        return
    head, rows = now = _snapshot(current)
    saved = state.saved
    if saved is not None and saved[0][:-1] == head[:-1]:  # the same batch: only what changed
        changed = [w for w, r in rows.items() if saved[1].get(w) != r]
        if not changed and saved[0] == head:
            return
        if batches.save(store, settings, state.account, current, changed):
            state.saved = now
            return
    batches.save(store, settings, state.account, current)  # a new batch, or gone from the store
    state.saved = now


def end(state: Session, store: Store) -> None:
    """The last worker is done: the batch leaves the store, its summary stays on Mes travailleurs."""
    current = state.batch()
    state.summary = batches.finish(store, state.account, current) if current and state.account else []
    state.finish()


def abandon(state: Session, store: Store) -> None:
    """Drop the batch, in the store and in the session (its filed declarations stay)."""
    if state.batch_id is not None and state.account is not None:
        batches.abandon(store, state.account)
    state.finish()


def resume_page(state: Session) -> str:
    """Where "Reprendre la saisie" leads: the current worker's wizard if it was started, else the fiche."""
    worker_id = state.current_worker()
    return "pages/declaration.py" if worker_id in state.drafts else "pages/fiche.py"


def open_table(state: Session) -> None:
    """Callback of « Certificats en tableau » (Accueil, Mes travailleurs): the table of
    certificats, built afresh from the selection."""
    state.table = None
    go("pages/campagne.py")


def progress(state: Session) -> str:
    """Where the open batch stands: "Certificat d'emploi — travailleur 2 / 3"."""
    kind = declarations.kinds()[state.kind]
    return f"{kind.title} — travailleur {min(state.index + 1, len(state.selected))} / {len(state.selected)}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary_message(lines: list[batches.Line]) -> str:
    """Which workers were filed and which were skipped, in one sentence."""
    filed = sum(1 for line in lines if line.receipt_number)
    skipped = len(lines) - filed
    parts = []
    if filed:
        parts.append(_plural(filed, "déclaration transmise", "déclarations transmises"))
    if skipped:
        parts.append(
            _plural(skipped, "travailleur passé sans déclaration", "travailleurs passés sans déclaration")
        )
    done = " et ".join(parts) if parts else "aucun travailleur"
    head = "Vos déclarations ont été transmises. " if filed else ""
    return f"{head}La saisie est terminée : {done}. Vous pouvez faire une nouvelle sélection."


def show_summary(state: Session) -> None:
    """The summary of the batch just finished: each worker, its receipt number or "passé"."""
    lines = state.summary
    if lines is None:
        return
    with st.container(border=True):
        st.success(summary_message(lines), icon=":material/task_alt:")
        if lines:
            st.markdown(
                "\n".join(
                    f"- {literal(line.name)} — n° allocataire {line.allocataire} : "
                    + (
                        f"déclaration transmise, reçu n° {line.receipt_number}"
                        if line.receipt_number
                        else "passé sans déclaration"
                    )
                    for line in lines
                )
            )
        st.button(
            "Fermer le récapitulatif",
            type="tertiary",
            icon=":material/close:",
            on_click=lambda: setattr(state, "summary", None),
        )


def abandon_dialog(state: Session, store: Store) -> None:
    """Abandoning the batch asks for a confirmation (Annuler / Confirmer, like the quit dialogs)."""

    @st.dialog("Abandonner la saisie ?", on_dismiss=lambda: setattr(state, "dialog", None))
    def _show() -> None:
        st.write(
            "La saisie en cours prendra fin pour tous les travailleurs sélectionnés. Les déclarations "
            "déjà transmises sont conservées ; les informations saisies et non transmises seront perdues."
        )
        cancel, confirm = st.columns(2)
        cancel.button("Annuler", on_click=close_dialog, args=(state,))
        confirm.button("Confirmer", type="primary", on_click=_abandon_confirmed, args=(state,))

    _show()


def _abandon_confirmed(state: Session) -> None:
    """The abandon dialog's Confirmer (a callback): the session forgets the batch now, ``save``
    drops it from the store once app.py has checked the session."""
    if state.busy:
        state.abandoned = state.batch_id is not None
        state.finish()
        state.flash = "La saisie a été abandonnée. Vous pouvez faire une nouvelle sélection."
    close_dialog(state)
