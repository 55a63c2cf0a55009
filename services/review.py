"""The declaration flows in plain French, for review by Caf managers, federations and lawyers.

Everything here is generated from the definitions (``forms/definitions``, ``forms/questions``,
``rules/parametres.yaml``, openfisca-france): nothing is written by hand, so what reviewers
read is what the engine applies. Each vocabulary of ``forms.schema`` (field types, condition
operators, check kinds, guards, effect targets…) has its French rendering in one dict below;
``tests/test_review.py`` fails when a word of the schema has no rendering.

No Streamlit here: pages/revue.py shows these tables, sentences and Graphviz diagrams.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from forms import fmt
from forms.loader import load_all, load_trees
from forms.schema import Condition, Derived, Effect, Field, FormDefinition, QuestionTree
from rules import calendar, checks, engine, parameters
from rules.parameters import ParameterError

HUNDRED = Decimal(100)

FIELD_TYPES: dict[str, str] = {
    "amount": "Montant en euros",
    "rate": "Taux (%)",
    "date": "Date",
    "choice": "Liste de choix",
    "yesno": "Oui / Non",
    "certify": "Case à cocher (certification)",
    "text": "Texte",
}

WINDOWS: dict[str, str] = {
    "certificat": "du 1er décembre au dernier jour de février",
    "always": "toute l'année",
}

LEVELS: dict[str, str] = {"error": "Bloquant", "warning": "Avertissement"}
_LEVEL_WORDS = {"error": "contrôle bloquant", "warning": "avertissement"}

# What the Caf knows of the worker (forms.schema.CONTEXT_KEYS), as read in a sentence.
KNOWN: dict[str, str] = {
    "double_activity": "double activité en cours",
    "status": "situation du travailleur dans l'ESAT",
    **checks.KNOWN_LABELS,
}

GUARD_SENTENCES: dict[str, str] = {
    "active": "Le travailleur doit être en activité dans l'ESAT (ni parti, ni en congé).",
    "inactive": "Le travailleur doit avoir quitté l'ESAT ou être en congé à la date du retour.",
    "double_activity": "Une double activité (ESAT et milieu ordinaire) doit être connue de la Caf "
    "pour ce travailleur.",
    "no_double_activity": "Aucune double activité (ESAT et milieu ordinaire) ne doit être connue "
    "de la Caf pour ce travailleur.",
}

# Effect targets (Effect.set): the subject of "… devient …".
EFFECT_TARGETS: dict[str, str] = {
    "rate_esat": "Le taux ESAT connu",
    "rate_mo": "Le taux en milieu ordinaire connu",
    "double_activity": "L'indicateur de double activité connu",
    "double_activity_since": "La date de début de double activité connue",
    "status": "La situation du travailleur",
    "return_date": "La date prévisionnelle de retour connue",
}

# Worker statuses an effect may set (rules/__main__.STATUSES).
STATUS_LABELS: dict[str, str] = {
    "ACTIVE": "En activité",
    "LEFT": "Parti de l'ESAT",
    "ON_LEAVE": "En congé",
}

UNIQUE_PER: dict[str | None, str] = {
    None: "sans limite",
    "campaign": "une seule déclaration par travailleur et par campagne",
    "effective_date": "une seule déclaration de ce type par travailleur et par date d'effet",
}

DERIVED: dict[str, str] = {
    "smic_percentage": "{field} en pourcentage du SMIC mensuel brut, au prorata du taux d'activité en "
    "ESAT connu de la Caf (100 % s'il n'est pas connu)",
    "abattement_band": "abattement de l'art. D821-10 CSS selon {field} rapportée au SMIC mensuel brut "
    "(au prorata du taux d'activité en ESAT connu) : {bands}",
}

# all / any: how the sub-conditions are joined.
CONJUNCTIONS: dict[str, str] = {"all": "et", "any": "ou"}

NOTES = (
    "Une condition qui porte sur un champ non renseigné ou masqué est fausse (sauf « est vide »).",
    "Un champ masqué n'est ni contrôlé, ni enregistré, ni affiché au récapitulatif.",
    "Un contrôle n'est pas appliqué lorsqu'un champ qu'il lit est masqué, vide ou invalide "
    "(ce champ a déjà son propre message), ni lorsque la Caf ne connaît pas la donnée comparée.",
    "Les montants et taux ne peuvent pas être négatifs ; ils ont au plus deux décimales.",
)


# --- values -------------------------------------------------------------------------------


def _q(text: str) -> str:
    return f"« {text} »"


def _label(form: FormDefinition, field_id: str) -> str:
    return _q(form.field(field_id).label)


def _decimal(raw: Any) -> Decimal:
    return raw if isinstance(raw, Decimal) else Decimal(str(raw))


def _day(raw: Any) -> str:
    return fmt.day(raw if isinstance(raw, date) else date.fromisoformat(str(raw)))


def _option_labels(f: Field) -> dict[str, str]:
    return {o.value: o.label for o in checks.options(f)}


def _value(f: Field, raw: Any) -> str:
    """A constant compared with field ``f``, as the user would read it."""
    try:
        if f.type == "choice":
            labels = _option_labels(f)
            return _q(labels[raw]) if raw in labels else f"{_q(str(raw))} (valeur absente de la liste)"
        if f.type in ("yesno", "certify") and isinstance(raw, bool):
            return _q("Oui" if raw else "Non")
        if isinstance(raw, bool):
            return _q("Oui" if raw else "Non")
        if f.type == "amount":
            return fmt.amount(_decimal(raw))
        if f.type == "rate":
            return fmt.rate(_decimal(raw))
        if f.type == "date":
            return _day(raw)
        if isinstance(raw, (int, float, Decimal)):
            return fmt.number(_decimal(raw))
    except (InvalidOperation, ValueError, TypeError):
        pass
    return _q(str(raw))


def _join(parts: list[str], word: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {word} " + parts[-1]


# --- conditions ---------------------------------------------------------------------------


def _eq(f: Field, v: Any, form: FormDefinition) -> str:
    if f.type == "certify":
        return "est coché" if v else "n'est pas coché"
    if f.type in ("amount", "rate"):
        return f"est égal à {_value(f, v)}"
    if f.type == "date":
        return f"est le {_value(f, v)}"
    return f"est {_value(f, v)}"


def _ne(f: Field, v: Any, form: FormDefinition) -> str:
    if f.type == "certify":
        return "n'est pas coché" if v else "est coché"
    if f.type in ("amount", "rate"):
        return f"est différent de {_value(f, v)}"
    if f.type == "date":
        return f"n'est pas le {_value(f, v)}"
    return f"n'est pas {_value(f, v)}"


def _in(f: Field, values: list[Any], form: FormDefinition) -> str:
    if not values:
        return "est dans une liste vide (jamais vrai)"
    shown = [_value(f, v) for v in values]
    if f.type in ("amount", "rate"):
        return "est égal à " + _join(shown, "ou")
    if f.type == "date":
        return "est le " + _join(shown, "ou le")
    return "est " + _join(shown, "ou")


def _not_in(f: Field, values: list[Any], form: FormDefinition) -> str:
    if not values:
        return "n'est pas dans une liste vide (toujours vrai s'il est renseigné)"
    shown = [_value(f, v) for v in values]
    if f.type in ("amount", "rate"):
        return "est différent de " + _join(shown, "et de")
    if f.type == "date":
        return "n'est pas le " + _join(shown, "ni le")
    if len(shown) == 1:
        return f"n'est pas {shown[0]}"
    return "n'est ni " + " ni ".join(shown)


def _compare(words: str) -> Callable[[Field, Any, FormDefinition], str]:
    def phrase(f: Field, v: Any, form: FormDefinition) -> str:
        return f"{words} {_value(f, v)}"

    return phrase


def _other_field(words: str) -> Callable[[Field, Any, FormDefinition], str]:
    def phrase(f: Field, other: Any, form: FormDefinition) -> str:
        return f"{words} {_label(form, other)}"

    return phrase


OPERATOR_PHRASES: dict[str, Callable[[Field, Any, FormDefinition], str]] = {
    "eq": _eq,
    "ne": _ne,
    "in": _in,
    "not_in": _not_in,
    "gt": _compare("est supérieur à"),
    "gte": _compare("est supérieur ou égal à"),
    "lt": _compare("est inférieur à"),
    "lte": _compare("est inférieur ou égal à"),
    "eq_field": _other_field("est égal à"),
    "ne_field": _other_field("est différent de"),
    "empty": lambda f, v, form: "est vide" if v else "est renseigné",
    "not_empty": lambda f, v, form: "est renseigné" if v else "est vide",
}


def _condition(cond: Condition, form: FormDefinition, nested: bool = False) -> str:
    """The condition without its leading "si" (parenthesised when it combines others)."""
    for key, word in CONJUNCTIONS.items():
        parts = getattr(cond, key)
        if parts is not None:
            text = _join([_condition(c, form, nested=True) for c in parts], word)
            return f"({text})" if nested and len(parts) > 1 else text
    op, expected = cond.operator()
    f = form.field(cond.field or "")
    return f"{_q(f.label)} {OPERATOR_PHRASES[op](f, expected, form)}"


def _predicate(cond: Condition, form: FormDefinition) -> str:
    """A simple condition without its subject (the field it reads), for a diagram's edge."""
    if cond.all is not None or cond.any is not None:
        return condition_sentence(cond, form)
    op, expected = cond.operator()
    return OPERATOR_PHRASES[op](form.field(cond.field or ""), expected, form)


