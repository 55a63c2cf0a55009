"""The framework fixes of ui/server.py are in effect in the real server (python -m ui.server).

- ``runner.postScriptGC`` is off: read from the line the server logs once its configuration is
  final, for the app and for a script far from the project's .streamlit/config.toml (which sets
  it too, for AppTest and a plain ``streamlit run``): ui.server carries the fix on its own.
- TCP_NODELAY is set on the server's side of an accepted connection: the test opens a real
  WebSocket, has a whole rerun carried over it, then duplicates the server's socket into this
  process (``pidfd_getfd``, Linux ≥ 5.6) and reads the option. Where that call is refused, it
  falls back on the symptom: without TCP_NODELAY a rerun of the login page waits for the
  client's delayed ACK (≥ 40 ms on Linux).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import loadgen

pytestmark = pytest.mark.xdist_group("server_tuning")  # one xdist worker: its servers are module fixtures

ROOT = Path(__file__).resolve().parent.parent
SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture


@dataclass
class Served:
    url: str
    port: int
    pid: int
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def start(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"server exited: {log.read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.3)


def serve(command: list[str], work: Path) -> Iterator[Served]:
    port = free_port()
    log = work / "server.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ESAT_DB": str(work / "esat.duckdb"),
        "ESAT_OUTBOX": str(work / "outbox"),
    }
    options = ["--server.address=127.0.0.1", f"--server.port={port}", "--server.headless=true"]
    url = f"http://127.0.0.1:{port}"
    with start([*command, *options], work, env, log) as proc:
        wait_until_serving(proc, url, log)
        yield Served(url, port, proc.pid, log)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``python -m ui.server``: the app, as ``make run`` serves it."""
    yield from serve([sys.executable, "-m", "ui.server"], tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def served_bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """ui.server's ``serve`` for a script with no .streamlit/config.toml anywhere near it."""
    work = tmp_path_factory.mktemp("bare")
    (work / "page.py").write_text('import streamlit as st\n\nst.title("Page")\nst.button("Bouton")\n')
    launcher = "import sys; from ui.server import serve; serve(sys.argv[1], sys.argv[2:])"
    yield from serve([sys.executable, "-c", launcher, str(work / "page.py")], work)


def tuning(served: Served) -> list[str]:
    text = served.log.read_text()
    found = re.findall(r"server tuning: runner\.postScriptGC=(\w+)", text)
    assert found, f"the server logged no tuning line: {text[-2000:]}"
    return found


def test_the_app_is_served_without_the_forced_collection_after_each_run(served: Served):
    assert tuning(served) == ["False"]


def test_ui_server_switches_the_forced_collection_off_by_itself(served_bare: Served):
    # Streamlit reads the config.toml next to the main script: app.py's would hide a missing
    # default in ui.server, so this script has none.
    assert tuning(served_bare) == ["False"]


def test_project_config_switches_the_forced_collection_off_too():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False


def server_side_nodelay(pid: int, server_port: int, client: tuple[str, int]) -> int:
    """TCP_NODELAY of the server's socket connected to ``client`` (a duplicate of its fd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            except OSError:
                continue  # closed meanwhile
            fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if fd < 0:
                code = ctypes.get_errno()
                if code == errno.EBADF:
                    continue
                raise OSError(code, os.strerror(code))
            with socket.socket(fileno=fd) as sock:
                if sock.family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                try:
                    peer = sock.getpeername()
                except OSError:
                    continue  # the listening socket
                if peer[:2] == client[:2] and sock.getsockname()[1] == server_port:
                    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        os.close(pidfd)
    raise LookupError(f"no socket of the server is connected to {client}")


async def probe(served: Served) -> tuple[int | None, list[float]]:
    session = await loadgen.Session.open(served.url)
    try:
        first = await session.rerun()
        assert first.page == "Bienvenue", first.texts
        client = session.ws.transport.get_extra_info("sockname")
        try:
            return server_side_nodelay(served.pid, served.port, client), []
        except OSError:  # pidfd_getfd refused here (old kernel, no ptrace right)
            return None, [(await session.rerun()).seconds * 1000 for _ in range(15)]
    finally:
        await session.close()


def test_accepted_connections_have_tcp_nodelay(served: Served):
    nodelay, rerun_ms = asyncio.run(probe(served))
    if nodelay is not None:
        assert nodelay != 0, "the server's side of the WebSocket has no TCP_NODELAY"
    else:
        # Without the option each rerun of this page waits ≥ 40 ms for the delayed ACK.
        assert statistics.median(rerun_ms) < 35, rerun_ms
