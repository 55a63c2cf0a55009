"""The daily hand-over: what was declared to a Caf, for the system that pays the AAH.

Each declaration of a Caf goes in exactly one batch (``export_batch``, one per Caf and day). The
first export of a day creates its batch, in one transaction: every declaration of the Caf not in
a batch yet and received before the cutoff (the end of that day in Paris, or now if earlier) gets
the batch's id. Exporting that day again rebuilds the files from the batch's own declarations:
same order (declaration id), the batch's own times, no "now" in the content, so the same bytes.
Two exports of the same day at once make one batch (UNIQUE (caf_code, day); the loser of the race
runs again and finds it). Every export call leaves one audit row ``handover_exported``.

The files (schema version :data:`SCHEMA_VERSION`, docs/handover.md): JSON Lines (one object per
declaration, UTF-8, keys sorted, ``\\n``) and CSV (UTF-8 with BOM, ``;``, the same envelope as
columns, then the values, derived values and known state as JSON text; no cell a spreadsheet
could read as a formula).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from data.store import Store, Tx
from forms import FormDefinition, FormError
from forms import fmt as _fmt
from forms.versions import load_version
from rules import engine
from services import audit, declarations, timeline
from services.accounts import Account
from services.backoffice import caf_of
from services.clock import PARIS, now_utc, today
from services.config import Settings
from services.exports import safe_text

SCHEMA_VERSION = 1
FIRST_DAY = date(2000, 1, 1)  # earlier days are refused (no declaration can be that old)
CENT = Decimal("0.01")


class Refused(ValueError):
    """The export cannot be made (a day in the future, an unknown Caf): the French reason."""


@dataclass(frozen=True)
class Batch:
    id: int
    caf_code: str
    day: date
    cutoff: datetime  # naive UTC: the batch took the declarations received before it
    created_at: datetime  # naive UTC: when the batch was created (the files' generation time)
    declarations: int  # how many declarations the batch took
    csv: bytes
    jsonl: bytes


def export_day(store: Store, settings: Settings, account: Account, day: date) -> Batch:
    """The hand-over of ``day`` for the agent's Caf (any other role: :class:`partner.NotAllowed`)."""
    caf = caf_of(account)
    return export_day_for_caf(store, settings, caf, day, account.id)


def export_day_for_caf(
    store: Store, settings: Settings, caf_code: str, day: date, actor_id: int | None
) -> Batch:
    """The hand-over of ``day`` for a Caf: its batch, created on the first call of that day.

    ``actor_id`` is the agent's account (None: the command line). Raises :class:`Refused` for a day
    in the future or before :data:`FIRST_DAY`, or a Caf the store does not know.
    """
    code = caf_code.strip() if isinstance(caf_code, str) else ""
    if not isinstance(day, date) or isinstance(day, datetime):
        raise Refused("Jour invalide : indiquez une date (AAAA-MM-JJ).")
    if not code or store.scalar("SELECT count(*) FROM caf WHERE code = ?", [code]) == 0:
        raise Refused(f"Caf inconnue : {safe_text(code[:10]) or '(vide)'}.")
    on = today(settings)
    if day > on:
        raise Refused(
            f"Le {_fmt.day(day)} est dans le futur : sa remise pourra être préparée à partir de ce jour."
        )
    if day < FIRST_DAY:
        raise Refused(f"Le {_fmt.day(day)} est trop ancien : indiquez un jour à partir du 01/01/2000.")
    now = now_utc(settings)
    cutoff = min(_paris_midnight(day + timedelta(days=1)), now)
    batch_id = store.write(lambda tx: _take(tx, code, day, cutoff, now, actor_id))
    row = store.one("SELECT * FROM export_batch WHERE id = ?", [batch_id])
    assert row is not None, batch_id
    return build(store, row)


def _paris_midnight(day: date) -> datetime:
    """Midnight in Paris at the start of ``day``, as the store's naive UTC (as backoffice reads days)."""
    return datetime.combine(day, time(), PARIS).astimezone(UTC).replace(tzinfo=None)


