"""INPUT-04 (no SQL built from data; 10,000 strings round-trip unchanged) and DATA-09 (10,000
amounts round-trip exactly, from what the user types to the store and back to the screen)."""

from __future__ import annotations

import random
import re
import unicodedata
from decimal import Decimal

from data.values import value_rows
from forms import load_all
from forms.fmt import amount as fmt_amount
from rules.engine import MAX_AMOUNT, parse
from services import comments, declarations
from services.free_text import free_text
from tests.conftest import ROOT
from tests.test_services import account

N = 10_000
rng = random.Random(2026)


def hostile_string(r: random.Random) -> str:
    """Any code point but surrogates and NUL (PostgreSQL cannot store NUL; services strip it)."""
    pools = [
        (0x1, 0x7F),
        (0x80, 0x2FF),
        (0x590, 0x6FF),  # Hebrew, Arabic (right to left)
        (0x200B, 0x206F),  # zero-width, bidi controls
        (0x4E00, 0x4E80),
        (0xE000, 0xE010),  # private use
        (0x1F600, 0x1F64F),  # emoji
        (0x10000, 0x10FFFF),
    ]
    parts = [r.choice(["'", '"', "\\", "%", "?", "$1", ";--", "' OR '1'='1", "\r\n", "=1+1", "@x"])]
    for _ in range(r.randint(0, 40)):
        lo, hi = r.choice(pools)
        cp = r.randint(lo, hi)
        if not 0xD800 <= cp <= 0xDFFF:
            parts.append(chr(cp))
    r.shuffle(parts)
    return "".join(parts)


def test_ten_thousand_hostile_strings_round_trip_unchanged(store):
    strings = [hostile_string(rng) for _ in range(N)]
    with store.transaction() as tx:
        tx.executemany(
            "INSERT INTO declaration_value (declaration_id, field_id, text) VALUES (?, ?, ?)",
            [(-1, f"f{i}", s) for i, s in enumerate(strings)],
        )
    back = store.all("SELECT field_id, text FROM declaration_value WHERE declaration_id = -1")
    found = {r["field_id"]: r["text"] for r in back}
    assert [found[f"f{i}"] for i in range(N)] == strings
    # The same strings as query parameters find themselves, and only themselves.
    for i in rng.sample(range(N), 200):
        assert store.scalar(
            "SELECT count(*) FROM declaration_value WHERE declaration_id = -1 AND text = ?", [strings[i]]
        ) == strings.count(strings[i])


def test_free_text_keeps_every_printable_character(env, store):
    """Review comments and avis: control characters go (NUL included), everything else is kept."""
    reviewer = account(store, "relecteur@example.org")
    for _ in range(200):
        typed = hostile_string(rng) + "\x00\x07" + "x"
        comment_id = comments.add(store, env, reviewer, "certificat_emploi", None, typed)
        stored = store.scalar("SELECT body FROM review_comment WHERE id = ?", [comment_id])
        assert stored == free_text(typed, comments.MAX_LENGTH)
        printable = "".join(c for c in typed if unicodedata.category(c) != "Cc" or c in "\t\n\r")
        assert stored == printable.strip()[: comments.MAX_LENGTH]  # an independent oracle


def test_ten_thousand_amounts_round_trip_exactly(store):
    """From the French text typed, to DECIMAL(12, 2) in the store, back to the same French text."""
    form = load_all()["certificat_emploi"]
    field = next(f for f in form.fields if f.id == "remuneration_garantie")
    top = int(MAX_AMOUNT * 100)  # the largest amount a field accepts, in cents
    cents = [rng.randint(0, top) for _ in range(N - 4)] + [0, 1, 99, top]
    amounts = [Decimal(c).scaleb(-2) for c in cents]
    typed = [
        fmt_amount(a).replace("\u00a0€", "").replace("\u202f", " ").replace("\u00a0", " ") for a in amounts
    ]
    parsed = []
    for text in typed:
        value, problem = parse(field, text)
        assert problem is None, (text, problem)
        parsed.append(value)
    assert parsed == amounts
    rows = []
    for i, value in enumerate(parsed):
        rows += value_rows(form, -2 - i, {"remuneration_garantie": value})
    with store.transaction() as tx:
        tx.executemany(
            "INSERT INTO declaration_value (declaration_id, field_id, number, day, text) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    back = {
        -r["declaration_id"] - 2: r["number"]
        for r in store.all("SELECT declaration_id, number FROM declaration_value WHERE declaration_id <= -2")
    }
    assert [back[i] for i in range(N)] == amounts
    assert all(isinstance(v, Decimal) for v in back.values())
    assert [fmt_amount(back[i]) for i in range(N)] == [fmt_amount(a) for a in amounts]


# Interpolated SQL fragments that were reviewed: each is built from constants of the code
# (column lists, scope conditions with ? placeholders, table names), never from user data.
REVIEWED_FRAGMENTS = {
    "where",
    "workers",  # timeline.events_of: a worker condition written by its caller (constants only)
    "_WORKER_COLS",
    "condition",
    "columns",
    "clause",
    "table",
    "cols",
    "_STORED",
    "assignments",  # services/worker_import.py: column names of the code
    "marks",  # services/batches.py: "?, ?, …" placeholders, one per selected worker
    "expected_sql",  # services/backoffice.py: the fixed query of the workers expected for a campaign
    "lock",  # services/audit.py, services/declarations.py: " FOR UPDATE" on PostgreSQL, "" on DuckDB
}


def test_no_sql_is_built_from_data():
    """Every f-string SQL is flagged by ruff (S608, run by `make lint`) and carries a reviewed
    fragment; adding any other interpolation fails here until it is reviewed."""
    found = set()
    for path in ROOT.glob("**/*.py"):
        if any(part in {".venv", "tests", "scripts", "bench"} for part in path.relative_to(ROOT).parts):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if "noqa: S608" in line:
                found |= set(re.findall(r"\{(\w+)\}", line))
    assert found, "the scan does see the reviewed lines"
    assert found <= REVIEWED_FRAGMENTS, found - REVIEWED_FRAGMENTS


def test_feedback_comment_with_nul_is_stored_without_it(env, store):
    me = account(store)
    decl = declarations.submit(
        store, env, me, 1, declarations.forms()["certificat_emploi"],
        {"remuneration_garantie": "1 100,50", "aide_au_poste": "946,55", "part_esat": "153,95"}, "avis-nul",
    )  # fmt: skip
    declarations.save_feedback(store, env, me, decl.id, 4, "Très bien\x00 merci\x1b[31m")
    assert (
        store.scalar("SELECT comment FROM feedback WHERE declaration_id = ?", [decl.id])
        == "Très bien merci[31m"
    )
