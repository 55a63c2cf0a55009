"""The schema of a form definition (``forms/definitions/<id>.yaml``), as pydantic models.

Vocabulary is closed: field types, condition operators and check kinds are listed here;
their behaviour lives in ``rules/``. Unknown keys are errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PField

FieldType = Literal["amount", "rate", "date", "choice", "yesno", "text"]
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
        return {self.field} if self.field else set()


OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "empty", "not_empty")


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


Check = Annotated[
    LteField | GtField | LtField | NeField | MaxSmicRatio | MinSmicRatio | SumMatches,
    PField(discriminator="check"),
]


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
    unique_per: Literal["campaign"] | None = None
    fields: list[Field] = PField(min_length=1)
    checks: list[Check] = []
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
            refs |= c.when.fields() if c.when else set()
            unknown = refs - seen
            if unknown:
                raise ValueError(f"checks[{i}] porte sur un champ inconnu: {', '.join(sorted(unknown))}")
        for d in self.derived:
            if d.field not in seen:
                raise ValueError(f"derived '{d.id}' porte sur un champ inconnu: {d.field}")
        return self

    def field(self, field_id: str) -> Field:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)
