"""Benchmark: Carefair's main pages under `carefair serve` (gunicorn) on PostgreSQL, at 1, 8 and
32 concurrent clients.

Prints `rps_N: value requests/s` and `p95_N_ms: value ms` for each client count N, plus the
machine's load average (figures taken on a busy machine are starved).

The load is bounded: a fixed number of requests per level (and a time cap), sent only to
127.0.0.1, to a server this script starts and stops itself. It works in its own schema
`bench_http` of BENCH_DATABASE_URL (by default the carefair_bench database, created if missing),
migrated and loaded with the demo data by the real commands, and dropped at the end.

Full run: `.venv/bin/python bench/http.py` (600 requests a level, about a minute unloaded);
`--quick` sends 120 a level.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/http.py`, this file's folder comes first on the path and its name would
# hide the standard library's `http`: take the folder off before importing http.client.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import http.client  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from bench._db import DEFAULT_URL, ensure_database  # noqa: E402

SCHEMA = "bench_http"
HOST = "127.0.0.1"  # never anywhere else
CAREFAIR = str(Path(sys.executable).with_name("carefair"))
PUBLIC_PAGES = ["/", "/search?q=personal+assistant", "/search?category=personal_assistant",
                "/accessibility"]
SIGNED_IN_PAGES = ["/my/budget", "/my/bookings", "/inbox", "/my/people"]
DEMO_PASSWORD = "carefair-demo"


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive connection with its own cookies, as one browser would have."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Host": f"{HOST}:{self.port}", "X-Forwarded-Proto": "https"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # As a browser does: over https Flask-WTF's CSRF check wants a same-site Referer.
            headers["Referer"] = f"https://127.0.0.1:{self.port}{path}"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, response.read().decode(errors="replace")

    def sign_in(self, email: str) -> None:
        _, page = self.request("GET", "/sign-in")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        if token is None:
            raise SystemExit("No CSRF token on the sign-in page")
        status, _ = self.request("POST", "/sign-in", urlencode(
            {"csrf_token": token[1], "email": email, "password": DEMO_PASSWORD}))
        if status != 302:
            raise SystemExit(f"Signing in as {email} gave {status}")


def _level(port: int, clients: int, total: int, cap_seconds: float) -> tuple[float, float, int]:
    """Send `total` requests from `clients` threads (half signed in); (rps, p95 ms, errors)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + cap_seconds
    browsers = []
    for n in range(clients):
        c = Client(port)
        if n % 2 == 1:
            c.sign_in("holder@carefair.example")
        browsers.append(c)

    def work(c: Client, signed_in: bool) -> None:
        pages = SIGNED_IN_PAGES if signed_in else PUBLIC_PAGES
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            status, _ = c.request("GET", pages[n % len(pages)])
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors[0] += 1

    threads = [threading.Thread(target=work, args=(c, i % 2 == 1)) for i, c in enumerate(browsers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000 if latencies else float("nan")
    return len(latencies) / wall, p95, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--quick", action="store_true", help="120 requests a level, not 600")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: serve's)")
    args = parser.parse_args()
    total = 120 if args.quick else 600
    base = ensure_database(args.database_url)
    if not base.startswith("postgresql"):
        raise SystemExit("bench/http.py measures production serving: give a PostgreSQL URL")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{SCHEMA}%2Cpublic"
    port = _free_port()
    instance = tempfile.mkdtemp(prefix="carefair-bench-http-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    env.update(CAREFAIR_MODE="production", SECRET_KEY="bench-" + "x" * 58, DATABASE_URL=url,
               PUBLIC_BASE_URL=f"https://{HOST}:{port}", TRUSTED_PROXIES="1",
               CAREFAIR_INSTANCE_DIR=instance, MAIL_BACKEND="outbox")
    server = None
    try:
        for command in (["db", "upgrade"], ["seed"]):
            subprocess.run([CAREFAIR, *command], env=env, check=True, capture_output=True)
        serve = [CAREFAIR, "serve", "--bind", f"{HOST}:{port}"]
        if args.workers:
            serve += ["--workers", str(args.workers)]
        server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        warm = Client(port)
        for page in PUBLIC_PAGES:
            warm.request("GET", page)
        print(f"loadavg: {_loadavg()} (1-minute, {os.cpu_count()} cores)")
        for clients in (1, 8, 32):
            rps, p95, errors = _level(port, clients, total, cap_seconds=120)
            print(f"rps_{clients}: {rps:.1f} requests/s")
            print(f"p95_{clients}_ms: {p95:.1f} ms")
            if errors:
                print(f"errors_{clients}: {errors} responses other than 200")
        print(f"loadavg_after: {_loadavg()}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
