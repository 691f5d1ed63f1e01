"""Test servers for payments: a real localstripe on 127.0.0.1, a Connect stub, and fixtures.

Import the fixtures into a test module with
`from tests.stripe_support import gateway, localstripe_url  # noqa: F401`.

* localstripe (PyPI, GPL, test dependency only) is started once per session by
  `python -m tests.localstripe_launcher` in a subprocess, bound to 127.0.0.1 on a free port.
* The Connect stub is the documented test double for Stripe Connect, which localstripe lacks:
  an http.server on 127.0.0.1 that records each request the official SDK sends (method, path,
  form fields, headers such as Idempotency-Key and Stripe-Account) and answers with canned
  Stripe-shaped JSON, so tests assert exactly what Carefair asks Stripe to do.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import stripe

from app.adapters.stripe_gateway import PaymentGateway, make_stripe_client

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET_KEY = "sk_test_carefair"  # localstripe accepts any sk_ key
VISA = "4242424242424242"
DECLINED_ON_ATTACH = "4000000000000002"  # localstripe refuses to save this card (card_declined)
DECLINED_ON_CHARGE = "4000000000000341"  # saves, then is declined when charged


class LocalStripe:
    """A localstripe subprocess serving on 127.0.0.1; `url` is its API base."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.localstripe_launcher"],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        port = self._read_port(timeout=20)
        self.url = f"http://127.0.0.1:{port}"
        self._wait_ready(timeout=20)

    def _read_port(self, timeout: float) -> int:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"localstripe did not start: {line!r} {self.process.stderr.read()}")
        return int(line.split()[1])

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                request = urllib.request.Request(
                    f"{self.url}/v1/customers",
                    headers={"Authorization": f"Bearer {TEST_SECRET_KEY}"},
                )
                with urllib.request.urlopen(request, timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def register_webhook(self, name: str, url: str, secret: str, events: list[str]) -> None:
        """localstripe's own configuration endpoint: it then POSTs signed events to `url`."""
        body = json.dumps({"url": url, "secret": secret, "events": events}).encode()
        request = urllib.request.Request(
            f"{self.url}/_config/webhooks/{name}",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[LocalStripe]:
    server = LocalStripe()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def localstripe_url(localstripe_server) -> str:
    return localstripe_server.url


def stripe_client(api_base: str) -> stripe.StripeClient:
    # No retries and a short timeout: a fault test must fail fast, not retry for a minute.
    return make_stripe_client(TEST_SECRET_KEY, api_base, max_network_retries=0, timeout_seconds=5)


@pytest.fixture
def stripe_api(localstripe_url) -> stripe.StripeClient:
    """A raw SDK client on localstripe, for test set-up only (creating cards as Stripe.js would)."""
    return stripe_client(localstripe_url)


@pytest.fixture
def gateway(localstripe_url) -> PaymentGateway:
    return PaymentGateway(stripe_client(localstripe_url))


def new_card(client: stripe.StripeClient, number: str = VISA) -> str:
    """A PaymentMethod id, as the browser would get from Stripe.js."""
    method = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return method.id


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def key() -> str:
    return f"test-{secrets.token_hex(8)}"


# ----- the Connect stub --------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class ConnectStub:
    """Records requests; answers POST /v1/accounts, /v1/account_links, /v1/transfers and
    /v1/transfers/<id>/reversals (refusing, as Stripe does, to reverse more than a transfer
    still holds)."""

    url: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_with_status: int | None = None  # answer every request with this error status
    transfer_left: dict[str, int] = field(default_factory=dict)  # transfer id -> not reversed

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _stub_handler(stub: ConnectStub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            recorded = RecordedRequest(
                "POST",
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                dict(parse_qsl(body, keep_blank_values=True)),
            )
            stub.requests.append(recorded)
            if stub.fail_with_status:
                return self._send(
                    stub.fail_with_status,
                    {"error": {"type": "api_error", "message": "Stub outage"}},
                )
            now = int(time.time())
            form = recorded.form
            if self.path == "/v1/accounts":
                return self._send(
                    200,
                    {
                        "id": f"acct_{secrets.token_hex(8)}",
                        "object": "account",
                        "type": form.get("type"),
                        "email": form.get("email"),
                        "country": form.get("country"),
                        "details_submitted": False,
                        "payouts_enabled": False,
                        "charges_enabled": False,
                    },
                )
            if self.path == "/v1/account_links":
                account = form.get("account", "")
                return self._send(
                    200,
                    {
                        "object": "account_link",
                        "created": now,
                        "expires_at": now + 300,
                        "url": f"https://connect.stripe.com/setup/e/{account}/x",
                    },
                )
            if self.path.startswith("/v1/transfers/") and self.path.endswith("/reversals"):
                transfer_id = self.path.split("/")[3]
                amount = int(form["amount"])
                if amount > stub.transfer_left.get(transfer_id, 0):
                    return self._send(400, {"error": {
                        "type": "invalid_request_error",
                        "message": "Amount exceeds what is left of the transfer."}})
                stub.transfer_left[transfer_id] -= amount
                return self._send(200, {"id": f"trr_{secrets.token_hex(8)}",
                                        "object": "transfer_reversal", "amount": amount,
                                        "currency": "gbp", "transfer": transfer_id})
            if self.path == "/v1/transfers":
                transfer_id = f"tr_{secrets.token_hex(8)}"
                stub.transfer_left[transfer_id] = int(form["amount"])
                return self._send(
                    200,
                    {
                        "id": transfer_id,
                        "object": "transfer",
                        "amount": int(form["amount"]),
                        "currency": form["currency"],
                        "destination": form["destination"],
                        "source_transaction": form.get("source_transaction"),
                        "transfer_group": form.get("transfer_group"),
                    },
                )
            return self._send(
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"Unrecognized request URL (POST: {self.path})",
                    }
                },
            )

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def connect_stub() -> Iterator[ConnectStub]:
    stub = ConnectStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _stub_handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def connect_gateway(localstripe_url, connect_stub) -> PaymentGateway:
    """Card calls to localstripe, Connect calls to the stub (as STRIPE_CONNECT_API_BASE does)."""
    return PaymentGateway(stripe_client(localstripe_url), stripe_client(connect_stub.url))


# ----- a receiver for localstripe's webhook deliveries -------------------------------------


@dataclass
class WebhookInbox:
    url: str = ""
    deliveries: list[tuple[bytes, str]] = field(default_factory=list)  # (body, Stripe-Signature)

    def wait_for(self, event_type: str, object_id: str, timeout: float = 10) -> tuple[bytes, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body, signature in list(self.deliveries):
                event = json.loads(body)
                if event["type"] == event_type and event["data"]["object"].get("id") == object_id:
                    return body, signature
            time.sleep(0.05)
        raise AssertionError(f"localstripe sent no {event_type} for {object_id}")


@pytest.fixture(scope="session")
def webhook_inbox(localstripe_server) -> Iterator[WebhookInbox]:
    """Captures the raw signed POSTs localstripe makes, to replay them into the Flask app."""
    inbox = WebhookInbox()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            inbox.deliveries.append((body, self.headers.get("Stripe-Signature", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    inbox.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield inbox
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
