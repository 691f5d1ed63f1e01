"""`carefair serve` (Carefair under gunicorn with production defaults) and `carefair scheduler`
(every scheduled job, on its schedule, in one long-lived process)."""

from __future__ import annotations

import os
import re

import click

# Path segments after these are secrets (sign-up, reset and invitation tokens): never logged.
_SECRET_PATHS = re.compile(r"^(/(?:reset-password|sign-up|invitation|my/invitation)/)[^/]+")


def default_workers() -> int:
    """gunicorn's advice, (2 x cores) + 1, capped so a big machine does not exhaust database
    connections (each worker keeps its own pool)."""
    return min(2 * (os.cpu_count() or 1) + 1, 12)


def gunicorn_options(bind: str, workers: int, timeout: int) -> dict:
    options = {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": timeout,  # a worker stuck this long is restarted
        "graceful_timeout": 30,
        "keepalive": 5,
        "max_requests": 2000,  # recycle workers now and then (slow leaks in any library)
        "max_requests_jitter": 200,
        "accesslog": "-",
        "errorlog": "-",
        # The path without its query string (%(U)s, not %(r)s), and no Referer: query strings
        # and referring pages can carry tokens and personal details.
        "access_log_format": '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms',
        "logger_class": "app.cli_serve.RedactingLogger",
        # Forwarded headers are believed only through TRUSTED_PROXIES (ProxyFix in the app).
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "preload_app": True,  # a settings problem stops the start, once, with its message
        "proc_name": "carefair",
    }
    # gunicorn 24+ opens a control socket under the home directory, which a hardened systemd
    # unit (ProtectHome) does not allow; Carefair does not use it.
    options_with_control = {**options, "control_socket_disable": True}
    return options_with_control


def _logger_class():
    from gunicorn.glogging import Logger

    class _RedactingLogger(Logger):
        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            atoms["U"] = _SECRET_PATHS.sub(r"\1[redacted]", atoms.get("U", ""))
            return atoms

    return _RedactingLogger


def __getattr__(name: str):
    # gunicorn imports the logger class by dotted name; built lazily so importing this module
    # (the CLI) does not import gunicorn.
    if name == "RedactingLogger":
        return _logger_class()
    raise AttributeError(name)


@click.command("serve")
@click.option("--bind", default=lambda: os.environ.get("CAREFAIR_BIND", "127.0.0.1:8000"),
              show_default="127.0.0.1:8000 or CAREFAIR_BIND")
@click.option("--workers", type=int, default=None, help="Default: (2 x cores) + 1, at most 12.")
@click.option("--timeout", type=int, default=30, show_default=True)
def serve_command(bind: str, workers: int | None, timeout: int) -> None:
    """Serve Carefair in production under gunicorn (put a TLS-terminating proxy in front)."""
    from gunicorn.app.base import BaseApplication

    from app import create_app

    app = create_app()  # refuses to start (with its message) on unsafe settings
    options = gunicorn_options(bind, workers or default_workers(), timeout)

    class _Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if key in self.cfg.settings:  # control_socket_disable: only gunicorn 24+
                    self.cfg.set(key, value)
            self.cfg.set("post_fork", lambda _server, _worker: _fresh_connections(app))

        def load(self):
            return app

    click.echo(f"Carefair on http://{bind} with {options['workers']} worker(s)", err=True)
    _Server().run()


def _fresh_connections(app) -> None:
    # The app was made before forking: each worker opens its own database connections.
    from app.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run whatever is due now, then stop.")
@click.option("--tick", type=float, default=20.0, show_default=True,
              help="Seconds between looks for due jobs.")
def scheduler_command(once: bool, tick: float) -> None:
    """Run every scheduled job on its schedule, in one long-lived process. Safe to run on two
    machines at once: each due run happens once."""
    from app import create_app, scheduler

    app = create_app()
    if once:
        with app.app_context():
            report = scheduler.run_due()
        for name, what in report.items():
            click.echo(f"{name}: {what}")
        return
    click.echo(f"Scheduler started: {', '.join(j.name for j in scheduler.JOBS)}", err=True)
    scheduler.run_forever(app, tick_seconds=tick, echo=click.echo)