def condition_sentence(cond: Condition, form: FormDefinition) -> str:
    """``si « Motif du départ » est « Congé parental d'éducation » ou « … »``."""
    return "si " + _condition(cond, form)


# --- fields -------------------------------------------------------------------------------


def _bounds(f: Field) -> str:
    if f.type in ("amount", "rate"):
        show = fmt.amount if f.type == "amount" else fmt.rate
        default_max = engine.MAX_AMOUNT if f.type == "amount" else HUNDRED
        if f.min is not None:
            low = show(_decimal(f.min)) + (" exclu" if f.min_exclusive else " inclus")
        else:
            low = show(Decimal(0)) + " inclus"
        if f.max is not None:
            high = show(_decimal(f.max)) + (" exclu" if f.max_exclusive else " inclus")
        else:
            high = show(default_max) + " inclus"
        defaults = [name for name, v in (("minimum", f.min), ("maximum", f.max)) if v is None]
        note = f" ({' et '.join(defaults)} par défaut)" if defaults else ""
        return f"entre {low} et {high}{note}"
    if f.min is not None or f.max is not None:
        return "bornes sans effet pour ce type de champ"
    if f.type == "text":
        return f"{f.max_length} caractères au plus"
    return ""


def _options(f: Field) -> str:
    if f.type != "choice":
        return ""
    return ", ".join(o.label for o in checks.options(f))


