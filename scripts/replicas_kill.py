"""Three replicas on one PostgreSQL behind nginx; one is killed during concurrent submissions.

    .venv/bin/python -m scripts.replicas_kill [--concurrency 60] [--seed N]

1. A throwaway PostgreSQL server (scripts/pg_server.py) with the demo seeded ("today" inside the
   certificat window).
2. Three replicas ``python -m ui.server`` on that database (same ``server.cookieSecret``), behind
   Debian's nginx on 127.0.0.1 with sticky hashing on a route cookie set by nginx. Checked: a
   browser without the cookie gets one; each cookie always reaches the same replica; cookies
   spread over the replicas; when a replica is SIGKILLed, its cookies reach a survivor.
3. Concurrent submissions through the real ``services.declarations.submit``, from three
   application processes at once (``scripts.kill_submissions child``: one thread per submission,
   ``ACK`` printed only once ``submit`` has returned), with double clicks and rivals spread over
   the processes; one process is SIGKILLed in the middle, with the replica.
4. Checked in PostgreSQL: every acknowledged declaration is stored once with its receipt (0 lost),
   no key / natural key has two declarations (0 duplicated), each declaration has its values, its
   outbox message and one audit row, and the audit chain is intact. Then the keys the killed
   process never answered are filed again on a survivor: each is then stored exactly once.

Exit status 1 when anything is lost, duplicated, partial, or when the routing checks fail.
Result and date: docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from data.demo import seed_demo
from data.store import Store
from scripts import kill_submissions as ks
from scripts.pg_server import free_port, postgres
from services import audit
from services.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "esat_route"
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # Sticky sessions: a route cookie set on the first response, hashed to pick the replica.
    map $cookie_{cookie} $route {{ "" $request_id; default $cookie_{cookie}; }}
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    upstream espace_esat {{
        hash $route consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://espace_esat;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 86400;
            proxy_next_upstream error timeout;
            add_header Set-Cookie "{cookie}=$route; Path=/; HttpOnly; SameSite=Lax" always;
            add_header X-Replica $upstream_addr always;
        }}
    }}
}}
"""


def start_replica(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "ui.server", "--server.address=127.0.0.1", f"--server.port={port}",
             "--server.headless=true"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def wait_healthy(port: int, deadline: float) -> None:
    while True:
        with contextlib.suppress(OSError):
            if get(port, "/_stcore/health")[0] == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"replica on port {port} did not start")
        time.sleep(0.3)


