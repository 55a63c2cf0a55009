"""Reliability DATA-04: SIGKILL the app process during concurrent submissions, many times.

    .venv/bin/python -m scripts.kill_submissions [--runs 50] [--concurrency 100] [--db PATH] [--seed N]

The parent prepares a DuckDB store (the demo, seeded with "today" inside the certificat
window; ``--db PATH`` reuses PATH when it exists, seeds it otherwise; by default a fresh store
in a temporary directory). For each run it plans ``--concurrency`` submissions, closes the
store (DuckDB allows one process per file) and starts a child process
(``python -m scripts.kill_submissions child``) that opens the store and files them from as
many threads through the real ``services.declarations.submit``, as the demo ESAT manager, each
with a pre-generated idempotency key. The child prints ``ACK <key> <receipt>`` (flushed) only
once ``submit`` has returned, ``REFUSED <key> <receipt>`` for a declaration refused because
another one with the same natural key exists, ``ERROR <key> <type>`` otherwise.

The plan is mostly certificats d'emploi for distinct workers (then changes of activity rate
once every worker has one), plus "double clicks" (a second thread with the same key) and
"rivals" (another key for the same natural key). Every other run, the child checkpoints its
write-ahead log into the database file every 64 KB (about every 10 declarations) instead of
DuckDB's 16 MB, so that kills also land during checkpoints. The parent SIGKILLs the child at a
random moment (after a random number of answers, or a random time into the commits), reopens the
store and checks that:

- every acknowledged key of every run so far is stored with the acknowledged receipt, and every
  receipt given in a refusal exists (otherwise: lost);
- no key, natural key, certificat (worker, campaign) or change (form, worker, date of effect)
  has two declarations, and no key was acknowledged with two receipts (otherwise: duplicate);
- every declaration of the script has its values, its outbox message and one
  ``declaration_submitted`` audit row, and no values, message or audit row is orphaned
  (otherwise: partial);
- ``services.audit.verify`` finds the chain intact.

Then it files again a few acknowledged and unacknowledged keys: the same key must give the same
declaration (or file it once when the killed child had not committed it). One line per run and
a total are printed; the exit status is 1 when anything is lost, duplicated, partial, broken or
failed. The measured run is recorded in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from data.demo import DEMO_ESAT_LOGIN, RG_MAX_BP, RG_MIN_BP, certificat_amounts, seed_demo, smic_monthly
from data.store import Store
from rules import calendar
from services import accounts, audit, declarations
from services.accounts import Account
from services.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 12, 10)  # inside the certificat window of campaign 2026
KEY_PREFIX = "kill-"
CERTIFICAT = "certificat_emploi"
CHANGE = "modification_activite"
DOUBLE_SHARE = 10  # % of the threads that repeat another thread's key (a double click)
RIVAL_SHARE = 5  # % of the threads that file another key for another thread's natural key
RETRIES = 3  # acknowledged keys, and unacknowledged ones, filed again after each kill
CHILD_TIMEOUT = 300.0  # seconds without the kill point being reached: the child is stuck
CHANGE_WINDOW = timedelta(days=85)  # dates of effect stay within the 3 months after today
# Every other run, the child checkpoints its WAL into the database file every few declarations
# (DuckDB's default is every 16 MB of WAL, which a run never reaches), so kills land in checkpoints.
SMALL_CHECKPOINT = "64KB"
COMMIT_PHASE = 0.05  # seconds per concurrent submission: the child commits all of them within that


@dataclass(frozen=True)
class Item:
    """One thread's submission."""

    key: str
    worker_id: int
    form_id: str
    payload: dict[str, Any]
    role: str  # "primary", "double" (same key as a primary) or "rival" (same natural key)
    values: int  # the value rows the declaration must have


@dataclass
class Findings:
    lost: set[str] = field(default_factory=set)
    duplicates: set[str] = field(default_factory=set)
    partial: set[str] = field(default_factory=set)
    chain: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.partial or self.chain)