def _required(f: Field, form: FormDefinition) -> str:
    if f.visible_if is None:
        return "Oui" if f.required else "Non"
    cond = condition_sentence(f.visible_if, form)
    return f"Oui, {cond}" if f.required else f"Affiché {cond} (facultatif)"


def field_rows(form: FormDefinition) -> list[dict[str, str]]:
    """One row per field, in the order of the form."""
    return [
        {
            "id": f.id,
            "libellé": f.label,
            "type": FIELD_TYPES[f.type],
            "obligatoire": _required(f, form),
            "bornes": _bounds(f),
            "options": _options(f),
            "aide": f.help or "",
        }
        for f in form.fields
    ]


# --- checks -------------------------------------------------------------------------------


def _at(name: str, on: date) -> Decimal | None:
    """A parameter's value on ``on`` (None when it has none then; unknown names raise)."""
    param = parameters.parameter(name)
    try:
        return param.at(on)
    except ParameterError:
        return None


def _missing(on: date) -> str:
    return f"[paramètre sans valeur au {fmt.day(on)}]"


def _date_param(name: str, on: date) -> date | None:
    try:
        return parameters.date_value(name, on)
    except ParameterError:
        return None


def _count(value: Decimal | None, one: str, many: str, on: date) -> str:
    if value is None:
        return _missing(on)
    n = fmt.number(value)
    return f"{n} {one if value <= 1 else many}"


def _is_date(form: FormDefinition, field_id: str) -> bool:
    return form.field(field_id).type == "date"


def _pair(number_words: str, date_words: str) -> Callable[[Any, FormDefinition, date], str]:
    def sentence(c: Any, form: FormDefinition, on: date) -> str:
        words = date_words if _is_date(form, c.field) else number_words
        return f"{_label(form, c.field)} {words} {_label(form, c.other)}"

    return sentence


def _smic(words: str) -> Callable[[Any, FormDefinition, date], str]:
    def sentence(c: Any, form: FormDefinition, on: date) -> str:
        ratio, smic = _at(c.param, on), _at("smic_mensuel", on)
        if ratio is None or smic is None:
            return f"{_label(form, c.field)} {words} un multiple du SMIC mensuel {_missing(on)}"
        limit = (ratio * smic).quantize(engine.CENT)
        text = f"{_label(form, c.field)} {words} {fmt.rate(ratio * HUNDRED)} du SMIC mensuel brut ({fmt.amount(smic)})"
        if c.prorata:
            return (
                f"{text} au prorata du taux d'activité en ESAT connu de la Caf ({fmt.rate(HUNDRED)} "
                f"s'il n'est pas connu), soit {fmt.amount(limit)} pour un temps plein"
            )
        return f"{text}, soit {fmt.amount(limit)}"

    return sentence


def _sum_matches(c: Any, form: FormDefinition, on: date) -> str:
    gap = _at(c.param, on)
    tolerance = _missing(on) if gap is None else fmt.amount(gap)
    return (
        f"{_label(form, c.field)} + {_label(form, c.other)} est égal à {_label(form, c.total)}, "
        f"à {tolerance} près"
    )


def _sum_at_most(c: Any, form: FormDefinition, on: date) -> str:
    limit = _at(c.param, on)
    shown = _missing(on) if limit is None else fmt.value(form.field(c.field).type, limit)
    return f"{_label(form, c.field)} + {_label(form, c.other)} ne dépasse pas {shown}"