def _take(tx: Tx, caf: str, day: date, cutoff: datetime, now: datetime, actor_id: int | None) -> int:
    """The batch of (caf, day): the existing one, or a new one taking the Caf's backlog."""
    found = tx.one("SELECT id FROM export_batch WHERE caf_code = ? AND day = ?", [caf, day])
    if found is not None:
        batch_id = int(found["id"])
    else:
        batch_id = int(tx.scalar("SELECT nextval('export_batch_seq')"))
        # The batch row first: a concurrent export of the same day waits on its unique key, then
        # loses (Conflict), runs again and finds this batch.
        tx.execute(
            "INSERT INTO export_batch (id, caf_code, day, cutoff, created_at, created_by, schema_version, "
            "declarations) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            [batch_id, caf, day, cutoff, now, actor_id, SCHEMA_VERSION],
        )
        tx.execute(
            "UPDATE declaration SET export_batch_id = ? "
            "WHERE caf_code = ? AND export_batch_id IS NULL AND received_at < ?",
            [batch_id, caf, cutoff],
        )
        taken = tx.scalar("SELECT count(*) FROM declaration WHERE export_batch_id = ?", [batch_id])
        tx.execute("UPDATE export_batch SET declarations = ? WHERE id = ?", [taken, batch_id])
    audit.record(tx, actor_id, "handover_exported", f"lot:{batch_id}")
    return batch_id


def file_names(batch: Batch) -> tuple[str, str]:
    """``("remise-441-2026-12-10-v1.csv", "remise-441-2026-12-10-v1.jsonl")``."""
    stem = f"remise-{batch.caf_code}-{batch.day.isoformat()}-v{SCHEMA_VERSION}"
    return f"{stem}.csv", f"{stem}.jsonl"


# -- the content ------------------------------------------------------------------------------

_DECLARATIONS = (
    "SELECT d.id, d.receipt_number, d.verification_code, d.form_id, d.form_version, d.caf_code, "
    "d.received_at, d.effective_date, d.campaign, d.esat_id, d.processed_at, d.known_before, d.derived, "
    "e.siret AS esat_siret, w.allocataire, w.person_role, w.last_name, w.first_name, w.birth_date, "
    "d.worker_id "
    "FROM declaration d LEFT JOIN worker w ON w.id = d.worker_id LEFT JOIN esat e ON e.id = d.esat_id "
    "WHERE d.export_batch_id = ? ORDER BY d.id"
)
_VALUES = (
    "SELECT v.declaration_id, v.field_id, v.number, v.day, v.text FROM declaration_value v "
    "JOIN declaration d ON d.id = v.declaration_id WHERE d.export_batch_id = ? "
    "ORDER BY v.declaration_id, v.field_id"
)


def build(store: Store, batch: dict[str, Any]) -> Batch:
    """The files of a stored batch (a row of ``export_batch``), from its own declarations."""
    values: dict[int, list[dict[str, Any]]] = {}
    for v in store.all(_VALUES, [batch["id"]]):
        values.setdefault(v["declaration_id"], []).append(v)
    forms = _Forms()

    def rate_on(row: dict[str, Any], day: date) -> Decimal | None:
        """The ESAT rate the Caf knew on ``day`` (timeline), for declarations without stored
        derived values: the same rule as their justificatif (declarations.stored_derived)."""
        if row["worker_id"] is None:
            return None
        return timeline.known_state(store, row["worker_id"], day)["rate_esat"]

    records = [
        record(batch, row, values.get(row["id"], []), forms, rate_on)
        for row in store.all(_DECLARATIONS, [batch["id"]])
    ]
    return Batch(
        id=int(batch["id"]),
        caf_code=batch["caf_code"],
        day=batch["day"],
        cutoff=batch["cutoff"],
        created_at=batch["created_at"],
        declarations=int(batch["declarations"]),
        csv=to_csv(records),
        jsonl=to_jsonl(records),
    )


class _Forms:
    """The definitions declarations were filed under, loaded once per (form, version)."""

    def __init__(self) -> None:
        self._current = declarations.forms()
        self._loaded: dict[tuple[str, int], FormDefinition | None] = {}

    def get(self, form_id: str, version: int) -> FormDefinition | None:
        key = (form_id, version)
        if key not in self._loaded:
            current = self._current.get(form_id)
            if current is not None and current.version == version:
                self._loaded[key] = current
            else:
                try:
                    self._loaded[key] = load_version(form_id, version)
                except (FormError, OSError):  # a form no longer known: values typed by column only
                    self._loaded[key] = None
        return self._loaded[key]