@dataclass
class ChildOutcome:
    lines: list[str]
    killed: bool  # died of our SIGKILL (False: it had already finished, or crashed)
    returncode: int
    stuck: bool


@dataclass
class RunResult:
    run: int
    checkpoint: str | None = None  # DuckDB checkpoint_threshold of the child (None: default)
    attempted: int = 0
    acknowledged: int = 0  # ACK lines (a double click is two)
    refused: int = 0
    unacknowledged_committed: int = 0  # keys stored though their thread was killed before answering
    uncommitted: int = 0  # primary keys neither stored nor refused: killed before their commit
    errors: int = 0
    kill_after: int = 0  # answers before the kill
    kill_delay: float = 0.0  # then seconds before the kill
    killed: bool = False
    lost: int = 0
    duplicates: int = 0
    partial: int = 0
    reopen_failed: bool = False
    chain_broken: bool = False
    retried: int = 0
    retry_failures: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


# -- the store and the plan ---------------------------------------------------------------------


def prepare_store(db: Path, today: date = TODAY) -> None:
    """Seed the demo into ``db`` unless it already exists."""
    if db.exists():
        return
    store = Store(str(db))
    try:
        seed_demo(store, today=today, password=secrets.token_urlsafe(16), secret=load_settings().secret)
    finally:
        store.close()


def demo_account(store: Store) -> Account:
    row = store.one("SELECT id FROM account WHERE login = ?", [DEMO_ESAT_LOGIN])
    found = accounts.get(store, row["id"]) if row else None
    if found is None:
        raise RuntimeError(f"{DEMO_ESAT_LOGIN} is not in the store: not a demo store")
    return found


def plan_run(
    store: Store, settings: Settings, account: Account, tag: str, concurrency: int, rng: random.Random
) -> list[Item]:
    """``concurrency`` valid submissions: certificats for workers without one, then rate changes."""
    on = settings.today or TODAY
    campaign = calendar.campaign_of(on)
    forms = declarations.forms()
    workers = store.all(
        "SELECT w.id, w.rate_esat, w.double_activity, w.status, "
        "(SELECT max(d.effective_date) FROM declaration d WHERE d.worker_id = w.id) AS last_change, "
        "(SELECT count(*) FROM declaration d WHERE d.worker_id = w.id AND d.form_id = ? AND d.campaign = ?) "
        "AS certificats "
        "FROM worker w WHERE w.esat_id = ? AND w.status = 'ACTIVE' ORDER BY w.id",
        [CERTIFICAT, campaign, account.esat_id],
    )
    rng.shuffle(workers)
    for_certificat = [w for w in workers if not w["certificats"]]
    for_change = [w for w in workers if w["certificats"] and not w["double_activity"]]
    doubles = concurrency * DOUBLE_SHARE // 100
    rivals = concurrency * RIVAL_SHARE // 100
    primaries: list[Item] = []
    for w in for_certificat + for_change:
        if len(primaries) == concurrency - doubles - rivals:
            break
        key = f"{KEY_PREFIX}{tag}-{len(primaries):03d}"
        if not w["certificats"]:
            form_id, payload = CERTIFICAT, certificat_payload(w["rate_esat"], campaign, rng)
        else:
            effective = max(on, (w["last_change"] or on) + timedelta(days=1))
            if effective > on + CHANGE_WINDOW:
                continue
            form_id, payload = CHANGE, change_payload(w["rate_esat"], effective)
        report = declarations.check(store, settings, account, w["id"], forms[form_id], payload)
        if not report.valid:
            raise AssertionError(f"planned an invalid {form_id} for worker {w['id']}: {report.errors}")
        values = sum(v is not None for v in report.values.values())
        primaries.append(Item(key, w["id"], form_id, payload, "primary", values))
    if len(primaries) < concurrency - doubles - rivals:
        raise RuntimeError("not enough workers left for another run: use a fresh store")
    items = list(primaries)
    for twin in rng.sample(primaries, doubles):
        items.append(Item(twin.key, twin.worker_id, twin.form_id, twin.payload, "double", twin.values))
    for n, twin in enumerate(rng.sample(primaries, rivals)):
        key = f"{KEY_PREFIX}{tag}-r{n:02d}"
        items.append(Item(key, twin.worker_id, twin.form_id, twin.payload, "rival", twin.values))
    rng.shuffle(items)
    return items