def routing(proxy: int, cookies: list[str]) -> dict[str, set[str]]:
    """Replica address(es) each cookie reached over 5 requests."""
    seen: dict[str, set[str]] = {}
    for cookie in cookies:
        for _ in range(5):
            status, headers = get(proxy, "/_stcore/health", cookie)
            if status == 200:
                seen.setdefault(cookie, set()).add(headers.get("x-replica", "?").split(",")[-1].strip())
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.replicas_kill", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20261210)
    args = parser.parse_args(argv)
    if not shutil.which("nginx"):
        print("nginx est introuvable : apt-get install nginx-light", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="esat-replicas-"))
    os.chmod(tmp, 0o755)  # noqa: S103 - nginx workers (nobody) read the folder
    problems: list[str] = []
    started = time.monotonic()
    replicas: list[subprocess.Popen[bytes]] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        with postgres(tmp / "postgres.log") as admin:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("CREATE DATABASE esat")
            url = admin.rpartition("/")[0] + "/esat"
            env = {
                **os.environ,
                "ESAT_DB": url,
                "ESAT_TODAY": ks.TODAY.isoformat(),
                "ESAT_DEMO": "1",
                "ESAT_SECRET": "replicas-secret",
                "ESAT_OUTBOX": str(tmp / "outbox"),
                "STREAMLIT_SERVER_COOKIE_SECRET": "one-secret-for-every-replica",
            }
            os.environ.update({k: env[k] for k in ("ESAT_DB", "ESAT_TODAY", "ESAT_SECRET", "ESAT_OUTBOX")})
            settings = load_settings()
            store = Store(url)
            seed_demo(store, today=ks.TODAY, password=secrets.token_urlsafe(16), secret=settings.secret)

            # -- three replicas behind nginx ------------------------------------------------------
            ports = [free_port() for _ in range(3)]
            replicas = [start_replica(env, p, tmp / f"replica-{i}.log") for i, p in enumerate(ports)]
            for p in ports:
                wait_healthy(p, time.monotonic() + 120)
            proxy = free_port()
            servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in ports)
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (tmp / sub).mkdir()
                os.chmod(tmp / sub, 0o777)  # noqa: S103 - nginx temp folders, written by nobody
            conf = tmp / "nginx.conf"
            conf.write_text(NGINX_CONF.format(tmp=tmp, cookie=COOKIE, servers=servers, port=proxy))
            nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)], stderr=subprocess.STDOUT)  # noqa: S603, S607
            wait_healthy(proxy, time.monotonic() + 30)
            status, headers = get(proxy, "/")
            first_cookie = headers.get("set-cookie", "")
            if status != 200 or not first_cookie.startswith(f"{COOKIE}="):
                problems.append(f"no route cookie on the first response: {status} {first_cookie!r}")
            cookies = [f"browser-{n:02d}" for n in range(24)]
            before = routing(proxy, cookies)
            if any(len(v) != 1 for v in before.values()) or len(before) != len(cookies):
                problems.append(f"not sticky: {before}")
            used = Counter(next(iter(v)) for v in before.values())
            if len(used) != 3:
                problems.append(f"cookies did not spread over the 3 replicas: {dict(used)}")

            # -- concurrent submissions from three processes; one killed ----------------------------
            account = ks.demo_account(store)
            items = ks.plan_run(store, settings, account, "rep", args.concurrency, rng)
            store.close()
            plans = [[], [], []]
            for n, item in enumerate(items):
                plans[n % 3].append(item)
            paths = []
            for i, plan in enumerate(plans):
                path = tmp / f"plan-{i}.json"
                body = {"account_id": account.id, "items": [asdict(x) for x in plan]}
                path.write_text(json.dumps(body, default=str), encoding="utf-8")
                paths.append(path)
            victim = rng.randrange(3)
            kill_after = max(1, len(plans[victim]) // 3)
            outcomes: dict[int, ks.ChildOutcome] = {}

            def run(i: int) -> None:
                after = kill_after if i == victim else 10**9
                outcomes[i] = ks.run_child(url, paths[i], env, after, 0.0, tmp / f"child-{i}.log")  # type: ignore[arg-type]

            threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            replicas[victim].send_signal(signal.SIGKILL)  # the replica dies with its process
            for t in threads:
                t.join()
            replicas[victim].wait()
            dead = f"127.0.0.1:{ports[victim]}"
            pinned = [c for c, v in before.items() if dead in v]
            after = routing(proxy, pinned)
            if any(dead in v or len(v) != 1 for v in after.values()) or len(after) != len(pinned):
                problems.append(f"the killed replica's browsers were not moved to one survivor: {after}")

            # -- checks -------------------------------------------------------------------------------
            acked: dict[str, str] = {}
            refused: dict[str, str] = {}
            errors: list[str] = []
            for i in range(3):
                _, a, r, e, conflicts = ks.parse_answers(outcomes[i].lines)
                for key, receipt in a.items():
                    if acked.get(key, receipt) != receipt:
                        problems.append(f"key {key} acknowledged as {acked[key]} and {receipt}")
                    acked[key] = receipt
                refused.update(r)
                errors += e
                problems += sorted(conflicts)
            killed = outcomes[victim].killed
            store = Store(url)
            lost, duplicates, partial = check(store, acked, refused)
            answered = {
                line.split(" ")[1] for line in outcomes[victim].lines if line.startswith(("ACK", "REFUSED"))
            }
            unanswered = [x for x in plans[victim] if x.key not in answered]
            store.close()
            if unanswered:  # the browser's retry, on a surviving replica
                retry = tmp / "plan-retry.json"
                body = {"account_id": account.id, "items": [asdict(x) for x in unanswered]}
                retry.write_text(json.dumps(body, default=str), encoding="utf-8")
                again = ks.run_child(url, retry, env, 10**9, 0.0, tmp / "child-retry.log")  # type: ignore[arg-type]
                _, a, r, e, conflicts = ks.parse_answers(again.lines)
                errors += e
                problems += sorted(conflicts)
                store = Store(url)
                retried = {x.key for x in unanswered}
                counts = {
                    row["idempotency_key"]: row["n"]
                    for row in store.all(
                        "SELECT idempotency_key, count(*) AS n FROM declaration WHERE idempotency_key LIKE ? "
                        "GROUP BY idempotency_key",
                        [f"{ks.KEY_PREFIX}%"],
                    )
                }
                not_once = sorted(k for k in retried if k not in r and counts.get(k) != 1)
                if not_once:
                    problems.append(f"retried keys not stored exactly once: {not_once}")
                acked.update(a)
                refused.update(r)
                more = check(store, acked, refused)
                lost, duplicates, partial = lost | more[0], duplicates | more[1], partial | more[2]
                verdict = audit.verify(store)
                store.close()
            else:
                store = Store(url)
                verdict = audit.verify(store)
                store.close()
            if not verdict.ok:
                problems += verdict.problems
            if errors:
                problems.append(f"{len(errors)} submissions failed: {errors[:5]}")
            if not killed:
                problems.append("the victim process finished before it was killed")
            result = {
                "submissions": len(items),
                "acknowledged keys": len(acked),
                "refused (rival or double)": len(refused),
                "killed process unanswered, then retried": len(unanswered),
                "lost": len(lost),
                "duplicated": len(duplicates),
                "partial": len(partial),
                "audit chain": "intacte" if verdict.ok else "ROMPUE",
                "routing": "sticky, moved on kill"
                if not any("sticky" in p or "moved" in p for p in problems)
                else "KO",
                "seconds": round(time.monotonic() - started, 1),
            }
            for k, v in result.items():
                print(f"{k}: {v}")
            for p in problems + [f"lost: {k}" for k in lost] + [f"duplicate: {k}" for k in duplicates]:
                print(f"PROBLEM {p}")
            return 1 if problems or lost or duplicates or partial else 0
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                nginx.wait(timeout=10)
            if nginx.poll() is None:
                nginx.kill()
        for proc in replicas:
            if proc.poll() is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
                if proc.poll() is None:
                    proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def check(
    store: Store, acked: dict[str, str], refused: dict[str, str]
) -> tuple[set[str], set[str], set[str]]:
    """(lost, duplicated, partial) among the script's declarations."""
    rows = store.all(
        "SELECT d.id, d.idempotency_key, d.receipt_number, d.natural_key, "
        "(SELECT count(*) FROM declaration_value v WHERE v.declaration_id = d.id) AS n_values, "
        "(SELECT count(*) FROM outbox o WHERE o.declaration_id = d.id) AS n_outbox, "
        "(SELECT count(*) FROM audit_log a WHERE a.action = 'declaration_submitted' "
        " AND a.object_ref = d.receipt_number) AS n_audit "
        "FROM declaration d WHERE d.idempotency_key LIKE ?",
        [f"{ks.KEY_PREFIX}%"],
    )
    by_key = Counter(r["idempotency_key"] for r in rows)
    receipts = {r["receipt_number"] for r in rows} | {
        r["receipt_number"] for r in store.all("SELECT receipt_number FROM declaration")
    }
    lost = {k for k, receipt in acked.items() if receipt not in receipts}
    lost |= {k for k, receipt in refused.items() if receipt not in receipts}
    stored_receipt = {r["idempotency_key"]: r["receipt_number"] for r in rows}
    lost |= {k for k, receipt in acked.items() if stored_receipt.get(k) != receipt}
    duplicates = {k for k, n in by_key.items() if n > 1}
    natural = Counter(r["natural_key"] for r in rows if r["natural_key"])
    duplicates |= {k for k, n in natural.items() if n > 1}
    partial = {
        r["idempotency_key"] for r in rows if not (r["n_values"] and r["n_outbox"] == 1 and r["n_audit"] == 1)
    }
    return lost, duplicates, partial


if __name__ == "__main__":
    sys.exit(main())