def record(
    batch: dict[str, Any],
    row: dict[str, Any],
    value_rows: list[dict[str, Any]],
    forms: _Forms,
    rate_on: Callable[[dict[str, Any], date], Decimal | None],
) -> dict[str, Any]:
    """One line of the hand-over (schema v1): plain JSON types only."""
    form = forms.get(row["form_id"], row["form_version"])
    types = {f.id: f.type for f in form.fields} if form else {}
    typed: dict[str, Any] = {}  # Python values, as services/declarations.get reads them
    for v in value_rows:
        if v["number"] is not None:
            typed[v["field_id"]] = Decimal(v["number"])
        elif v["day"] is not None:
            typed[v["field_id"]] = v["day"]
        elif types.get(v["field_id"]) in ("yesno", "certify"):
            typed[v["field_id"]] = v["text"] == "oui"
        else:
            typed[v["field_id"]] = v["text"]
    known = json.loads(row["known_before"]) if row["known_before"] else None
    derived: dict[str, str] = {}
    if row["derived"] is not None:  # frozen at filing, as on the justificatif
        derived = {d["id"]: d["value"] for d in json.loads(row["derived"])}
    elif form is not None:  # filed before derived values were stored: computed as its PDF is
        ref = (
            date(row["campaign"], 11, 30)
            if row["campaign"] is not None
            else _paris(row["received_at"]).date()
        )
        derived = engine.derived(form, typed, ref, {"rate_esat": rate_on(row, ref)})
    processed = row["processed_at"]
    if processed is not None and processed > batch["created_at"]:
        processed = None  # processed after the batch was made: the files stay as they were
    return {
        "schema_version": SCHEMA_VERSION,
        "batch_id": int(batch["id"]),
        "batch_day": batch["day"].isoformat(),
        "batch_created_at": _utc_text(batch["created_at"]),
        "caf_code": row["caf_code"],
        "declaration_id": int(row["id"]),
        "receipt_number": row["receipt_number"],
        "verification_code": row["verification_code"],
        "form_id": row["form_id"],
        "form_version": int(row["form_version"]),
        "received_at": _utc_text(row["received_at"]),
        "received_at_paris": _paris(row["received_at"]).isoformat(timespec="seconds"),
        "effective_date": _iso(row["effective_date"]),
        "campaign": row["campaign"],
        "esat_id": int(row["esat_id"]),
        "esat_siret": row["esat_siret"],
        "worker": {
            "allocataire": row["allocataire"],
            "person_role": row["person_role"],
            "last_name": row["last_name"],
            "first_name": row["first_name"],
            "birth_date": _iso(row["birth_date"]),
        },
        "values": {k: _json_value(v) for k, v in typed.items()},
        "derived": derived,
        "known_before": known,
        "processed_at": _utc_text(processed) if processed is not None else None,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    if isinstance(value, date):
        return value.isoformat()
    return value


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _utc_text(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _paris(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC).astimezone(PARIS)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def to_jsonl(records: Iterable[dict[str, Any]]) -> bytes:
    """One JSON object per line, keys sorted, UTF-8, each line ended by ``\\n``."""
    return "".join(_dumps(r) + "\n" for r in records).encode("utf-8")


# The CSV columns of schema v1, in order: (header, value of a record).
CSV_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("version_schema", lambda r: r["schema_version"]),
    ("lot", lambda r: r["batch_id"]),
    ("jour_lot", lambda r: r["batch_day"]),
    ("lot_cree_le", lambda r: r["batch_created_at"]),
    ("caf", lambda r: r["caf_code"]),
    ("declaration", lambda r: r["declaration_id"]),
    ("numero_recepisse", lambda r: r["receipt_number"]),
    ("code_verification", lambda r: r["verification_code"]),
    ("formulaire", lambda r: r["form_id"]),
    ("version_formulaire", lambda r: r["form_version"]),
    ("recue_le", lambda r: r["received_at"]),
    ("recue_le_paris", lambda r: r["received_at_paris"]),
    ("date_effet", lambda r: r["effective_date"]),
    ("campagne", lambda r: r["campaign"]),
    ("esat_id", lambda r: r["esat_id"]),
    ("esat_siret", lambda r: r["esat_siret"]),
    ("numero_allocataire", lambda r: r["worker"]["allocataire"]),
    ("role_personne", lambda r: r["worker"]["person_role"]),
    ("nom", lambda r: r["worker"]["last_name"]),
    ("prenom", lambda r: r["worker"]["first_name"]),
    ("date_naissance", lambda r: r["worker"]["birth_date"]),
    ("traitee_le", lambda r: r["processed_at"]),
    ("valeurs", lambda r: _dumps(r["values"])),
    ("derives", lambda r: _dumps(r["derived"])),
    ("connu_avant", lambda r: _dumps(r["known_before"]) if r["known_before"] is not None else None),
)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    return safe_text(str(value))


def to_csv(records: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM, ``;``, a header row then one row per declaration (``\\r\\n``)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([name for name, _ in CSV_COLUMNS])
    for r in records:
        writer.writerow([_csv_cell(get(r)) for _, get in CSV_COLUMNS])
    return out.getvalue().encode("utf-8-sig")