def certificat_payload(rate: Decimal | None, campaign: int, rng: random.Random) -> dict[str, Any]:
    smic = smic_monthly(date(campaign, 11, 30))
    amounts = certificat_amounts(smic, rate or Decimal(100), rng.randint(RG_MIN_BP, RG_MAX_BP))
    return {k: f"{v:.2f}".replace(".", ",") for k, v in amounts.items()}


def change_payload(rate: Decimal | None, effective: date) -> dict[str, Any]:
    before = rate or Decimal(100)
    up = before < 60
    after = before + 10 if up else before - 10
    return {
        "sens": "augmentation" if up else "reduction",
        "date_changement": effective.strftime("%d/%m/%Y"),
        "taux_avant": f"{before:.0f}",
        "nouveau_taux": f"{after:.0f}",
        "certification": True,
    }


# -- the child: the app process that gets killed -----------------------------------------------


def child(db: str, plan_path: str) -> int:
    """Open the store, file every planned item from its own thread, print each answer."""
    settings = load_settings()
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    items = [Item(**i) for i in plan["items"]]
    store = Store(db)
    threshold = plan.get("checkpoint_threshold")
    if threshold:
        if not re.fullmatch(r"\d+[KMG]?B", threshold):
            raise ValueError(f"bad checkpoint threshold {threshold!r}")
        store.execute(f"SET checkpoint_threshold = '{threshold}'")
    account = accounts.get(store, plan["account_id"])
    assert account is not None
    forms = declarations.forms()
    first = items[0]
    declarations.check(store, settings, account, first.worker_id, forms[first.form_id], first.payload)
    barrier = threading.Barrier(len(items) + 1)
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def work(item: Item) -> None:
        barrier.wait()
        form = forms[item.form_id]
        try:
            decl = declarations.submit(
                store, settings, account, item.worker_id, form, dict(item.payload), item.key
            )
        except declarations.AlreadyDeclared as exc:
            say(f"REFUSED {item.key} {exc.existing.receipt_number}")
        except Exception as exc:
            say(f"ERROR {item.key} {type(exc).__name__}: {str(exc)[:200]!r}")
        else:
            say(f"ACK {item.key} {decl.receipt_number}")

    threads = [threading.Thread(target=work, args=(item,), daemon=True) for item in items]
    for t in threads:
        t.start()
    barrier.wait()
    say("GO")
    for t in threads:
        t.join()
    say("DONE")
    store.close()
    return 0


def run_child(
    db: Path,
    plan_path: Path,
    env: Mapping[str, str],
    kill_after: int,
    delay: float,
    log_path: Path,
    timeout: float = CHILD_TIMEOUT,
) -> ChildOutcome:
    """Start the child, SIGKILL it ``delay`` s after its ``kill_after``-th answer, collect its lines.

    The child prints GO once its threads are released; answers are counted from then on.
    """
    cmd = [
        sys.executable,
        "-m",
        "scripts.kill_submissions",
        "child",
        "--db",
        str(db),
        "--plan",
        str(plan_path),
    ]
    with log_path.open("ab") as err:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            cmd, cwd=ROOT, env=dict(env), stdout=subprocess.PIPE, stderr=err, text=True, encoding="utf-8"
        )
    lines: list[str] = []
    state = {"go": False, "answers": 0, "eof": False}
    cond = threading.Condition()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.endswith("\n"):  # cut by the kill: never a complete answer
                break
            with cond:
                lines.append(line.rstrip("\n"))
                if line.startswith("GO"):
                    state["go"] = True
                elif line.startswith(("ACK ", "REFUSED ", "ERROR ")):
                    state["answers"] += 1
                cond.notify_all()
        with cond:
            state["eof"] = True
            cond.notify_all()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with cond:
        reached = cond.wait_for(
            lambda: state["eof"] or (state["go"] and state["answers"] >= kill_after), timeout
        )
    if reached and delay:
        time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()
    return ChildOutcome(lines, proc.returncode == -signal.SIGKILL, proc.returncode, stuck=not reached)


