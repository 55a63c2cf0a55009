"""P5: how many declarations per second ``rules.engine.validate`` checks on one core.

    .venv/bin/python -m scripts.bench_rules [--seconds 2] [--repeats 3] [--profile]

Payloads, as the service receives them:
- certificats d'emploi of the 2026 campaign for workers at 30-100 %, amounts computed as the
  demo generator does (``data.demo.certificat_amounts``), typed as an ESAT types them
  ("1 234,56"), with the worker's known rate as context;
- changes of situation: every case of ``tests/cases/<form>.yaml`` for the five other forms,
  valid and invalid, with its date and context;
- the mix of production (DOMAIN §6 figures, docs/benchmarks.md P4): 85 % certificats, 15 % changes.

Each set is validated in a loop for ``--seconds``, ``--repeats`` times, in this one process;
the median rates per second of wall time and per second of CPU (the same on an idle machine;
the CPU figure stays meaningful when the machine is shared) are printed as a Markdown table,
against the target of 20,000/s on one core.
``--profile`` prints the top of a cProfile of the mix.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from data import demo
from forms import FormDefinition, load_all
from rules.engine import validate

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
TARGET = 20_000
CERTIFICAT_DAY = date(2026, 12, 15)
RATE_KEYS = ("rate_esat", "rate_mo")
DATE_KEYS = ("double_activity_since", "last_change_date")

Item = tuple[FormDefinition, dict[str, Any], date, dict[str, Any]]


def typed(amount: Decimal) -> str:
    """An amount as an ESAT types it: "1 234,56"."""
    whole, cents = f"{amount:.2f}".split(".")
    return f"{int(whole):,}".replace(",", " ") + "," + cents


def certificats(forms: dict[str, FormDefinition], count: int, rng: random.Random) -> list[Item]:
    form = forms["certificat_emploi"]
    smic = demo.smic_monthly(date(2026, 11, 30))
    items: list[Item] = []
    for _ in range(count):
        rate = rng.choice(demo.RATE_STEPS)
        rg_bp = (
            rng.randint(demo.RG_MIN_BP, demo.RG_MAX_BP) + rng.randint(demo.RG_MIN_BP, demo.RG_MAX_BP)
        ) // 2
        amounts = demo.certificat_amounts(smic, rate, rg_bp)
        payload = {k: typed(v) for k, v in amounts.items()}
        items.append((form, payload, CERTIFICAT_DAY, {"rate_esat": rate}))
    return items


def _context(raw: dict[str, Any]) -> dict[str, Any]:
    """As tests/test_form_cases.py reads a case's context: rates as Decimal, dates as date."""
    out: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        if value is not None and key in RATE_KEYS:
            value = Decimal(str(value).replace(",", "."))
        elif value is not None and key in DATE_KEYS and not isinstance(value, date):
            value = date.fromisoformat(str(value))
        out[key] = value
    return out


def changes(forms: dict[str, FormDefinition]) -> list[Item]:
    items: list[Item] = []
    for path in sorted(CASES.glob("*.yaml")):
        if path.stem == "certificat_emploi":
            continue
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        form = forms[spec["form"]]
        for case in spec["cases"]:
            on = case["date"] if isinstance(case["date"], date) else date.fromisoformat(str(case["date"]))
            items.append((form, case.get("payload") or {}, on, _context(case.get("context"))))
    return items


def rate(items: Sequence[Item], seconds: float) -> tuple[float, float]:
    """Declarations validated per second of wall time and per second of this process's CPU,
    looping over ``items`` for about ``seconds`` (the two differ when the CPU is shared)."""
    done = 0
    started, cpu = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for form, payload, on, context in items:
            validate(form, payload, on, context)
        done += len(items)
    return done / (time.perf_counter() - started), done / (time.process_time() - cpu)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    forms = load_all()
    rng = random.Random(20261215)
    certs = certificats(forms, 2000, rng)
    moves = changes(forms)
    mix = certs[:1700] + [moves[i % len(moves)] for i in range(300)]
    rng.shuffle(mix)
    sets = {
        "certificat_emploi (2,000 typed payloads)": certs,
        f"changes of situation ({len(moves)} cases of 5 forms, valid and invalid)": moves,
        "mix 85 % certificats / 15 % changes": mix,
    }
    valid = {name: sum(validate(*item).valid for item in items) / len(items) for name, items in sets.items()}
    print(
        "| payloads | valid | per second (median) | per CPU second (median) | µs of CPU each | ≥ 20,000/s |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for name, items in sets.items():
        rate(items, min(0.5, args.seconds))  # warm-up
        rates = [rate(items, args.seconds) for _ in range(args.repeats)]
        wall = statistics.median(r[0] for r in rates)
        cpu = statistics.median(r[1] for r in rates)
        print(
            f"| {name} | {valid[name]:.0%} | {wall:,.0f} | {cpu:,.0f} | {1e6 / cpu:.0f} | "
            f"{'met' if cpu >= TARGET else '**missed**'} |"
        )
    load_after = os.getloadavg()
    print(
        f"\nOne process, one thread; Python {platform.python_version()}, {os.cpu_count()} vCPU; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before "
        f"{' / '.join(f'{x:.2f}' for x in load_before)}, after {' / '.join(f'{x:.2f}' for x in load_after)}."
    )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(5):
            for item in mix:
                validate(*item)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())


if __name__ == "__main__":
    main()
