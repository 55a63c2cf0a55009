"""Test databases on the store under test: DuckDB files, or PostgreSQL databases.

The suite runs on DuckDB, and on PostgreSQL when ``ESAT_TEST_PG`` holds the URL of a throwaway
server's ``postgres`` database (``scripts/pg_server.py`` starts one and sets it). A PostgreSQL
test database is created from the seeded template (``CREATE DATABASE … TEMPLATE``) or empty, and
dropped when the test ends (at the latest when the session ends). Copies of the template are made
one ahead, and databases dropped behind, by a thread of the process (``_Behind``): a test waits
for neither (about 0.1 s and 0.05 s each on a loaded machine).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PG = os.environ.get("ESAT_TEST_PG") or None
KIND = "postgresql" if PG else "duckdb"
# One template per pytest-xdist worker (gw0, gw1…): workers seed in parallel.
TEMPLATE = "esat_seed_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
_names = itertools.count(1)
_created: list[str] = []
_admin = None


def _admin_connection():
    global _admin
    if _admin is None or _admin.closed:
        import psycopg

        _admin = psycopg.connect(PG, autocommit=True)
    return _admin


def url_of(name: str) -> str:
    assert PG is not None
    base, _, _ = PG.rpartition("/")
    return f"{base}/{name}"


def _create(template: str | None, admin: Any = None) -> str:
    """A new database (a copy of ``template``, or empty): its name."""
    name = f"t{os.getpid()}_{next(_names)}"
    sql = f"CREATE DATABASE {name}"
    if template:
        # WAL_LOG, PostgreSQL's default: 40 ms for the 16 MB template, FILE_COPY 90 ms (it
        # checkpoints twice).
        sql += f" TEMPLATE {template} STRATEGY WAL_LOG"
    (admin or _admin_connection()).execute(sql)
    _created.append(name)
    return name


def _drop(name: str, admin: Any = None) -> None:
    (admin or _admin_connection()).execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if name in _created:
        _created.remove(name)


class _Behind:
    """A thread of this process, on a connection of its own, that copies the template one test
    ahead and drops the tests' databases after them."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[Callable[[Any], None] | None] = queue.Queue()
        self.ready: dict[str, queue.Queue[str | BaseException]] = {}
        self.thread = threading.Thread(target=self._run, name="test-databases", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(PG, autocommit=True) as admin:
            while (job := self.jobs.get()) is not None:
                job(admin)

    def copy(self, template: str) -> str:
        if template not in self.ready:
            self.ready[template] = queue.Queue()
            self._make(template)
        self._make(template)  # the next test's
        name = self.ready[template].get(timeout=300)
        if isinstance(name, BaseException):
            raise name
        return name

    def _make(self, template: str) -> None:
        def make(admin: Any) -> None:
            for attempt in range(3):  # a test may be reading the template for a moment
                try:
                    self.ready[template].put(_create(template, admin))
                    return
                except Exception as exc:  # given to the test that waits for this copy
                    if attempt == 2:
                        self.ready[template].put(exc)
                    else:
                        time.sleep(1)

        self.jobs.put(make)

    def drop(self, name: str) -> None:
        self.jobs.put(lambda admin: _drop(name, admin))

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=300)


_behind: _Behind | None = None


def empty(tmp: Path | None = None) -> str:
    """A new empty store (the Store applies the migrations when it opens it)."""
    if PG is None:
        return str(tmp / f"empty-{next(_names)}.duckdb") if tmp else ":memory:"
    return url_of(_create(None))


def seeded_template(tmp: Path) -> str:
    """Where the demo is seeded once per session: a file, or the template database."""
    if PG is None:
        return str(tmp / "demo.duckdb")
    admin = _admin_connection()
    admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {TEMPLATE}")
    return url_of(TEMPLATE)


def analyze(url: str) -> None:
    """Give PostgreSQL the planner statistics of a freshly seeded template (its copies inherit
    them): before autovacuum has run, the campaign totals take 2 s instead of 10 ms."""
    if PG is None:
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("ANALYZE")


def copy(template: str, tmp: Path) -> str:
    """A private copy of a seeded store."""
    global _behind
    if PG is None:
        path = tmp / "esat.duckdb"
        shutil.copy(template, path)
        return str(path)
    if _behind is None:
        _behind = _Behind()
    return url_of(_behind.copy(template.rpartition("/")[2]))


def drop(url: str) -> None:
    """Drop a PostgreSQL test database (its connections are ended) once the test is over;
    nothing to do on DuckDB."""
    if PG is None or not url.startswith("postgres"):
        return
    name = url.rpartition("/")[2]
    if _behind is None:
        _drop(name)
    else:
        _behind.drop(name)


def drop_all() -> None:
    """At the end of the session (the server itself is thrown away after the run)."""
    if PG is None:
        return
    if _behind is not None:
        _behind.stop()
    with contextlib.suppress(Exception):
        for name in list(_created):
            _drop(name)
    if _admin is not None:
        _admin.close()


def known(store, worker_id: int, on, *keys: str) -> dict:
    """What the Caf knows of a worker as of ``on`` (services/timeline.py), limited to ``keys``."""
    from services import timeline

    state = timeline.known_state(store, worker_id, on)
    return {k: state[k] for k in keys}