def parse_answers(lines: Iterable[str]) -> tuple[int, dict[str, str], dict[str, str], list[str], set[str]]:
    """(ACK lines, acknowledged key → receipt, refused key → existing receipt, errors, conflicts).

    A conflict is a key acknowledged with two different receipts (a duplicate).
    """
    acks = 0
    acked: dict[str, str] = {}
    refused: dict[str, str] = {}
    errors: list[str] = []
    conflicts: set[str] = set()
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind == "ACK":
            acks += 1
            key, receipt = rest.split(" ", 1)
            if acked.get(key, receipt) != receipt:
                conflicts.add(f"key {key} acknowledged as {acked[key]} and {receipt}")
            acked[key] = receipt
        elif kind == "REFUSED":
            key, receipt = rest.split(" ", 1)
            refused[key] = receipt
        elif kind == "ERROR":
            errors.append(rest)
    return acks, acked, refused, errors, conflicts


# -- the checks ---------------------------------------------------------------------------------


def check_store(
    store: Store, acked: Mapping[str, str], refused: Mapping[str, str], expected_values: Mapping[str, int]
) -> Findings:
    """What is lost, duplicated or partial in the store, and whether the audit chain holds.

    ``acked``: key → receipt of every acknowledged submission; ``refused``: key → receipt given
    by a refusal (another declaration with the same natural key); ``expected_values``: key →
    number of value rows of each planned declaration.
    """
    found = Findings()
    stored = {
        r["idempotency_key"]: r["receipt_number"]
        for r in store.all(
            "SELECT idempotency_key, receipt_number FROM declaration WHERE starts_with(idempotency_key, ?)",
            [KEY_PREFIX],
        )
    }
    for key, receipt in acked.items():
        if stored.get(key) != receipt:
            found.lost.add(f"acknowledged {key} ({receipt}): stored as {stored.get(key)}")
    receipts = {r["receipt_number"] for r in store.all("SELECT receipt_number FROM declaration")}
    for key, receipt in refused.items():
        if receipt not in receipts:
            found.lost.add(f"refusal of {key} pointed to {receipt}, which is not stored")

    duplicate_queries = {
        "key": "SELECT idempotency_key AS k, count(*) AS n FROM declaration GROUP BY 1 HAVING n > 1",
        "natural key": "SELECT natural_key AS k, count(*) AS n FROM declaration "
        "WHERE natural_key IS NOT NULL GROUP BY 1 HAVING n > 1",
        "certificat": "SELECT worker_id || ':' || campaign AS k, count(*) AS n FROM declaration "
        "WHERE form_id = ? GROUP BY 1 HAVING n > 1",
        "change": "SELECT form_id || ':' || worker_id || ':' || effective_date AS k, count(*) AS n "
        "FROM declaration WHERE form_id <> ? AND effective_date IS NOT NULL GROUP BY 1 HAVING n > 1",
    }
    for what, sql in duplicate_queries.items():
        for row in store.all(sql, [CERTIFICAT] if "?" in sql else []):
            found.duplicates.add(f"{what} {row['k']}: {row['n']} declarations")

    for row in store.all(
        "SELECT d.idempotency_key AS k, d.receipt_number AS r, "
        "(SELECT count(*) FROM declaration_value v WHERE v.declaration_id = d.id) AS n_values, "
        "(SELECT count(*) FROM outbox o WHERE o.declaration_id = d.id) AS n_outbox, "
        "(SELECT count(*) FROM audit_log a WHERE a.action = 'declaration_submitted' "
        "AND a.object_ref = d.receipt_number) AS n_audit "
        "FROM declaration d WHERE starts_with(d.idempotency_key, ?)",
        [KEY_PREFIX],
    ):
        want = expected_values.get(row["k"])
        if (want is None and row["n_values"] == 0) or (want is not None and row["n_values"] != want):
            found.partial.add(f"{row['r']}: {row['n_values']} value rows, expected {want or 'some'}")
        if row["n_outbox"] != 1:
            found.partial.add(f"{row['r']}: {row['n_outbox']} outbox messages")
        if row["n_audit"] != 1:
            found.partial.add(f"{row['r']}: {row['n_audit']} declaration_submitted audit rows")
    orphans = {
        "values": "SELECT DISTINCT declaration_id AS k FROM declaration_value "
        "WHERE declaration_id NOT IN (SELECT id FROM declaration)",
        "outbox message": "SELECT declaration_id AS k FROM outbox "
        "WHERE declaration_id NOT IN (SELECT id FROM declaration)",
        "audit row": "SELECT object_ref AS k FROM audit_log WHERE action = 'declaration_submitted' "
        "AND object_ref NOT IN (SELECT receipt_number FROM declaration)",
    }
    for what, sql in orphans.items():
        for row in store.all(sql):
            found.partial.add(f"orphan {what} of {row['k']}")

    found.chain = audit.verify(store).problems
    return found


