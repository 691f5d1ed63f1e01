"""Fault injection for the fault tests: a proxy in front of localstripe that can drop or stall
any one call (Stripe down or timing out), a database error raised after the Nth write of a use
case (a SQLAlchemy event), and a counter of commits and Stripe calls in the order they happen.

None of this replaces Carefair's code: the services, the gateway and the Stripe SDK run as they
are; only the network and the database misbehave."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session


@dataclass
class StripeProxy:
    """Forwards every request to localstripe, except the call numbered `fail_call` (1-based),
    which it drops ("down": the connection closes with no answer) or holds past the client's
    timeout ("timeout"). `down=True` drops every call. `log` records calls as they happen."""

    upstream: str
    url: str = ""
    fail_call: int | None = None
    how: str = "down"
    down: bool = False
    stall_seconds: float = 3.0
    calls: int = 0
    log: list[str] = field(default_factory=list)
    events: list[str] | None = None  # shared with a CommitCounter to see the order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, *, fail_call: int | None = None, how: str = "down", down: bool = False) -> None:
        with self.lock:
            self.fail_call, self.how, self.down = fail_call, how, down
            self.calls = 0
            self.log.clear()


def _proxy_handler(proxy: StripeProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            with proxy.lock:
                proxy.calls += 1
                number = proxy.calls
                proxy.log.append(f"{self.command} {self.path}")
                if proxy.events is not None:
                    proxy.events.append(f"stripe {self.command} {self.path.split('?')[0]}")
                fail = proxy.down or number == proxy.fail_call
            if fail:
                if proxy.how == "timeout" and not proxy.down:
                    time.sleep(proxy.stall_seconds)
                self.close_connection = True
                self.connection.close()  # no answer at all: the client sees a network error
                return
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}
            request = urllib.request.Request(proxy.upstream + self.path, data=body,
                                             headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, payload = response.status, response.read()
                    content_type = response.headers.get("Content-Type", "application/json")
            except urllib.error.HTTPError as err:
                status, payload = err.code, err.read()
                content_type = err.headers.get("Content-Type", "application/json")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _forward  # noqa: N815 (http.server's naming)

    return Handler


@contextmanager
def stripe_proxy(upstream: str) -> Iterator[StripeProxy]:
    proxy = StripeProxy(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class InjectedDatabaseError(OperationalError):
    """What the database fault raises: an OperationalError, as a lost connection would."""

    def __init__(self, where: str) -> None:
        super().__init__(f"injected fault {where}", {}, Exception("server closed the connection"))


@dataclass
class WriteFaults:
    """Counts the write points of every session (each flush, and each commit) and raises an
    InjectedDatabaseError at point number `fail_at` (1-based): after the writes of that flush
    reached the database, or as that commit begins. `fail_at=None` only counts."""

    fail_at: int | None = None
    points: list[str] = field(default_factory=list)
    fired: bool = False

    def _point(self, what: str) -> None:
        self.points.append(what)
        if not self.fired and self.fail_at is not None and len(self.points) == self.fail_at:
            self.fired = True
            raise InjectedDatabaseError(f"at write point {self.fail_at} ({what})")

    def after_flush(self, session, flush_context) -> None:
        changed = len(session.new) + len(session.dirty) + len(session.deleted)
        if changed:
            self._point(f"flush of {changed} rows")

    def before_commit(self, session) -> None:
        self._point("commit")


@contextmanager
def write_faults(fail_at: int | None = None) -> Iterator[WriteFaults]:
    faults = WriteFaults(fail_at)
    event.listen(Session, "after_flush", faults.after_flush)
    event.listen(Session, "before_commit", faults.before_commit)
    try:
        yield faults
    finally:
        event.remove(Session, "after_flush", faults.after_flush)
        event.remove(Session, "before_commit", faults.before_commit)


# The rows a booking use case itself changes; a commit that writes none of them is bookkeeping
# around a Stripe call (the gateway recording the call it is about to make, a card step's result).
USE_CASE_TABLES = frozenset({"bookings", "booking_sessions", "ledger_transactions",
                             "ledger_entries", "holder_pauses", "pool_participants"})


@dataclass
class CommitCounter:
    """Every session commit (after_commit) in order, with the tables its transaction wrote,
    alongside any Stripe calls a proxy sees."""

    events: list[str] = field(default_factory=list)
    writing: dict[int, set[str]] = field(default_factory=dict)

    def after_flush(self, session, flush_context) -> None:
        tables = self.writing.setdefault(id(session), set())
        for obj in [*session.new, *session.dirty, *session.deleted]:
            table = getattr(obj, "__tablename__", None)
            if table:
                tables.add(table)

    def after_commit(self, session) -> None:
        tables = self.writing.pop(id(session), set())
        self.events.append("commit " + ",".join(sorted(tables)))

    def after_rollback(self, session) -> None:
        self.writing.pop(id(session), None)

    @property
    def commits(self) -> int:
        return sum(e.startswith("commit") for e in self.events)

    def use_case_commits_before_stripe(self) -> int:
        """Commits before the first Stripe call that wrote the use case's own rows."""
        first = next((i for i, e in enumerate(self.events) if e.startswith("stripe")),
                     len(self.events))
        return sum(1 for e in self.events[:first] if e.startswith("commit")
                   and USE_CASE_TABLES & set(e.removeprefix("commit ").split(",")))


@contextmanager
def counting_commits(proxy: StripeProxy | None = None) -> Iterator[CommitCounter]:
    counter = CommitCounter()
    if proxy is not None:
        proxy.events = counter.events
    hooks = (("after_flush", counter.after_flush), ("after_commit", counter.after_commit),
             ("after_soft_rollback", lambda session, previous: counter.after_rollback(session)))
    for name, fn in hooks:
        event.listen(Session, name, fn)
    try:
        yield counter
    finally:
        for name, fn in hooks:
            event.remove(Session, name, fn)
        if proxy is not None:
            proxy.events = None
