"""A throwaway PostgreSQL server: ``initdb`` in a temporary folder, a free port on 127.0.0.1.

    python scripts/pg_server.py -- COMMAND [ARGS…]   run COMMAND with ESAT_TEST_PG set, then stop
    python scripts/pg_server.py                      print the URL and serve until Ctrl-C

``ESAT_TEST_PG`` is the URL of the server's ``postgres`` database (trust authentication, reached
on 127.0.0.1 only). The server is stopped and its folder removed at the end, even when COMMAND
fails or the script is interrupted. It uses Debian's PostgreSQL binaries (``make postgresql``
installs them); PostgreSQL refuses to run as root, so as root the server runs as ``nobody``.
Durability is switched off (``fsync=off``…): this server holds test data only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

FAST = {  # a test server: nothing of it has to survive a crash
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
}


def bindir() -> Path:
    """The folder of ``initdb`` and ``postgres``: Debian's newest version, else the PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    sys.exit("PostgreSQL est introuvable : installez-le avec « make postgresql » (paquet Debian postgresql).")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres(log: Path | None = None) -> Iterator[str]:
    """Start a server in a fresh folder; yield the URL of its ``postgres`` database; stop it."""
    bin_ = bindir()
    folder = Path(tempfile.mkdtemp(prefix="esat-pg-"))
    user: str | None = None
    if os.geteuid() == 0:
        user = "nobody"
        os.chown(folder, pwd.getpwnam(user).pw_uid, -1)
    data = folder / "data"
    log = log or folder / "server.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        locale = ["--locale=C.UTF-8"] if _has_c_utf8() else ["--no-locale"]
        subprocess.run(  # noqa: S603 - our own arguments
            [bin_ / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", *locale,
             "--no-sync", "--no-instructions"],
            check=True, user=user, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        port = free_port()
        settings = [f"-c{k}={v}" for k, v in FAST.items()]
        with open(log, "ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own arguments
                [bin_ / "postgres", "-D", data, "-p", str(port), "-k", folder,
                 "-c", "listen_addresses=127.0.0.1", *settings],
                user=user, cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _wait_ready(proc, port, log)
        yield url
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # "fast" shutdown: ends the sessions, stops cleanly
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _has_c_utf8() -> bool:
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)  # noqa: S607
    out = locales.stdout.lower()
    return "c.utf8" in out or "c.utf-8" in out


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            sys.exit(f"PostgreSQL s'est arrêté au démarrage :\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            import psycopg

            try:
                psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                pass  # "the database system is starting up"
        if time.monotonic() > deadline:
            sys.exit("PostgreSQL n'a pas démarré en 60 s.")
        time.sleep(0.1)


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    # SIGTERM (CI stopping the job) unwinds like Ctrl-C, so the server is always stopped.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with postgres() as url:
            if not command:
                print(f"ESAT_TEST_PG={url}", flush=True)
                print("PostgreSQL tourne ; Ctrl-C pour l'arrêter.", flush=True)
                while True:
                    time.sleep(3600)
            run = subprocess.run(command, env={**os.environ, "ESAT_TEST_PG": url}, check=False)  # noqa: S603
            return run.returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