def retry_some(
    store: Store,
    settings: Settings,
    account: Account,
    items: list[Item],
    acked: Mapping[str, str],
    refused: Mapping[str, str],
    rng: random.Random,
) -> tuple[int, list[str], dict[str, str]]:
    """File again a few acknowledged and unacknowledged keys; (retried, problems, key → receipt)."""
    forms = declarations.forms()
    by_key = {i.key: i for i in items}
    done = [k for k in by_key if k in acked]
    unanswered = [k for k in by_key if k not in acked and k not in refused]
    chosen = rng.sample(done, min(RETRIES, len(done))) + rng.sample(unanswered, min(RETRIES, len(unanswered)))
    problems: list[str] = []
    filed: dict[str, str] = {}
    for key in chosen:
        item = by_key[key]
        before = store.one("SELECT id, receipt_number FROM declaration WHERE idempotency_key = ?", [key])
        try:
            decl = declarations.submit(
                store, settings, account, item.worker_id, forms[item.form_id], dict(item.payload), key
            )
        except declarations.AlreadyDeclared as exc:
            # Right only when this key never filed anything and a rival with another key won.
            if before is not None:
                problems.append(f"retry of {key} refused as already declared ({exc.existing.receipt_number})")
            continue
        except Exception as exc:
            problems.append(f"retry of {key} failed: {type(exc).__name__}: {exc}")
            continue
        filed[key] = decl.receipt_number
        if key in acked and decl.receipt_number != acked[key]:
            problems.append(f"retry of {key} gave {decl.receipt_number}, acknowledged {acked[key]}")
        if before is not None and decl.id != before["id"]:
            problems.append(f"retry of {key} gave {decl.receipt_number}, stored {before['receipt_number']}")
        count = store.scalar("SELECT count(*) FROM declaration WHERE idempotency_key = ?", [key])
        if count != 1:
            problems.append(f"retry of {key}: {count} declarations with this key")
    return len(chosen), problems, filed


# -- the campaign -------------------------------------------------------------------------------


def child_env(db: Path, outbox: Path, today: date) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ESAT_SMTP_HOST", "ESAT_SMTP_PORT")}
    env.update(ESAT_DB=str(db), ESAT_OUTBOX=str(outbox), ESAT_TODAY=today.isoformat())
    return env