def _one_is_zero(c: Any, form: FormDefinition, on: date) -> str:
    zero = fmt.value(form.field(c.field).type, Decimal(0))
    return f"{_label(form, c.field)} ou {_label(form, c.other)} est égal à {zero}"


def _date_window(c: Any, form: FormDefinition, on: date) -> str:
    before, after = _at(c.param_before, on), _at(c.param_after, on)
    text = (
        f"{_label(form, c.field)} est comprise entre {_count(before, 'mois', 'mois', on)} avant "
        f"et {_count(after, 'mois', 'mois', on)} après la date de la déclaration"
    )
    if before is None or after is None:
        return text
    start = checks.add_months(on, -int(before))
    end = checks.add_months(on, int(after))
    return f"{text} (pour une déclaration du {fmt.day(on)} : du {fmt.day(start)} au {fmt.day(end)})"


def _date_from(c: Any, form: FormDefinition, on: date) -> str:
    limit = _date_param(c.param, on)
    shown = _missing(on) if limit is None else f"au {fmt.day(limit)}"
    return f"{_label(form, c.field)} n'est pas antérieure {shown}"


def _date_within_years(c: Any, form: FormDefinition, on: date) -> str:
    years = _at(c.param, on)
    return (
        f"{_label(form, c.field)} est au plus tard {_count(years, 'an', 'ans', on)} après "
        f"{_label(form, c.other)}"
    )


def _known(words: str, what: str) -> Callable[[Any, FormDefinition, date], str]:
    def sentence(c: Any, form: FormDefinition, on: date) -> str:
        return f"{_label(form, c.field)} {words} {what} que la Caf connaît pour le travailleur ({KNOWN[c.known]})"

    return sentence


CHECK_SENTENCES: dict[str, Callable[[Any, FormDefinition, date], str]] = {
    "lte_field": _pair("ne dépasse pas", "n'est pas postérieure à"),
    "gt_field": _pair("est supérieur à", "est postérieure à"),
    "lt_field": _pair("est inférieur à", "est antérieure à"),
    "ne_field": _pair("est différent de", "est différente de"),
    "max_smic_ratio": _smic("ne dépasse pas"),
    "min_smic_ratio": _smic("atteint au moins"),
    "sum_matches": _sum_matches,
    "sum_at_most": _sum_at_most,
    "one_is_zero": _one_is_zero,
    "date_window": _date_window,
    "date_from": _date_from,
    "date_within_years": _date_within_years,
    "after_known": _known("est postérieure à", "la date"),
    "not_before_known": _known("n'est pas antérieure à", "la date"),
    "matches_known": _known("est égal à", "la valeur"),
}


def _between_smic(c: Any, form: FormDefinition, on: date) -> str:
    low, high, smic = _at(c.param_min, on), _at(c.param_max, on), _at("smic_mensuel", on)
    if low is None or high is None or smic is None:
        return f"{_label(form, c.field)} est comprise entre deux multiples du SMIC mensuel {_missing(on)}"
    text = (
        f"{_label(form, c.field)} est comprise entre {fmt.rate(low * HUNDRED)} et {fmt.rate(high * HUNDRED)} "
        f"du SMIC mensuel brut ({fmt.amount(smic)})"
    )
    if c.prorata:
        text += f" au prorata du taux d'activité en ESAT connu de la Caf ({fmt.rate(HUNDRED)} s'il n'est pas connu)"
    return (
        f"{text}, soit de {fmt.amount((low * smic).quantize(engine.CENT))} à "
        f"{fmt.amount((high * smic).quantize(engine.CENT))} pour un temps plein"
    )


def _aide_au_poste(c: Any, form: FormDefinition, on: date) -> str:
    cap, threshold = _at(c.param, on), _at(c.param_threshold, on)
    reduction, tolerance = _at(c.param_reduction, on), _at(c.param_tolerance, on)
    if cap is None or threshold is None or reduction is None or tolerance is None:
        return f"{_label(form, c.field)} ne dépasse pas l'aide au poste attendue {_missing(on)}"
    return (
        f"{_label(form, c.field)} ne dépasse pas de plus de {fmt.amount(tolerance)} l'aide au poste "
        f"attendue : {fmt.rate(cap * HUNDRED)} du SMIC mensuel brut au prorata du taux d'activité en "
        f"ESAT connu de la Caf tant que {_label(form, c.other)} ne dépasse pas "
        f"{fmt.rate(threshold * HUNDRED)} de ce SMIC, puis réduite de {fmt.number(reduction)} point "
        f"par point de part au-delà"
    )


