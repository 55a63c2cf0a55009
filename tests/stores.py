"""Test databases on the store under test: DuckDB files, or PostgreSQL databases.

The suite runs on DuckDB, and on PostgreSQL when ``ESAT_TEST_PG`` holds the URL of a throwaway
server's ``postgres`` database (``scripts/pg_server.py`` starts one and sets it). A PostgreSQL
test database is created from the seeded template (``CREATE DATABASE … TEMPLATE``, ~0.1 s) or
empty, and dropped when the test ends (at the latest when the session ends).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from pathlib import Path

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


def _create(template: str | None) -> str:
    name = f"t{os.getpid()}_{next(_names)}"
    sql = f"CREATE DATABASE {name}"
    if template:
        sql += f" TEMPLATE {template} STRATEGY FILE_COPY"
    _admin_connection().execute(sql)
    _created.append(name)
    return url_of(name)


def empty(tmp: Path | None = None) -> str:
    """A new empty store (the Store applies the migrations when it opens it)."""
    if PG is None:
        return str(tmp / f"empty-{next(_names)}.duckdb") if tmp else ":memory:"
    return _create(None)


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
    if PG is None:
        path = tmp / "esat.duckdb"
        shutil.copy(template, path)
        return str(path)
    return _create(template.rpartition("/")[2])


def drop(url: str) -> None:
    """Drop a PostgreSQL test database (its connections are ended); nothing to do on DuckDB."""
    if PG is None or not url.startswith("postgres"):
        return
    name = url.rpartition("/")[2]
    _admin_connection().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if name in _created:
        _created.remove(name)


def drop_all() -> None:
    """At the end of the session (the server itself is thrown away after the run)."""
    if PG is None:
        return
    with contextlib.suppress(Exception):
        for name in list(_created):
            drop(url_of(name))
    if _admin is not None:
        _admin.close()


def known(store, worker_id: int, on, *keys: str) -> dict:
    """What the Caf knows of a worker as of ``on`` (services/timeline.py), limited to ``keys``."""
    from services import timeline

    state = timeline.known_state(store, worker_id, on)
    return {k: state[k] for k in keys}