def campaign(
    runs: int,
    concurrency: int,
    db: Path,
    workdir: Path,
    seed: int,
    today: date = TODAY,
    out: Callable[[str], None] = print,
) -> list[RunResult]:
    """``runs`` kills of a child filing ``concurrency`` declarations at once; one result per run."""
    # Separate streams, so that the kill points of a seed do not depend on the timing of earlier runs.
    rng, kills, retries = random.Random(seed), random.Random(seed + 1), random.Random(seed + 2)
    tag = f"{seed:x}"[-6:]
    prepare_store(db, today)
    env = child_env(db, workdir / "outbox", today)
    settings = load_settings(env)
    acked_all: dict[str, str] = {}
    refused_all: dict[str, str] = {}
    expected: dict[str, int] = {}
    reported = Findings()
    results: list[RunResult] = []
    store = Store(str(db))
    account = demo_account(store)
    try:
        for run in range(1, runs + 1):
            started = time.monotonic()
            result = RunResult(run, SMALL_CHECKPOINT if run % 2 == 0 else None, attempted=concurrency)
            items = plan_run(store, settings, account, f"{tag}-{run:03d}", concurrency, rng)
            expected.update({i.key: i.values for i in items})
            plan_path = workdir / f"plan-{run:03d}.json"
            plan = {
                "account_id": account.id,
                "checkpoint_threshold": result.checkpoint,
                "items": [asdict(i) for i in items],
            }
            plan_path.write_text(json.dumps(plan), encoding="utf-8")
            # Half the kills come after a random number of answers; but answers trail the commits
            # (each submit then delivers the pending accusés), so the other half come at a random
            # moment of the first seconds, while declarations are being committed.
            if kills.random() < 0.5:
                result.kill_after, result.kill_delay = kills.randrange(concurrency), kills.uniform(0, 0.005)
            else:
                result.kill_after, result.kill_delay = 0, kills.uniform(0, COMMIT_PHASE * concurrency)
            store.close()
            outcome = run_child(
                db, plan_path, env, result.kill_after, result.kill_delay, workdir / "child.log"
            )
            acks, acked, refused, errors, conflicts = parse_answers(outcome.lines)
            result.killed = outcome.killed
            result.acknowledged, result.refused, result.errors = acks, len(refused), len(errors)
            result.problems += [f"child error: {e}" for e in errors] + sorted(conflicts)
            if outcome.stuck:
                result.errors += 1
                result.problems.append(f"child stuck before answer {result.kill_after}")
            elif not outcome.killed and outcome.returncode != 0:
                result.errors += 1
                result.problems.append(f"child exited with {outcome.returncode} (see child.log)")
            acked_all.update(acked)
            refused_all.update(refused)
            try:
                store = Store(str(db))
            except Exception as exc:
                result.reopen_failed = True
                result.problems.append(f"reopen failed: {type(exc).__name__}: {exc}")
                for path in (db, Path(f"{db}.wal")):
                    if path.exists():
                        shutil.copy(path, workdir / f"{path.name}.run-{run:03d}")
                result.seconds = time.monotonic() - started
                results.append(result)
                out(summary(result))
                break
            before = check_store(store, acked_all, refused_all, expected)
            stored = {
                r["idempotency_key"]
                for r in store.all(
                    "SELECT idempotency_key FROM declaration WHERE starts_with(idempotency_key, ?)",
                    [f"{KEY_PREFIX}{tag}-{run:03d}-"],
                )
            }
            result.unacknowledged_committed = len(stored - acked.keys())
            result.uncommitted = len({i.key for i in items if i.role == "primary"} - stored - refused.keys())
            result.retried, retry_problems, filed = retry_some(
                store, settings, account, items, acked, refused, retries
            )
            result.retry_failures = len(retry_problems)
            result.problems += retry_problems
            acked_all.update(filed)
            after = check_store(store, acked_all, refused_all, expected)
            new = Findings(
                lost=(before.lost | after.lost) - reported.lost,
                duplicates=(before.duplicates | after.duplicates | conflicts) - reported.duplicates,
                partial=(before.partial | after.partial) - reported.partial,
                chain=before.chain or after.chain,
            )
            result.lost, result.duplicates, result.partial = (
                len(new.lost),
                len(new.duplicates),
                len(new.partial),
            )
            result.chain_broken = bool(new.chain)
            result.problems += sorted(new.lost | new.duplicates | new.partial) + new.chain[:5]
            reported.lost |= new.lost
            reported.duplicates |= new.duplicates
            reported.partial |= new.partial
            result.seconds = time.monotonic() - started
            results.append(result)
            out(summary(result))
    finally:
        with contextlib.suppress(Exception):
            store.close()
    return results


