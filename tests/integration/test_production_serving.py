"""Carefair as it runs in production: `carefair serve` (gunicorn) on PostgreSQL answering two
roles behind a proxy, /api/health reporting the migration, and two `carefair scheduler`s at
once running each due job once.

These run the real console script in child processes against a schema of their own (so the
rest of the suite, which rolls back, is not disturbed), and drop it at the end.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("TEST_DATABASE_URL")
CAREFAIR = str(Path(sys.executable).with_name("carefair"))
SCHEMA = "serve_test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(database_url: str, tmp_path: Path, port: int = 8000) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "MAIL_"))}
    env.update(CAREFAIR_MODE="production", SECRET_KEY="s" * 64, DATABASE_URL=database_url,
               PUBLIC_BASE_URL=f"https://127.0.0.1:{port}", TRUSTED_PROXIES="1",
               CAREFAIR_INSTANCE_DIR=str(tmp_path), MAIL_BACKEND="outbox",
               MAIL_SEND_AFTER_COMMIT="false")
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run([CAREFAIR, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"carefair {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def pg_schema(app):
    """A PostgreSQL schema of the test database, migrated and seeded by the real commands."""
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    url = f"{PG_URL}?options=-csearch_path%3D{SCHEMA}%2Cpublic"
    try:
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        engine.dispose()


class Browser:
    """Just enough of a browser over http.client: cookies (Secure ones too: the proxy in front
    speaks https) and the forwarded headers a one-hop proxy adds."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https",
                   "X-Forwarded-For": "203.0.113.7"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # As a browser does: over https Flask-WTF's CSRF check wants a same-site Referer.
            headers["Referer"] = f"https://127.0.0.1:{self.port}{path}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        page = response.read().decode()
        conn.close()
        return response.status, page, dict(response.getheaders())

    def sign_in(self, email: str, password: str) -> None:
        status, page, _ = self.request("GET", "/sign-in")
        assert status == 200, page[:500]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on the sign-in page"
        from urllib.parse import urlencode

        status, page, headers = self.request("POST", "/sign-in", urlencode(
            {"csrf_token": token[1], "email": email, "password": password}))
        assert status == 302, page[:800]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"carefair serve stopped: {process.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("carefair serve did not start listening")


@pytest.mark.postgres_only
def test_carefair_serve_under_gunicorn_serves_two_roles_and_reports_its_migration(
        pg_schema, tmp_path):
    port = _free_port()
    env = _env(pg_schema, tmp_path, port)
    _run(["db", "upgrade"], env)
    # The first staff accounts, made as a council would (the demo seed is too slow for this).
    password = "a long production password"
    _run(["create-staff", "--email", "broker@council.example", "--name", "Bea Broker",
          "--role", "broker", "--password", password], env)
    _run(["create-staff", "--email", "admin@council.example", "--name", "Ada Admin",
          "--role", "council_admin", "--password", password], env)
    server = subprocess.Popen([CAREFAIR, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(port, server)
        anonymous = Browser(port)
        status, body, _ = anonymous.request("GET", "/api/health")
        assert status == 200 and '"up_to_date":true' in body.replace(" ", "")
        assert '"database":"ok"' in body.replace(" ", "")
        # A request naming another host is refused: links can never be built from it.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/sign-in", headers={"Host": "evil.example",
                                                  "X-Forwarded-Proto": "https"})
        assert conn.getresponse().status == 400
        conn.close()

        admin = Browser(port)
        admin.sign_in("admin@council.example", password)
        status, page, _ = admin.request("GET", "/admin/staff")
        assert status == 200 and "Bea Broker" in page
        broker = Browser(port)
        broker.sign_in("broker@council.example", password)
        status, page, _ = broker.request("GET", "/broker/")
        assert status == 200
        # Each role stays in its own area.
        assert admin.request("GET", "/broker/")[0] in (302, 403, 404)
        assert broker.request("GET", "/admin/staff")[0] in (302, 403, 404)
        # Secrets in the address never reach the access log.
        anonymous.request("GET", "/reset-password/secret-token-value?email=someone@example.org")
    finally:
        server.terminate()
        out, err = server.communicate(timeout=60)
        log = out + err  # gunicorn's access log goes to stdout, its own messages to stderr
    assert "GET /admin/staff" in log
    assert "secret-token-value" not in log and "someone@example.org" not in log
    assert "/reset-password/[redacted]" in log


def _scheduler_database(tmp_path: Path, request) -> str:
    if PG_URL:
        return request.getfixturevalue("pg_schema")
    return f"sqlite:///{tmp_path / 'scheduler.db'}"


def test_two_schedulers_at_once_run_each_due_job_once(app, tmp_path, request):
    database_url = _scheduler_database(tmp_path, request)
    env = _env(database_url, tmp_path)
    _run(["db", "upgrade"], env)
    runs = [subprocess.Popen([CAREFAIR, "scheduler", "--once"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [r.communicate(timeout=300) for r in runs]
    assert all(r.returncode == 0 for r in runs), outputs
    lines = [line for out, _ in outputs for line in out.splitlines()]
    from app.scheduler import JOBS

    for job in JOBS:
        ran = [line for line in lines if line.startswith(f"{job.name}: ran")]
        assert len(ran) == 1, f"{job.name} ran {len(ran)} times:\n" + "\n".join(lines)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT job, COUNT(*) FROM scheduled_job_runs GROUP BY job")).all()
    engine.dispose()
    assert sorted(rows) == sorted((job.name, 1) for job in JOBS)
    # Run again: the same due times are already claimed, so nothing runs twice.
    again = _run(["scheduler", "--once"], env)
    assert "ran" not in again