def _sum_known_at_most(c: Any, form: FormDefinition, on: date) -> str:
    limit = _at(c.param, on)
    shown = _missing(on) if limit is None else fmt.value(form.field(c.field).type, limit)
    return (
        f"{_label(form, c.field)} + le {KNOWN[c.known]} que la Caf connaît pour le travailleur "
        f"ne dépasse pas {shown}"
    )


CHECK_SENTENCES.update(
    {
        "between_smic_ratio": _between_smic,
        "aide_au_poste": _aide_au_poste,
        "sum_known_at_most": _sum_known_at_most,
    }
)


def check_sentence(check: Any, form: FormDefinition, on: date) -> str:
    """One French sentence: what must hold, when, with the parameters in force on ``on``."""
    text = CHECK_SENTENCES[check.check](check, form, on)
    if check.when is not None:
        text += ", lorsque " + _condition(check.when, form)
    return f"{text} — {_LEVEL_WORDS[check.level]}."


def _parameters_of(check: Any) -> list[str]:
    names = [getattr(check, k) for k in type(check).model_fields if k.startswith("param")]
    if check.check in ("max_smic_ratio", "min_smic_ratio", "between_smic_ratio", "aide_au_poste"):
        names.append("smic_mensuel")
    return names


def _source(name: str) -> str:
    try:
        source = parameters.parameter(name).source
    except parameters.ParameterError:
        source = parameters.date_parameter(name).source
    return "Hypothèse (DOMAIN.md)" if source == "hypothèse" else source


def check_source(check: Any) -> str:
    sources = list(dict.fromkeys(_source(n) for n in _parameters_of(check)))
    return " ; ".join(sources) if sources else "Règle du formulaire"


def check_rows(form: FormDefinition, on: date) -> list[dict[str, str]]:
    return [
        {
            "contrôle": check_sentence(c, form, on),
            "niveau": LEVELS[c.level],
            "source": check_source(c),
        }
        for c in form.checks
    ]


# --- guards, effects, derived values ------------------------------------------------------


def guard_sentence(guard_name: str) -> str:
    return GUARD_SENTENCES[guard_name]


def _effect_value(target: str, value: Any) -> str:
    if value is None:
        return "vide"
    if target == "status":
        return _q(STATUS_LABELS[value])
    if isinstance(value, bool):
        return _q("Oui" if value else "Non")
    if target in ("rate_esat", "rate_mo"):
        return fmt.rate(_decimal(value))
    if target in ("double_activity_since", "return_date"):
        return _day(value)
    raise ValueError(f"valeur d'effet sans rendu pour {target}: {value!r}")


def effect_sentence(effect: Effect, form: FormDefinition) -> str:
    """``Le taux ESAT connu devient « Nouveau taux d'activité ».``"""
    subject = EFFECT_TARGETS[effect.set]
    if effect.from_field is not None:
        f = form.field(effect.from_field)
        text = f"{subject} devient {_q(f.label)}"
        when = effect.when
        filled = when is not None and when.field == f.id and when.not_empty is True
        if (not f.required or f.visible_if is not None) and not filled:
            text += " (vide si ce champ n'est pas renseigné)"
    else:
        text = f"{subject} devient {_effect_value(effect.set, effect.value)}"
    if effect.when is not None:
        text += ", lorsque " + _condition(effect.when, form)
    return text + "."


def _bracket_span(lower: parameters.Bracket, upper: parameters.Bracket | None) -> str:
    start = fmt.rate(lower.threshold * HUNDRED)
    if upper is None:
        return f"{start} et plus" if lower.inclusive else f"plus de {start}"
    first = "inclus" if lower.inclusive else "exclu"
    last = "exclu" if upper.inclusive else "inclus"
    return f"de {start} {first} à {fmt.rate(upper.threshold * HUNDRED)} {last}"


def derived_sentence(d: Derived, form: FormDefinition, on: date) -> str:
    bands = []
    if d.compute == "abattement_band":
        try:
            scale = parameters.brackets(checks.ABATTEMENT_SCALE, on)
        except ParameterError:
            scale = ()
        if not scale:
            bands.append(_missing(on))
        else:
            first = scale[0]
            below = fmt.rate(first.threshold * HUNDRED)
            bands.append(
                f"moins de {below} : aucun" if first.inclusive else f"jusqu'à {below} inclus : aucun"
            )
            for lower, upper in zip(scale, [*scale[1:], None], strict=True):
                rate = "aucun" if lower.rate == 0 else fmt.rate(lower.rate * HUNDRED)
                bands.append(f"{_bracket_span(lower, upper)} : {rate}")
    text = DERIVED[d.compute].format(field=_label(form, d.field), bands=" ; ".join(bands))
    return f"{_q(d.label)} : {text}."


# --- diagrams -----------------------------------------------------------------------------