def summary(r: RunResult) -> str:
    if r.reopen_failed:
        state = "REOPEN FAILED"
    else:
        state = (
            f"lost {r.lost}, duplicates {r.duplicates}, partial {r.partial}, "
            f"chain {'BROKEN' if r.chain_broken else 'intact'}, retried {r.retried} "
            f"({r.retry_failures} failed)"
        )
    if not r.killed:
        kill = "NOT killed (had finished)"
    elif r.kill_after:
        kill = f"killed after {r.kill_after} answers"
    else:
        kill = f"killed {r.kill_delay:.2f} s after GO"
    checkpoint = f"checkpoint every {r.checkpoint}" if r.checkpoint else "default checkpoint"
    line = (
        f"run {r.run:3d} ({checkpoint}): {r.attempted} attempted, {r.acknowledged} acknowledged, {r.refused} refused, "
        f"{r.errors} errors, {kill}, {r.unacknowledged_committed} committed unanswered, "
        f"{r.uncommitted} not committed; {state}; "
        f"{r.seconds:.1f} s"
    )
    return "\n".join([line, *(f"    {p}" for p in r.problems)])


def totals(results: list[RunResult]) -> dict[str, int]:
    return {
        "runs": len(results),
        "attempted": sum(r.attempted for r in results),
        "acknowledged": sum(r.acknowledged for r in results),
        "refused": sum(r.refused for r in results),
        "killed mid-flight": sum(r.killed for r in results),
        "committed unanswered": sum(r.unacknowledged_committed for r in results),
        "kills before the last commit": sum(r.uncommitted > 0 for r in results),
        "lost": sum(r.lost for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "partial": sum(r.partial for r in results),
        "reopen failures": sum(r.reopen_failed for r in results),
        "chain broken": sum(r.chain_broken for r in results),
        "errors": sum(r.errors for r in results),
        "retried": sum(r.retried for r in results),
        "retry failures": sum(r.retry_failures for r in results),
    }


FAILURES = ("lost", "duplicates", "partial", "reopen failures", "chain broken", "errors", "retry failures")


def failed(total: Mapping[str, int], runs: int) -> bool:
    return total["runs"] != runs or any(total[k] for k in FAILURES)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["child"]:
        parser = argparse.ArgumentParser(prog="kill_submissions child")
        parser.add_argument("--db", required=True)
        parser.add_argument("--plan", required=True)
        ns = parser.parse_args(args[1:])
        return child(ns.db, ns.plan)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--db", type=Path, help="store to use (seeded when missing); default: a fresh one")
    parser.add_argument("--seed", type=int, default=None, help="random seed (plans and kill points)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (plans, child.log)")
    ns = parser.parse_args(args)
    seed = ns.seed if ns.seed is not None else secrets.randbelow(2**32)
    workdir = Path(tempfile.mkdtemp(prefix="kill-submissions-"))
    db = ns.db.resolve() if ns.db else workdir / "esat.duckdb"
    print(
        f"kill_submissions: {ns.runs} runs x {ns.concurrency} concurrent submissions, seed {seed}, "
        f"store {db}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        flush=True,
    )
    started = time.monotonic()
    try:
        results = campaign(ns.runs, ns.concurrency, db, workdir, seed, out=lambda s: print(s, flush=True))
    finally:
        if not ns.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory kept: {workdir}")
    total = totals(results)
    print(
        "TOTAL: " + ", ".join(f"{k} {v}" for k, v in total.items()) + f"; {time.monotonic() - started:.0f} s"
    )
    return 1 if failed(total, ns.runs) else 0


if __name__ == "__main__":
    sys.exit(main())
