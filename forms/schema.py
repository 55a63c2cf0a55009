"""The schema of a form definition (``forms/definitions/<id>.yaml``), as pydantic models.

Vocabulary is closed: field types, condition operators and check kinds are listed here;
their behaviour lives in ``rules/``. Unknown keys are errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PField

FieldType = Literal["amount", "rate", "date", "choice", "yesno", "certify", "text"]
Level = Literal["error", "warning"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(Strict):
    """One test on an earlier field, or a combination (``all`` / ``any``). Never ``eval``."""

    field: str | None = None
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = PField(default=None, alias="in")
    not_in: list[Any] | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    eq_field: str | None = None
    ne_field: str | None = None
    empty: bool | None = None
    not_empty: bool | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        ops = [k for k in OPERATORS if getattr(self, _attr(k)) is not None]
        if self.all is not None or self.any is not None:
            if self.field is not None or ops or (self.all is not None and self.any is not None):
                raise ValueError("'all'/'any' s'emploie seul")
        elif self.field is None or len(ops) != 1:
            raise ValueError("une condition porte sur un champ ('field') avec un seul opérateur")
        return self

    def operator(self) -> tuple[str, Any]:
        for op in OPERATORS:
            value = getattr(self, _attr(op))
            if value is not None:
                return op, value
        raise ValueError("no operator")

    def fields(self) -> set[str]:
        """Every field id this condition reads."""
        if self.all is not None or self.any is not None:
            return set().union(*(c.fields() for c in (self.all or self.any or [])))
        other = {x for x in (self.eq_field, self.ne_field) if x}
        return ({self.field} if self.field else set()) | other


OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "eq_field",
    "ne_field",
    "empty",
    "not_empty",
)


def _attr(op: str) -> str:
    return "in_" if op == "in" else op


class Option(Strict):
    value: str
    label: str


class Field(Strict):
    id: str = PField(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    label: str
    help: str | None = None
    required: bool = True
    visible_if: Condition | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False  # min < value instead of min <= value
    max_exclusive: bool = False
    options: list[Option] | None = None
    options_from: str | None = None  # a reference list in rules/parametres
    max_length: int = 200

    @model_validator(mode="after")
    def _choices(self) -> Field:
        has = self.options is not None or self.options_from is not None
        if (self.type == "choice") != has:
            raise ValueError(
                "'options' ou 'options_from' est exigé pour un champ 'choice', et seulement pour lui"
            )
        return self


class _Check(Strict):
    field: str
    level: Level = "error"
    when: Condition | None = None


class LteField(_Check):
    """field ≤ other."""

    check: Literal["lte_field"]
    other: str


class GtField(_Check):
    """field > other."""

    check: Literal["gt_field"]
    other: str


class LtField(_Check):
    """field < other."""

    check: Literal["lt_field"]
    other: str


class NeField(_Check):
    """field ≠ other."""

    check: Literal["ne_field"]
    other: str


class MaxSmicRatio(_Check):
    """field ≤ param × SMIC mensuel (× the worker's known rate when ``prorata``)."""

    check: Literal["max_smic_ratio"]
    param: str
    prorata: bool = False


class MinSmicRatio(_Check):
    """field ≥ param × SMIC mensuel (× the worker's known rate when ``prorata``)."""

    check: Literal["min_smic_ratio"]
    param: str
    prorata: bool = False


class SumMatches(_Check):
    """|field + other − total| ≤ param (euros)."""

    check: Literal["sum_matches"]
    other: str
    total: str
    param: str


class SumAtMost(_Check):
    """field + other ≤ param (e.g. ESAT rate + milieu ordinaire rate ≤ 100 %)."""

    check: Literal["sum_at_most"]
    other: str
    param: str


class OneIsZero(_Check):
    """field = 0 or other = 0."""

    check: Literal["one_is_zero"]
    other: str


class DateWindow(_Check):
    """today − param_before months ≤ field ≤ today + param_after months."""

    check: Literal["date_window"]
    param_before: str
    param_after: str


class DateFrom(_Check):
    """field ≥ the date held by a parameter (e.g. the décrets' date of effect)."""

    check: Literal["date_from"]
    param: str


class DateWithinYears(_Check):
    """field ≤ other + param years."""

    check: Literal["date_within_years"]
    other: str
    param: str


class AfterKnown(_Check):
    """field > what the Caf knows (a context date such as the start of the double activity)."""

    check: Literal["after_known"]
    known: str


class NotBeforeKnown(_Check):
    """field ≥ what the Caf knows (a context date such as the last declared change)."""

    check: Literal["not_before_known"]
    known: str


class BetweenSmicRatio(_Check):
    """param_min × SMIC ≤ field ≤ param_max × SMIC (× the worker's known rate when ``prorata``)."""

    check: Literal["between_smic_ratio"]
    param_min: str
    param_max: str
    prorata: bool = False


class AideAuPoste(_Check):
    """field ≤ the aide au poste of art. R243-6 CASF for the ESAT part ``other`` + tolerance:
    ``param`` × SMIC × rate while ``other`` ≤ ``param_threshold`` × SMIC × rate, then reduced by
    ``param_reduction`` point per point of ESAT part beyond it."""

    check: Literal["aide_au_poste"]
    other: str
    param: str
    param_threshold: str
    param_reduction: str
    param_tolerance: str


class SumKnownAtMost(_Check):
    """field + what the Caf knows (a context rate such as ``rate_mo``) ≤ param."""

    check: Literal["sum_known_at_most"]
    known: str
    param: str


class MatchesKnown(_Check):
    """field = what the Caf knows (a context value such as the known ESAT rate)."""

    check: Literal["matches_known"]
    known: str


Check = Annotated[
    LteField
    | GtField
    | LtField
    | NeField
    | MaxSmicRatio
    | MinSmicRatio
    | SumMatches
    | SumAtMost
    | OneIsZero
    | DateWindow
    | DateFrom
    | DateWithinYears
    | AfterKnown
    | NotBeforeKnown
    | MatchesKnown
    | BetweenSmicRatio
    | AideAuPoste
    | SumKnownAtMost,
    PField(discriminator="check"),
]

CONTEXT_KEYS = (
    "rate_esat",
    "rate_mo",
    "double_activity",
    "status",
    "double_activity_since",
    "last_change_date",
)
WORKER_STATE = ("rate_esat", "rate_mo", "double_activity", "double_activity_since", "status", "return_date")


class Guard(Strict):
    """A precondition on what the Caf knows of the worker; its message is in rules/messages.py."""

    guard: Literal["no_double_activity", "double_activity", "active", "inactive"]


class Effect(Strict):
    """How a filed declaration changes the worker's known state."""

    set: Literal["rate_esat", "rate_mo", "double_activity", "double_activity_since", "status", "return_date"]
    from_field: str | None = None
    value: Any = None
    when: Condition | None = None

    @model_validator(mode="after")
    def _source(self) -> Effect:
        if (self.from_field is None) == ("value" not in self.model_fields_set):
            raise ValueError(
                "un effet prend sa valeur d'un champ ('from_field') ou d'une constante ('value')"
            )
        return self


class Derived(Strict):
    """A display-only value computed from the declared ones (recap and PDF)."""

    id: str = PField(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    compute: Literal["smic_percentage", "abattement_band"]
    field: str


class Receipt(Strict):
    title: str


class FormDefinition(Strict):
    id: str = PField(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = PField(ge=1)
    title: str
    summary: str
    intro: str | None = None
    window: Literal["certificat", "always"]
    unique_per: Literal["campaign", "effective_date"] | None = None
    effective_date: str | None = None  # the field holding the date the change takes effect
    guards: list[Guard] = []
    fields: list[Field] = PField(min_length=1)
    checks: list[Check] = []
    effects: list[Effect] = []
    derived: list[Derived] = []
    receipt: Receipt

    @model_validator(mode="after")
    def _references(self) -> FormDefinition:
        seen: set[str] = set()
        for f in self.fields:
            if f.id in seen:
                raise ValueError(f"champ '{f.id}' défini deux fois")
            if f.visible_if is not None:
                unknown = f.visible_if.fields() - seen
                if unknown:
                    raise ValueError(
                        f"la condition du champ '{f.id}' porte sur un champ inconnu ou défini après lui: "
                        + ", ".join(sorted(unknown))
                    )
            seen.add(f.id)
        for i, c in enumerate(self.checks):
            refs = {c.field} | {getattr(c, k) for k in ("other", "total") if hasattr(c, k)}
            if hasattr(c, "known") and c.known not in CONTEXT_KEYS:
                raise ValueError(f"checks[{i}] : donnée connue inconnue '{c.known}'")
            refs |= c.when.fields() if c.when else set()
            unknown = refs - seen
            if unknown:
                raise ValueError(f"checks[{i}] porte sur un champ inconnu: {', '.join(sorted(unknown))}")
        for d in self.derived:
            if d.field not in seen:
                raise ValueError(f"derived '{d.id}' porte sur un champ inconnu: {d.field}")
        for i, e in enumerate(self.effects):
            refs = ({e.from_field} if e.from_field else set()) | (e.when.fields() if e.when else set())
            if refs - seen:
                raise ValueError(f"effects[{i}] porte sur un champ inconnu: {', '.join(sorted(refs - seen))}")
        if self.effective_date is not None and self.effective_date not in seen:
            raise ValueError(f"effective_date porte sur un champ inconnu: {self.effective_date}")
        if self.unique_per == "effective_date" and self.effective_date is None:
            raise ValueError("unique_per: effective_date exige 'effective_date'")
        return self

    def field(self, field_id: str) -> Field:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)


class Answer(Strict):
    value: str
    label: str
    next: str | None = None  # the next question's id
    form: str | None = None  # or the declaration type it leads to

    @model_validator(mode="after")
    def _one_target(self) -> Answer:
        if (self.next is None) == (self.form is None):
            raise ValueError("une réponse mène à une question ('next') ou à un formulaire ('form')")
        return self


class Question(Strict):
    id: str = PField(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    answers: list[Answer] = PField(min_length=2)


class QuestionTree(Strict):
    """Questions that lead to one declaration type (the changement de situation)."""

    id: str = PField(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    summary: str
    window: Literal["certificat", "always"]
    start: str
    questions: list[Question] = PField(min_length=1)

    @model_validator(mode="after")
    def _graph(self) -> QuestionTree:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question définie deux fois")
        if self.start not in ids:
            raise ValueError(f"question de départ inconnue: {self.start}")
        for q in self.questions:
            for a in q.answers:
                if a.next is not None and a.next not in ids:
                    raise ValueError(
                        f"la réponse '{a.value}' de '{q.id}' mène à une question inconnue: {a.next}"
                    )

        # Every path ends on a form: no cycle.
        def walk(qid: str, seen: tuple[str, ...]) -> None:
            if qid in seen:
                raise ValueError(f"cycle de questions: {' → '.join((*seen, qid))}")
            for a in self.question(qid).answers:
                if a.next:
                    walk(a.next, (*seen, qid))

        walk(self.start, ())
        return self

    def question(self, qid: str) -> Question:
        return next(q for q in self.questions if q.id == qid)

    def forms(self) -> list[str]:
        return [a.form for q in self.questions for a in q.answers if a.form]
