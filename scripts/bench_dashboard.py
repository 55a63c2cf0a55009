"""Time the Caf agent's dashboard queries (services.backoffice) on a national-scale store.

    .venv/bin/python -m scripts.bench_dashboard [PATH] [--caf 441] [--runs 30] [--warmups 3]

Creates the store with ``data.demo.seed_national`` when PATH is absent or empty (default
/tmp/esat-national.duckdb; a ``postgresql://`` URL works too), reuses it otherwise; opening it applies any new migration. Then
runs every query for the Caf's agent ``--warmups`` times untimed and ``--runs`` times timed,
and prints a Markdown table (rows returned, p50 and p95 in ms, against a 100 ms target), the
machine and the versions. Prints counts only, never names.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from data import demo
from data.store import Store, is_postgresql
from services import backoffice
from services.accounts import Account

DEFAULT_PATH = Path("/tmp/esat-national.duckdb")  # noqa: S108 - a benchmark scratch file
TARGET_MS = 100.0
SECRET = "bench-secret"  # noqa: S105 - signs synthetic verification codes only


def machine() -> dict[str, str]:
    cpu = "?"
    ram = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "RAM": ram,
        "CPU": cpu,
        "Python": platform.python_version(),
        "DuckDB": duckdb.__version__,
        "load average (1/5/15 min, at the end)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    }


def open_store(where: str, today: date, years: int) -> Store:
    """A DuckDB file, or a ``postgresql://`` database; seeded when it is new or empty."""
    if is_postgresql(where):
        store = Store(where)
        if store.scalar("SELECT count(*) FROM declaration"):
            return store
    else:
        path = Path(where)
        if path.exists() and path.stat().st_size > 0:
            return Store(where)
        path.unlink(missing_ok=True)
        store = Store(where)
    started = time.perf_counter()
    timings = demo.seed_national(store, today=today, secret=SECRET, years=years)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    print(f"National store created in {time.perf_counter() - started:.1f} s ({steps}).\n")
    return store


def agent_of(store: Store, caf: str) -> Account:
    row = store.one("SELECT * FROM account WHERE role = 'agent' AND caf_code = ? ORDER BY id LIMIT 1", [caf])
    if row is None:
        raise SystemExit(f"no agent account for Caf {caf}")
    return Account(
        row["id"],
        row["login"],
        row["email"],
        row["role"],
        row["esat_id"],
        row["caf_code"],
        row["display_name"],
    )


def rows_of(result: Any) -> str:
    if isinstance(result, tuple):  # inbox: (page, total)
        return f"{len(result[0])} (of {result[1]})"
    if hasattr(result, "__len__"):
        return str(len(result))
    return "1"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def queries(store: Store, agent: Account, today: date) -> dict[str, Callable[[], Any]]:
    campaign = backoffice.current_campaign(today)
    since = date(today.year - 1, today.month, 1)  # the "12 derniers mois" of the Changements page
    everything = backoffice.InboxFilter()
    departures_to_process = backoffice.InboxFilter(form_id="depart_esat", status="a_traiter")
    return {
        "campaign_totals": lambda: backoffice.campaign_totals(store, agent, campaign),
        "campaign_by_esat": lambda: backoffice.campaign_by_esat(store, agent, campaign),
        "campaign_by_week": lambda: backoffice.campaign_by_week(store, agent, campaign),
        "undeclared_workers": lambda: backoffice.undeclared_workers(store, agent, campaign),
        "changes_by_month (12 months)": lambda: backoffice.changes_by_month(store, agent, since),
        "departures_by_motif (12 months)": lambda: backoffice.departures_by_motif(store, agent, since),
        "double_activity_counts (12 months)": lambda: backoffice.double_activity_counts(store, agent, since),
        "rate_changes (12 months)": lambda: backoffice.rate_changes(store, agent, since),
        "inbox, first page, no filter": lambda: backoffice.inbox(store, agent, everything),
        "inbox, type + status filter": lambda: backoffice.inbox(store, agent, departures_to_process),
        "inbox ESAT list (esats)": lambda: backoffice.esats(store, agent),
        "processing_delays": lambda: backoffice.processing_delays(store, agent),
        "feedback": lambda: backoffice.feedback(store, agent),
        # Also read by the pages, when this version of services.backoffice has them.
        **extra_queries(store, agent),
    }


def extra_queries(store: Store, agent: Account) -> dict[str, Callable[[], Any]]:
    extra: dict[str, Callable[[], Any]] = {}
    if hasattr(backoffice, "feedback_trend"):
        extra["feedback_trend"] = lambda: backoffice.feedback_trend(store, agent)
    if hasattr(backoffice, "detail"):
        latest = store.scalar(
            "SELECT id FROM declaration WHERE caf_code = ? ORDER BY received_at DESC LIMIT 1",
            [agent.caf_code],
        )
        extra["detail (one declaration)"] = lambda: backoffice.detail(store, agent, latest)
    return extra


def measure(run: Callable[[], Any], runs: int, warmups: int) -> tuple[Any, list[float]]:
    result = None
    for _ in range(warmups):
        result = run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - started) * 1000)
    return result, samples


def verdict(p95: float) -> str:
    return "met" if p95 <= TARGET_MS else f"misses by ×{p95 / TARGET_MS:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench_dashboard", description=__doc__.split("\n")[0]
    )
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="DuckDB file or postgresql:// URL")
    parser.add_argument(
        "--caf", default=demo.PILOT_CAF, help="Caf code of the agent (default: the pilot Caf)"
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="creation date of a new store")
    parser.add_argument("--years", type=int, default=3, help="years of history of a new store")
    args = parser.parse_args(argv)

    store = open_store(args.path, args.today or date.today(), args.years)
    try:
        # The store's "today": the day after its last receipt (so a reused store keeps its campaign).
        today = store.scalar("SELECT max(received_at) FROM declaration").date() + timedelta(days=1)
        agent = agent_of(store, args.caf)
        caf_size = store.one(
            "SELECT (SELECT count(*) FROM esat WHERE caf_code = ?) AS esats, "
            "(SELECT count(*) FROM worker WHERE caf_code = ?) AS workers, "
            "(SELECT count(*) FROM declaration WHERE caf_code = ?) AS declarations",
            [args.caf, args.caf, args.caf],
        )
        migrations = [r["version"] for r in store.all("SELECT version FROM schema_migration ORDER BY 1")]
        print(f"Store: {args.path} — {demo.summary(store)}; migrations {migrations}.")
        print(
            f"Caf {args.caf}: {caf_size['esats']} ESATs, {caf_size['workers']} workers, "
            f"{caf_size['declarations']} declarations; today = {today}, "
            f"campaign {backoffice.current_campaign(today)}; {args.warmups} warm-ups + {args.runs} timed runs.\n"
        )
        print("| query | rows | p50 ms | p95 ms | target ms | result |\n|---|---:|---:|---:|---:|---|")
        for name, run in queries(store, agent, today).items():
            result, samples = measure(run, args.runs, args.warmups)
            p50, p95 = statistics.median(samples), percentile(samples, 95)
            print(
                f"| {name} | {rows_of(result)} | {p50:.1f} | {p95:.1f} | {TARGET_MS:.0f} | {verdict(p95)} |"
            )
            sys.stdout.flush()
        print()
        for key, value in machine().items():
            print(f"- {key}: {value}")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
