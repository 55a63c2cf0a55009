"""Generic rendering of any form definition: Saisie widgets and Récapitulatif rows.

Widgets are outside ``st.form`` so that conditional fields appear as soon as a value is
entered. Typed values go to the draft (plain data) through ``on_change``, so they survive a
trip to the recap and back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from forms import fmt
from forms.schema import Field, FormDefinition, QuestionTree
from rules import checks, engine
from ui.state import Draft

_YESNO = {"oui": "Oui", "non": "Non"}


def _key(draft: Draft, f: Field) -> str:
    return f"w_{draft.worker_id}_{draft.form_id}_{f.id}"


def _store(draft: Draft, f: Field) -> None:
    draft.raw[f.id] = st.session_state[_key(draft, f)]
    draft.errors.pop(f.id, None)


def render_fields(form: FormDefinition, draft: Draft) -> None:
    """Every visible field with its messages right below it."""
    for f in engine.visible_fields(form, draft.raw):
        key = _key(draft, f)
        common: dict[str, Any] = {"key": key, "on_change": _store, "args": (draft, f), "help": f.help}
        label = f.label + ("" if f.required else " (facultatif)")
        raw = draft.raw.get(f.id)
        if key in st.session_state:
            common.pop("key")
            common["key"] = key  # the widget keeps its own state while it lives
            value_kw: dict[str, Any] = {}
        else:
            value_kw = {"value": raw}
        if f.type in ("amount", "rate"):
            unit = "€" if f.type == "amount" else "%"
            st.text_input(
                f"{label} ({unit})",
                max_chars=20,
                placeholder="0,00" if f.type == "amount" else "100",
                **({"value": raw or ""} if value_kw else {}),
                **common,
            )
        elif f.type == "date":
            st.date_input(
                label,
                format="DD/MM/YYYY",
                min_value=date(1900, 1, 1),
                max_value=date(2100, 12, 31),
                **({"value": raw if isinstance(raw, date) else None} if value_kw else {}),
                **common,
            )
        elif f.type == "choice":
            opts = {o.value: o.label for o in checks.options(f)}
            values = list(opts)
            st.selectbox(
                label,
                options=values,
                format_func=opts.get,
                placeholder="Choisissez dans la liste",
                **({"index": values.index(raw) if raw in values else None} if value_kw else {}),
                **common,
            )
        elif f.type == "certify":
            st.checkbox(label, **({"value": raw is True} if value_kw else {}), **common)
        elif f.type == "yesno":
            st.radio(
                label,
                options=list(_YESNO),
                format_func=_YESNO.get,
                horizontal=True,
                **({"index": list(_YESNO).index(raw) if raw in _YESNO else None} if value_kw else {}),
                **common,
            )
        else:
            st.text_input(
                label, max_chars=f.max_length, **({"value": raw or ""} if value_kw else {}), **common
            )
        for text in draft.errors.get(f.id, []):
            st.error(text, icon=":material/error:")
        for text in draft.warnings.get(f.id, []):
            st.warning(text, icon=":material/warning:")


def _answer(draft: Draft, question_id: str, key: str) -> None:
    draft.answers[question_id] = st.session_state[key]


def render_questions(tree: QuestionTree, draft: Draft) -> str | None:
    """Ask the questions along the path of the answers given; return the form they lead to."""
    question = tree.question(tree.start)
    while True:
        answers = {a.value: a for a in question.answers}
        key = f"q_{draft.worker_id}_{tree.id}_{question.id}"
        current = draft.answers.get(question.id)
        extra = (
            {}
            if key in st.session_state
            else {"index": list(answers).index(current) if current in answers else None}
        )
        st.radio(
            question.label,
            options=list(answers),
            format_func=lambda v, answers=answers: answers[v].label,
            horizontal=len(answers) == 2,
            key=key,
            on_change=_answer,
            args=(draft, question.id, key),
            **extra,
        )
        chosen = answers.get(draft.answers.get(question.id, ""))
        if chosen is None:
            return None
        if chosen.form:
            return chosen.form
        question = tree.question(chosen.next or "")


def prefill(form: FormDefinition, values: dict[str, Any]) -> dict[str, Any]:
    """What the user would type to file these stored values (a rectificatif starts from them).
    The certification is not carried over: it is given again for the corrected values."""
    raw: dict[str, Any] = {}
    for f in form.fields:
        value = values.get(f.id)
        if value is None or f.type == "certify":
            continue
        if f.type == "amount":
            raw[f.id] = fmt.amount(value).removesuffix(fmt.NBSP + "€").replace(fmt.NBSP, " ")
        elif f.type == "rate":
            raw[f.id] = fmt.number(value)
        elif f.type == "yesno":
            raw[f.id] = "oui" if value else "non"
        else:
            raw[f.id] = value
    return raw


def payload(form: FormDefinition, draft: Draft) -> dict[str, Any]:
    """What the user typed, for the visible fields only (hidden ones are never sent)."""
    return {f.id: draft.raw.get(f.id) for f in engine.visible_fields(form, draft.raw)}


def remember_report(draft: Draft, report: engine.Report) -> None:
    draft.errors, draft.warnings, draft.form_errors = {}, {}, []
    for issue in report.errors:
        if issue.field is None:
            draft.form_errors.append(issue.message)
        else:
            draft.errors.setdefault(issue.field, []).append(issue.message)
    for issue in report.warnings:
        draft.warnings.setdefault(issue.field or "", []).append(issue.message)


def recap_rows(
    form: FormDefinition, values: dict[str, Any], derived: dict[str, str]
) -> list[tuple[str, str]]:
    """(label, French text) for each declared value, then the derived ones."""
    rows = []
    for f in form.fields:
        if f.id in values:
            opts = {o.value: o.label for o in checks.options(f)} if f.type == "choice" else None
            rows.append((f.label, fmt.value(f.type, values[f.id], opts)))
    labels = {d.id: d.label for d in form.derived}
    rows += [(f"{labels[k]} (indicatif)", v) for k, v in derived.items()]
    return rows