def _dot(text: str, width: int = 34) -> str:
    """A quoted DOT string: wrapped lines, backslashes and quotes escaped."""
    lines = [
        line
        for part in text.split("\n")
        for line in (textwrap.wrap(part, width, break_long_words=False, break_on_hyphens=False) or [""])
    ]
    for i in range(len(lines) - 1, 0, -1):  # no closing guillemet alone on its line
        if lines[i] in ("»", "».") or lines[i].startswith("» "):
            lines[i - 1] += " " + lines.pop(i)
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def _attrs(**attrs: str) -> str:
    return "[" + ", ".join(f"{k}={_dot(v, 1000)}" for k, v in attrs.items()) + "]"


_HEADER = (
    '  node [fontname="Helvetica", fontsize="11"];',
    '  edge [fontname="Helvetica", fontsize="9"];',
)


def form_dot(form: FormDefinition) -> str:
    """The form as a Graphviz digraph: Saisie → each field in order → Récapitulatif → Fin."""
    out = [
        f"digraph {_dot(form.id)} {{",
        f"  graph {_attrs(label=f'{form.title} (version {form.version})', labelloc='t', fontname='Helvetica')};",
        *_HEADER,
        f'  "etape_saisie" {_attrs(label="Saisie", shape="oval", style="filled", fillcolor="#dbe7f5")};',
    ]
    for f in form.fields:
        text = f"{f.label}\n({FIELD_TYPES[f.type]}{'' if f.required else ', facultatif'})"
        style = "dashed" if f.visible_if is not None else "solid"
        out.append(f'  "champ_{f.id}" [label={_dot(text)}, shape="box", style="{style}"];')
    out += [
        f'  "etape_recapitulatif" {_attrs(label="Récapitulatif", shape="oval", style="filled", fillcolor="#dbe7f5")};',
        f'  "etape_fin" [label={_dot("Fin" + chr(10) + form.receipt.title)}, shape="doubleoctagon"];',
    ]
    chain = ["etape_saisie", *(f"champ_{f.id}" for f in form.fields), "etape_recapitulatif", "etape_fin"]
    out += [f'  "{a}" -> "{b}";' for a, b in pairwise(chain)]
    for f in form.fields:
        if f.visible_if is None:
            continue
        sources = sorted(f.visible_if.fields(), key=[g.id for g in form.fields].index)
        label = (
            _predicate(f.visible_if, form) if len(sources) == 1 else condition_sentence(f.visible_if, form)
        )
        for source in sources:
            out.append(
                f'  "champ_{source}" -> "champ_{f.id}" [label={_dot(label, 30)}, '
                'style="dashed", color="#1f5fa8", fontcolor="#1f5fa8", constraint="false"];'
            )
    out.append("}")
    return "\n".join(out) + "\n"


def tree_dot(tree: QuestionTree, forms: dict[str, FormDefinition]) -> str:
    """The question tree: questions as diamonds, answers as labelled edges, forms as boxes."""
    out = [
        f"digraph {_dot(tree.id)} {{",
        f"  graph {_attrs(label=tree.title, labelloc='t', fontname='Helvetica')};",
        *_HEADER,
        f'  "debut_parcours" {_attrs(label="Début", shape="oval", style="filled", fillcolor="#dbe7f5")};',
        f'  "debut_parcours" -> "question_{tree.start}";',
    ]
    for q in tree.questions:
        out.append(f'  "question_{q.id}" [label={_dot(q.label, 26)}, shape="diamond"];')
    for form_id in dict.fromkeys(tree.forms()):
        out.append(
            f'  "formulaire_{form_id}" [label={_dot(forms[form_id].title)}, shape="box", '
            'style="rounded,filled", fillcolor="#e3f1e3"];'
        )
    for q in tree.questions:
        for a in q.answers:
            target = f"question_{a.next}" if a.next else f"formulaire_{a.form}"
            out.append(f'  "question_{q.id}" -> "{target}" [label={_dot(a.label, 30)}];')
    out.append("}")
    return "\n".join(out) + "\n"


# --- catalogue ----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or " "


