"""P1 and P2: screen times and interactions per second, for the app and two baselines, side by side.

    .venv/bin/python -m scripts.bench_screens             # the full run (about 15 minutes)
    .venv/bin/python -m scripts.bench_screens --quick     # a short development run (2-3 minutes)
    .venv/bin/python -m scripts.bench_screens --apps app --configs ours --quick

Three apps: ``app`` (app.py, the demo ESAT with 620 workers), ``naive`` (bench/naive_app.py: every
worker of that ESAT in one st.dataframe, read by a direct DuckDB query on each run) and ``floor``
(bench/floor_app.py: a title and a button, the framework's floor). Each is served in turn, alone,
under two configurations:

- ``default``: plain ``streamlit run SCRIPT`` with Streamlit's default value for every
  performance-relevant option (``runner.postScriptGC``, ``server.fileWatcherType``,
  ``browser.gatherUsageStats`` are passed at their defaults, since Streamlit also reads the
  config.toml next to app.py), from an empty folder;
- ``ours``: ``python -m ui.server`` (app.py) or ``python -m bench.serve SCRIPT`` (the same
  fixes for a baseline), from the project folder as ``make run`` does;
- ``ours+gc`` (only when asked): ours with ``--runner.postScriptGC=true``, to isolate that fix.

The servers run a copy of the project taken at the start (the working tree may change
meanwhile), each on a fresh copy of a demo store seeded for 2026-12-10 (inside the certificat
window). The client is scripts/loadgen.py, speaking Streamlit's WebSocket protocol; times are
measured from sending ``rerun_script`` to the ``script_finished`` of the last run it causes.

- P1, one session at a time. *First render*: a new session's first screen (connection and first
  run), and for the app each partner screen reached by its button in a fresh session (nothing
  of it read yet): Accueil (the login click, with one argon2id verification), Mes travailleurs,
  the Fiche travailleur, the Déclaration form. *Rerun*: ``--reruns`` reruns of the same screen
  with nothing changed (what any click that stays on the screen costs at least), with the
  server's CPU per rerun (/proc, user + system). Targets: rerun p95 ≤ 10 ms (issue 15), first
  render ≤ 150 ms.
- Soak: RSS of the server before, at its peak and after ``--soak`` interactions (4 sessions, at
  most ``--soak-seconds``: the default configuration is too slow to do them all).
- P2: closed-loop sessions, each clicking as soon as the previous click's screen has arrived
  (the app: loadgen.Partner's round over every partner screen; naive: rerun; floor: the button),
  ramped 1, 2, 4, 8… until the p95 passes 300 ms. Reported: the most interactions per second
  with p95 ≤ 300 ms (target ≥ 150/s), with the server's and this client's CPU use.

Prints Markdown tables, the machine and the load average before and after; ``--json PATH`` also
writes the raw numbers. Only 127.0.0.1 is used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from scripts.loadgen import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    Partner,
    ProtocolError,
    Screen,
    Session,
    accept_cgu_if_shown,
    click,
    open_partner,
    percentile,
    submit_login,
)

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-12-10"  # inside the certificat window: the Déclaration form is reachable
APPS = {"app": Path("app.py"), "naive": Path("bench/naive_app.py"), "floor": Path("bench/floor_app.py")}
# What the served copy of the project leaves out (the servers run a snapshot, see snapshot()).
NOT_SERVED = (".git", ".venv", "__pycache__", ".*_cache", ".hypothesis", "tests", "*.duckdb*", "outbox")
CONFIGS = ("default", "ours", "ours+gc")
# Streamlit's defaults, said out loud: the config.toml next to app.py would otherwise apply.
STREAMLIT_DEFAULTS = (
    "--runner.postScriptGC=true",
    "--server.fileWatcherType=auto",
    "--browser.gatherUsageStats=true",
)
RERUN_TARGET_MS = 10.0
FIRST_TARGET_MS = 150.0
P2_P95_MS = 300.0
P2_TARGET = 150.0
SCREENS = ("Bienvenue", "Accueil", "Mes travailleurs", "Fiche travailleur", "Déclaration")
# The click that first shows each partner screen in a fresh session.
FIRST_VISIT = {
    "Accueil → Mes travailleurs": "Mes travailleurs",
    "dialog: Confirmer → Fiche travailleur": "Fiche travailleur",
    "Fiche travailleur: Déclarer → Déclaration": "Déclaration",
}


# -- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One Streamlit server process for one (app, config), on a fresh copy of the demo store."""

    def __init__(self, app: str, config: str, work: Path, seed: Path, code: Path) -> None:
        self.app, self.config, self.work, self.seed, self.code = app, config, work, seed, code
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work / f"server-{app}-{config.replace('+', '-')}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> tuple[list[str], Path]:
        common = ["--server.address=127.0.0.1", f"--server.port={self.port}", "--server.headless=true"]
        script = str(self.code / APPS[self.app])
        if self.config == "default":
            empty = self.work / "empty"
            empty.mkdir(exist_ok=True)
            return [sys.executable, "-m", "streamlit", "run", script, *STREAMLIT_DEFAULTS, *common], empty
        extra = ["--runner.postScriptGC=true"] if self.config == "ours+gc" else []
        if self.app == "app":
            return [sys.executable, "-m", "ui.server", *common, *extra], self.code
        return [sys.executable, "-m", "bench.serve", script, *common, *extra], self.code

    def __enter__(self) -> Server:
        db = self.work / "esat.duckdb"
        for leftover in self.work.glob("esat.duckdb*"):
            leftover.unlink()
        shutil.copyfile(self.seed, db)
        env = {
            **os.environ,
            "PYTHONPATH": str(self.code),
            "ESAT_DB": str(db),
            "ESAT_TODAY": TODAY,
            "ESAT_DEMO": "1",
            "ESAT_OUTBOX": str(self.work / "outbox"),
            "ESAT_DEMO_PASSWORD": DEMO_PASSWORD,
        }
        command, cwd = self.command()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.3)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process."""
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


# -- measures --------------------------------------------------------------------------------


@dataclass
class Sample:
    first_ms: list[float] = field(default_factory=list)
    rerun_ms: list[float] = field(default_factory=list)
    cpu_ms_per_rerun: float | None = None


@dataclass
class Level:
    sessions: int
    interactions: int
    runs: int  # script runs of those interactions (a st.rerun or st.switch_page adds one)
    per_second: float
    p50_ms: float
    p95_ms: float
    server_cpu_pct: float
    client_cpu_pct: float


@dataclass
class Result:
    app: str
    config: str
    cold_first_ms: float = 0.0  # the first session after the server started (imports, plans)
    screens: dict[str, Sample] = field(default_factory=dict)
    soak: dict[str, float] = field(default_factory=dict)
    ramp: list[Level] = field(default_factory=list)
    steps_ms: dict[str, list[float]] = field(default_factory=dict)  # P1 journey clicks
    steps_runs: dict[str, list[int]] = field(default_factory=dict)  # script runs of each click


async def timed_reruns(
    server: Server, session: Session, count: int, action: Callable[[], Awaitable[Screen]]
) -> Sample:
    cpu = server.cpu_seconds()
    times = [(await action()).seconds * 1000 for _ in range(count)]
    return Sample(rerun_ms=times, cpu_ms_per_rerun=(server.cpu_seconds() - cpu) * 1000 / count)


async def reach_declaration(partner: Partner) -> None:
    """From Accueil to the Déclaration form of a worker not yet declared this campaign."""
    await partner.to_workers()
    for _ in range(24):
        await partner.select()
        await partner.open_choice()
        await partner.confirm_choice()
        if partner.session.screen.has("button", startswith="Déclarer :"):
            await partner.declare()
            return
        await _back_and_clear(partner)
    raise ProtocolError("no worker of the first page can be declared")


async def _back_and_clear(partner: Partner) -> None:
    """From the fiche back to Mes travailleurs, the batch abandoned (the selection emptied)."""
    session = partner.session
    await session.rerun([click(session.screen.find("button", "Retour à Mes travailleurs"))])
    await partner.abandon()
    await partner.confirm_abandon()


async def p1_app(server: Server, result: Result, sessions: int, reruns: int) -> None:
    screens = {name: Sample() for name in SCREENS}
    # Warm-up: a first session loads the modules and plans the queries of every screen once.
    started = time.perf_counter()
    warm = await Session.open(server.url)
    await warm.rerun()
    result.cold_first_ms = (time.perf_counter() - started) * 1000
    await submit_login(warm, warm.screen, DEMO_LOGIN, DEMO_PASSWORD)
    await accept_cgu_if_shown(warm)  # the CGU are accepted once for the account
    partner = Partner(warm)
    for _ in range(2 * len(partner.steps)):
        await partner.next()
    await warm.close()

    for i in range(sessions):
        started = time.perf_counter()
        session = await Session.open(server.url)
        first = await session.rerun()
        screens["Bienvenue"].first_ms.append((time.perf_counter() - started) * 1000)
        login = await submit_login(session, first, DEMO_LOGIN, DEMO_PASSWORD)
        screens["Accueil"].first_ms.append(login.seconds * 1000)
        partner = Partner(session, tile=i * 7)
        for _ in range(len(partner.steps)):
            name, screen = await partner.next()
            result.steps_ms.setdefault(name, []).append(screen.seconds * 1000)
            result.steps_runs.setdefault(name, []).append(screen.runs)
            if name in FIRST_VISIT:
                screens[FIRST_VISIT[name]].first_ms.append(screen.seconds * 1000)
        await session.close()

    # Reruns of each screen, in one session.
    session = await Session.open(server.url)
    await session.rerun()
    timed = await timed_reruns(server, session, reruns, session.rerun)
    screens["Bienvenue"].rerun_ms, screens["Bienvenue"].cpu_ms_per_rerun = (
        timed.rerun_ms,
        timed.cpu_ms_per_rerun,
    )
    await submit_login(session, session.screen, DEMO_LOGIN, DEMO_PASSWORD)
    partner = Partner(session, tile=3)
    for name in SCREENS[1:]:
        if name == "Mes travailleurs":
            await partner.to_workers()
        elif name == "Fiche travailleur":
            await partner.select()
            await partner.open_choice()
            await partner.confirm_choice()
        elif name == "Déclaration":
            await _back_and_clear(partner)
            await partner.home()
            await reach_declaration(partner)
        if session.screen.page != name:
            raise ProtocolError(f"expected {name!r}, on {session.screen.page!r}")
        timed = await timed_reruns(server, session, reruns, session.rerun)
        screens[name].rerun_ms, screens[name].cpu_ms_per_rerun = timed.rerun_ms, timed.cpu_ms_per_rerun
    # The batch is kept in the store: abandoned, so that the next sessions of the account find none.
    for step in (partner.quit, partner.confirm_quit, partner.abandon, partner.confirm_abandon):
        await step()
    await session.close()
    result.screens = screens


def baseline_action(app: str, session: Session) -> Callable[[], Awaitable[Screen]]:
    if app == "floor":
        return lambda: session.rerun([click(session.screen.find("button", "Bouton"))])
    return session.rerun


async def p1_baseline(server: Server, result: Result, sessions: int, reruns: int) -> None:
    sample = Sample()
    for i in range(sessions + 1):
        started = time.perf_counter()
        session = await Session.open(server.url)
        await session.rerun()
        elapsed = (time.perf_counter() - started) * 1000
        if i == 0:
            result.cold_first_ms = elapsed
            for _ in range(5):  # warm-up
                await baseline_action(server.app, session)()
        else:
            sample.first_ms.append(elapsed)
        await session.close()
    session = await Session.open(server.url)
    await session.rerun()
    timed = await timed_reruns(server, session, reruns, baseline_action(server.app, session))
    sample.rerun_ms, sample.cpu_ms_per_rerun = timed.rerun_ms, timed.cpu_ms_per_rerun
    await session.close()
    result.screens = {"page": sample}


Actor = Callable[[], Awaitable[Screen]]


async def make_actor(server: Server, index: int) -> tuple[Actor, Session]:
    if server.app == "app":
        partner = Partner(await open_partner(server.url), tile=index * 5)

        async def act() -> Screen:
            return (await partner.next())[1]

        return act, partner.session
    session = await Session.open(server.url)
    await session.rerun()
    return baseline_action(server.app, session), session


async def soak(server: Server, result: Result, interactions: int, seconds: float, sessions: int = 4) -> None:
    actors = [await make_actor(server, 100 + i) for i in range(sessions)]
    for act, _ in actors:  # settle each session on its screen
        await act()
    done = 0
    rss = {"before": server.rss_mb()}
    rss["peak"] = rss["before"]
    started = time.perf_counter()
    deadline = time.monotonic() + seconds

    async def drive(act: Actor) -> None:
        nonlocal done
        while done < interactions and time.monotonic() < deadline:
            await act()
            done += 1
            if done % 50 == 0:
                rss["peak"] = max(rss["peak"], server.rss_mb())

    await asyncio.gather(*(drive(act) for act, _ in actors))
    rss["after"] = server.rss_mb()
    rss["interactions"] = done
    rss["seconds"] = time.perf_counter() - started
    for _, session in actors:
        await session.close()
    result.soak = rss


async def ramp(server: Server, result: Result, levels: list[int], warmup: float, duration: float) -> None:
    actors: list[tuple[Actor, Session]] = []
    try:
        for n in levels:
            while len(actors) < n:
                actors.append(await make_actor(server, len(actors)))
            level = await run_level(server, [a for a, _ in actors[:n]], warmup, duration)
            result.ramp.append(level)
            print(
                f"    {server.app}/{server.config}: {n} sessions, {level.per_second:.1f}/s, "
                f"p95 {level.p95_ms:.0f} ms, server CPU {level.server_cpu_pct:.0f} %",
                file=sys.stderr,
            )
            if level.p95_ms > P2_P95_MS:
                break
    finally:
        for _, session in actors:
            await session.close()


async def run_level(server: Server, actors: list[Actor], warmup: float, duration: float) -> Level:
    loop_start = time.monotonic()
    window_start, window_end = loop_start + warmup, loop_start + warmup + duration
    latencies: list[float] = []
    runs = 0
    cpu: dict[str, float] = {}

    async def drive(act: Actor) -> None:
        nonlocal runs
        while time.monotonic() < window_end:
            screen = await act()
            finished = time.monotonic()
            if window_start <= finished <= window_end:
                latencies.append(screen.seconds * 1000)
                runs += screen.runs

    async def meter() -> None:
        await asyncio.sleep(warmup)
        cpu["server"], cpu["client"] = server.cpu_seconds(), time.process_time()
        await asyncio.sleep(duration)
        cpu["server"] = server.cpu_seconds() - cpu["server"]
        cpu["client"] = time.process_time() - cpu["client"]

    await asyncio.gather(meter(), *(drive(a) for a in actors))
    return Level(
        sessions=len(actors),
        interactions=len(latencies),
        runs=runs,
        per_second=len(latencies) / duration,
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p95_ms=percentile(latencies, 95) if latencies else float("nan"),
        server_cpu_pct=100 * cpu["server"] / duration,
        client_cpu_pct=100 * cpu["client"] / duration,
    )


async def measure(server: Server, args: argparse.Namespace) -> Result:
    result = Result(server.app, server.config)
    if server.app == "app":
        await p1_app(server, result, args.sessions, args.reruns)
    else:
        await p1_baseline(server, result, args.sessions, args.reruns)
    await soak(server, result, args.soak, args.soak_seconds)
    await ramp(server, result, args.levels, args.warmup, args.duration)
    return result


# -- report ----------------------------------------------------------------------------------


def ms(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.0f} / {percentile(values, 95):.0f}"


def runs(values: list[int]) -> str:
    """Script runs of a click: one number when every time the same, else the range."""
    if not values:
        return "–"
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def best(result: Result) -> Level | None:
    passing = [lv for lv in result.ramp if lv.p95_ms <= P2_P95_MS]
    return max(passing, key=lambda lv: lv.per_second) if passing else None


def report(results: list[Result]) -> str:
    lines = [
        "#### P1 — screen times, one session at a time (ms, p50 / p95)",
        "",
        "| app | screen | config | first render (n) | rerun | server CPU / rerun | rerun p95 ≤ 10 | first p95 ≤ 150 |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    order = [(r.app, name) for r in results for name in r.screens]
    for app, name in dict.fromkeys(order):
        for r in (r for r in results if r.app == app and name in r.screens):
            s = r.screens[name]
            rerun_ok = bool(s.rerun_ms) and percentile(s.rerun_ms, 95) <= RERUN_TARGET_MS
            first_ok = bool(s.first_ms) and percentile(s.first_ms, 95) <= FIRST_TARGET_MS
            cpu = f"{s.cpu_ms_per_rerun:.1f}" if s.cpu_ms_per_rerun is not None else "–"
            lines.append(
                f"| {app} | {name} | {r.config} | {ms(s.first_ms)} ({len(s.first_ms)}) | {ms(s.rerun_ms)} | "
                f"{cpu} | {verdict(rerun_ok)} | {verdict(first_ok) if s.first_ms else '–'} |"
            )
    lines += [
        "",
        "First session after the server started (imports, first queries), ms: "
        + ", ".join(f"{r.app}/{r.config} {r.cold_first_ms:.0f}" for r in results)
        + ".",
        "",
        "#### P2 — interactions per second one process sustains with p95 ≤ 300 ms",
        "",
        "| app | config | sessions | interactions/s | p50 ms | p95 ms | server CPU | server CPU ms / interaction "
        "| script runs / interaction | client CPU | ≥ 150/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        b = best(r)
        if b is None:
            lines.append(
                f"| {r.app} | {r.config} | – | – | – | – | – | – | – | – | **missed** (p95 > 300 ms at 1) |"
            )
        else:
            cpu_ms = 10 * b.server_cpu_pct / b.per_second if b.per_second else float("nan")
            per_click = b.runs / b.interactions if b.interactions else float("nan")
            lines.append(
                f"| {r.app} | {r.config} | {b.sessions} | {b.per_second:.1f} | {b.p50_ms:.0f} | {b.p95_ms:.0f} | "
                f"{b.server_cpu_pct:.0f} % | {cpu_ms:.1f} | {per_click:.2f} | {b.client_cpu_pct:.0f} % | "
                f"{verdict(b.per_second >= P2_TARGET)} |"
            )
    lines += [
        "",
        "Ramp (sessions: interactions/s, p95 ms): "
        + "; ".join(
            f"{r.app}/{r.config} "
            + ", ".join(f"{lv.sessions}: {lv.per_second:.0f}/s {lv.p95_ms:.0f}" for lv in r.ramp)
            for r in results
        )
        + ".",
        "",
        "#### Memory — server RSS over a long run (4 sessions)",
        "",
        "| app | config | interactions | seconds | RSS before MB | peak MB | after MB | growth MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        m = r.soak
        if m:
            lines.append(
                f"| {r.app} | {r.config} | {m['interactions']:.0f} | {m['seconds']:.0f} | {m['before']:.0f} | "
                f"{m['peak']:.0f} | {m['after']:.0f} | {m['after'] - m['before']:+.0f} |"
            )
    steps = [r for r in results if r.steps_ms]
    if steps:
        lines += ["", "#### The app's clicks in a fresh session (ms, p50 / p95; script runs per click)", ""]
        lines += ["| click | " + " | ".join(r.config for r in steps) + " |", "|---|" + "---:|" * len(steps)]
        for name in dict.fromkeys(n for r in steps for n in r.steps_ms):
            lines.append(
                f"| {name} | "
                + " | ".join(
                    f"{ms(r.steps_ms.get(name, []))} ({runs(r.steps_runs.get(name, []))})" for r in steps
                )
                + " |"
            )
    return "\n".join(lines)


def machine(load_before: tuple[float, float, float]) -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load_after = os.getloadavg()
    fmt = " / ".join
    return (
        f"Machine: {os.cpu_count()} vCPU ({cpu}), Python {platform.python_version()}, "
        f"Streamlit {version('streamlit')}, uvicorn {version('uvicorn')}, DuckDB {version('duckdb')}. "
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1/5/15 min) before "
        f"{fmt(f'{x:.2f}' for x in load_before)}, after {fmt(f'{x:.2f}' for x in load_after)}."
    )


def snapshot(work: Path) -> Path:
    """A copy of the project to serve: the working tree may change while the benchmark runs
    (and Streamlit's default file watcher would then reload modules under the load)."""
    code = work / "code"
    shutil.copytree(ROOT, code, ignore=shutil.ignore_patterns(*NOT_SERVED))
    return code


def seed_store(work: Path, code: Path) -> Path:
    seed = work / "seed" / "esat.duckdb"
    seed.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ESAT_DB": str(seed),
        "ESAT_TODAY": TODAY,
        "ESAT_DEMO": "1",
        "ESAT_DEMO_PASSWORD": DEMO_PASSWORD,
    }
    env["PYTHONPATH"] = str(code)
    subprocess.run([sys.executable, "-m", "data.demo"], cwd=code, env=env, check=True, capture_output=True)
    return seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default="app,naive,floor")
    parser.add_argument("--configs", default="default,ours", help=f"among {', '.join(CONFIGS)}")
    parser.add_argument("--quick", action="store_true", help="a short development run")
    parser.add_argument("--sessions", type=int, help="fresh sessions for first renders (10)")
    parser.add_argument("--reruns", type=int, help="reruns per screen (30)")
    parser.add_argument("--soak", type=int, help="interactions of the memory run (2000)")
    parser.add_argument("--soak-seconds", type=float, help="at most this long (180)")
    parser.add_argument("--levels", help="concurrent sessions of the P2 ramp (1,2,4,8,16,32,64)")
    parser.add_argument("--duration", type=float, help="measured seconds per P2 level (10)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each P2 level (2)")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sessions = args.sessions or (3 if quick else 10)
    args.reruns = args.reruns or (10 if quick else 30)
    args.soak = args.soak or (200 if quick else 2000)
    args.soak_seconds = args.soak_seconds or (30.0 if quick else 180.0)
    args.levels = [int(x) for x in (args.levels or ("1,4,16" if quick else "1,2,4,8,16,32,64")).split(",")]
    args.duration = args.duration or (3.0 if quick else 10.0)
    args.warmup = args.warmup or (1.0 if quick else 2.0)
    apps = args.apps.split(",")
    configs = args.configs.split(",")
    for name in apps:
        if name not in APPS:
            parser.error(f"unknown app {name!r}")
    for name in configs:
        if name not in CONFIGS:
            parser.error(f"unknown config {name!r}")

    load_before = os.getloadavg()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="esat-bench-") as tmp:
        work = Path(tmp)
        code = snapshot(work)
        seed = seed_store(work, code)
        for app in apps:
            for config in configs:
                print(f"  measuring {app} under {config}…", file=sys.stderr)
                with Server(app, config, work, seed, code) as server:
                    try:
                        results.append(asyncio.run(measure(server, args)))
                    except Exception:
                        print(server.log.read_text()[-3000:], file=sys.stderr)
                        raise
    print(report(results))
    print()
    print(machine(load_before))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