def _table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _tree_lines(tree: QuestionTree, forms: dict[str, FormDefinition], qid: str, depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for a in tree.question(qid).answers:
        if a.form:
            lines.append(f"{pad}- {a.label} → formulaire {_q(forms[a.form].title)}")
        else:
            lines.append(f"{pad}- {a.label} → **{tree.question(a.next or '').label}**")
            lines += _tree_lines(tree, forms, a.next or "", depth + 1)
    return lines


def _unique(form: FormDefinition) -> str:
    return UNIQUE_PER[form.unique_per]


def _form_section(form: FormDefinition, on: date) -> list[str]:
    ref = calendar.reference_date(form, on)
    out = [
        f"### {form.title}",
        "",
        f"- Identifiant : `{form.id}` — version {form.version}",
        f"- Résumé : {form.summary}",
        f"- Période de dépôt : {WINDOWS[form.window]}",
        f"- Unicité : {_unique(form)}",
    ]
    if form.effective_date:
        out.append(f"- Date d'effet : {_label(form, form.effective_date)}")
    if form.intro:
        out.append(f"- Introduction affichée : {' '.join(form.intro.split())}")
    out.append(f"- Justificatif : {_q(form.receipt.title)}")
    out += ["", "#### Conditions d'accès", ""]
    out += [f"- {guard_sentence(g.guard)}" for g in form.guards] or ["- Aucune."]
    out += ["", "#### Champs", ""]
    out += _table(
        ["Libellé", "Identifiant", "Type", "Obligatoire", "Bornes", "Options", "Aide"],
        [
            [r["libellé"], f"`{r['id']}`", r["type"], r["obligatoire"], r["bornes"], r["options"], r["aide"]]
            for r in field_rows(form)
        ],
    )
    out += ["", "#### Contrôles", ""]
    if form.window == "certificat":
        out.append(
            f"Paramètres en vigueur au {fmt.day(ref)} (30 novembre de la campagne, date de référence "
            "du certificat d'emploi)."
        )
    else:
        out.append(f"Paramètres en vigueur au {fmt.day(ref)}.")
    out.append("")
    rows = check_rows(form, ref)
    if rows:
        out += _table(
            ["Contrôle", "Niveau", "Source"], [[r["contrôle"], r["niveau"], r["source"]] for r in rows]
        )
    else:
        out.append("Aucun contrôle entre champs.")
    if form.derived:
        out += ["", "#### Valeurs calculées (récapitulatif et justificatif)", ""]
        out += [f"- {derived_sentence(d, form, ref)}" for d in form.derived]
    out += ["", "#### Effets sur ce que la Caf connaît du travailleur", ""]
    out += [f"- {effect_sentence(e, form)}" for e in form.effects] or ["- Aucun."]
    return [*out, ""]


def catalogue_markdown(on: date) -> str:
    """The whole catalogue for review meetings, as Markdown (same input, same output)."""
    forms = load_all()
    trees = load_trees()
    out = [
        "# Catalogue des déclarations de l'Espace ESAT",
        "",
        f"Généré à partir des définitions des formulaires ; règles en vigueur au {fmt.day(on)}. "
        "Ce document n'est pas rédigé à la main : toute correction se fait dans les définitions.",
        "",
        "## Lecture",
        "",
        *(f"- {n}" for n in NOTES),
        "",
        "## Parcours",
        "",
    ]
    for tree in trees.values():
        out += [
            f"### {tree.title}",
            "",
            f"- Identifiant : `{tree.id}`",
            f"- Résumé : {tree.summary}",
            f"- Période de dépôt : {WINDOWS[tree.window]}",
            "",
            f"- **{tree.question(tree.start).label}**",
            *_tree_lines(tree, forms, tree.start, 1),
            "",
        ]
    out += ["## Formulaires", ""]
    for form in forms.values():
        out += _form_section(form, on)
    return "\n".join(out).rstrip("\n") + "\n"


# --- differences between two definitions --------------------------------------------------


def _key(model: Any) -> str:
    return json.dumps(model.model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False)


def _multiset_diff(
    old: list[Any], new: list[Any], render_old: Callable[[Any], str], render_new: Callable[[Any], str]
) -> tuple[list[str], list[str]]:
    before, after = Counter(_key(m) for m in old), Counter(_key(m) for m in new)
    gone, came = before - after, after - before
    removed, added = [], []
    for m in old:
        if gone[_key(m)] > 0:
            gone[_key(m)] -= 1
            removed.append(render_old(m))
    for m in new:
        if came[_key(m)] > 0:
            came[_key(m)] -= 1
            added.append(render_new(m))
    return added, removed


def _arrow(before: str, after: str) -> str:
    return f"{_q(before) if before else 'aucun'} → {_q(after) if after else 'aucun'}"


def _field_summary(f: Field, form: FormDefinition) -> str:
    return f"Champ {_q(f.label)} ({FIELD_TYPES[f.type]}, obligatoire : {_required(f, form)})"


def _option_changes(a: Field, b: Field) -> str:
    old, new = _option_labels(a), _option_labels(b)
    parts = []
    if gone := [old[v] for v in old if v not in new]:
        parts.append("options supprimées " + ", ".join(_q(x) for x in gone))
    if came := [new[v] for v in new if v not in old]:
        parts.append("options ajoutées " + ", ".join(_q(x) for x in came))
    parts += [f"option {_q(old[v])} → {_q(new[v])}" for v in old if v in new and old[v] != new[v]]
    common = [v for v in old if v in new]
    if not parts and common != [v for v in new if v in old]:
        parts.append("ordre des options modifié")
    if not parts and a.options_from != b.options_from:
        parts.append("liste de référence modifiée (mêmes options)")
    return " ; ".join(parts)


def _field_changes(a: Field, b: Field, old: FormDefinition, new: FormDefinition) -> list[str]:
    name = f"Champ {_q(a.label)}"
    out = []
    if a.label != b.label:
        out.append(f"{name} : libellé {_arrow(a.label, b.label)}")
    if a.type != b.type:
        out.append(f"{name} : type {_arrow(FIELD_TYPES[a.type], FIELD_TYPES[b.type])}")
    if a.required != b.required:
        out.append(
            f"{name} : obligatoire {'Oui' if a.required else 'Non'} → {'Oui' if b.required else 'Non'}"
        )
    before = condition_sentence(a.visible_if, old) if a.visible_if else "toujours affiché"
    after = condition_sentence(b.visible_if, new) if b.visible_if else "toujours affiché"
    if before != after:
        out.append(f"{name} : condition d'affichage {_arrow(before, after)}")
    if a.type == b.type and _bounds(a) != _bounds(b):
        out.append(f"{name} : bornes {_arrow(_bounds(a), _bounds(b))}")
    if a.type == b.type == "choice" and (options := _option_changes(a, b)):
        out.append(f"{name} : {options}")
    if (a.help or "") != (b.help or ""):
        out.append(f"{name} : aide {_arrow(a.help or '', b.help or '')}")
    return out


def _form_changes(old: FormDefinition, new: FormDefinition) -> list[str]:
    out = []
    if old.version != new.version:
        out.append(f"Version : {old.version} → {new.version}")
    for attr, name in (("title", "Titre"), ("summary", "Résumé"), ("intro", "Introduction")):
        a, b = getattr(old, attr) or "", getattr(new, attr) or ""
        if a != b:
            out.append(f"{name} : {_arrow(a, b)}")
    if old.window != new.window:
        out.append(f"Période de dépôt : {_arrow(WINDOWS[old.window], WINDOWS[new.window])}")
    if _unique(old) != _unique(new):
        out.append(f"Unicité : {_arrow(_unique(old), _unique(new))}")
    if old.effective_date != new.effective_date:  # compared by field: a relabel is said once, above
        before = old.field(old.effective_date).label if old.effective_date else ""
        after = new.field(new.effective_date).label if new.effective_date else ""
        out.append(f"Date d'effet : {_arrow(before, after)}")
    if old.receipt.title != new.receipt.title:
        out.append(f"Justificatif : {_arrow(old.receipt.title, new.receipt.title)}")
    return out


def diff(old: FormDefinition, new: FormDefinition, on: date = date(2026, 1, 1)) -> dict[str, list[str]]:
    """What changed between two definitions, in French (checks rendered with parameters at ``on``)."""
    added: list[str] = []
    removed: list[str] = []
    changed = _form_changes(old, new)
    old_ids, new_ids = [f.id for f in old.fields], [f.id for f in new.fields]
    added += [_field_summary(f, new) for f in new.fields if f.id not in old_ids]
    removed += [_field_summary(f, old) for f in old.fields if f.id not in new_ids]
    for f in old.fields:
        if f.id in new_ids:
            changed += _field_changes(f, new.field(f.id), old, new)
    common_old = [i for i in old_ids if i in new_ids]
    common_new = [i for i in new_ids if i in old_ids]
    if common_old != common_new:
        changed.append(
            "Ordre des champs : "
            + ", ".join(_q(new.field(i).label) for i in common_old)
            + " → "
            + ", ".join(_q(new.field(i).label) for i in common_new)
        )
    for items, render_old, render_new in (
        (
            (old.checks, new.checks),
            lambda c: "Contrôle : " + check_sentence(c, old, on),
            lambda c: "Contrôle : " + check_sentence(c, new, on),
        ),
        (
            (old.guards, new.guards),
            lambda g: "Condition d'accès : " + guard_sentence(g.guard),
            lambda g: "Condition d'accès : " + guard_sentence(g.guard),
        ),
        (
            (old.effects, new.effects),
            lambda e: "Effet : " + effect_sentence(e, old),
            lambda e: "Effet : " + effect_sentence(e, new),
        ),
        (
            (old.derived, new.derived),
            lambda d: "Valeur calculée : " + derived_sentence(d, old, on),
            lambda d: "Valeur calculée : " + derived_sentence(d, new, on),
        ),
    ):
        plus, minus = _multiset_diff(list(items[0]), list(items[1]), render_old, render_new)
        added += plus
        removed += minus
    return {"ajoutés": added, "supprimés": removed, "modifiés": changed}
