"""Payment gateway figures on a local localstripe: authorise+capture latency, webhook throughput.

Run: .venv/bin/python bench/payments.py  (needs the test extras; uses a throwaway SQLite database).
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stripe  # noqa: E402

from app import create_app  # noqa: E402
from app.adapters.stripe_gateway import PaymentGateway  # noqa: E402
from app.config import Config  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402
from app.services import stripe_webhooks  # noqa: E402
from tests.stripe_support import LocalStripe, key, new_card, stripe_client  # noqa: E402

ROUNDS = 50
EVENTS = 500


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="carefair-bench-"))
    app = create_app(Config.from_env("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir}/b.db",
                                     INSTANCE_DIR=str(workdir)))
    server = LocalStripe()
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            gateway = PaymentGateway(stripe_client(server.url))
            user = User(email="bench@carefair.example", name="Bench", role="holder")
            db.session.add(user)
            db.session.commit()
            customer = gateway.create_customer(user=user, idempotency_key=key()).stripe_id
            card = new_card(stripe_client(server.url))
            gateway.attach_payment_method(customer_id=customer, payment_method_id=card,
                                          idempotency_key=key())
            started = time.perf_counter()
            for n in range(ROUNDS):
                pid = gateway.authorise(payer=user, amount_pence=1000 + n, customer_id=customer,
                                        payment_method_id=card, reference=f"bench:{n}",
                                        idempotency_key=key()).payment_id
                gateway.capture(payment_id=pid, idempotency_key=key())
            per_pair = (time.perf_counter() - started) / ROUNDS * 1000
            print(f"authorise_plus_capture_localstripe: {per_pair:.1f} ms")

            idem = key()
            gateway.authorise(payer=user, amount_pence=700, customer_id=customer,
                              payment_method_id=card, reference="bench:replay",
                              idempotency_key=idem)
            started = time.perf_counter()
            for _ in range(ROUNDS):
                gateway.authorise(payer=user, amount_pence=700, customer_id=customer,
                                  payment_method_id=card, reference="bench:replay",
                                  idempotency_key=idem)
            print(f"idempotent_replay: {(time.perf_counter() - started) / ROUNDS * 1000:.2f} ms")

            started = time.perf_counter()
            for n in range(EVENTS):
                event = stripe.Event.construct_from(json.loads(json.dumps({
                    "id": f"evt_bench_{n}", "object": "event", "type": "charge.refunded",
                    "data": {"object": {"id": f"ch_{n}", "object": "charge"}}})), "sk_test")
                stripe_webhooks.process(event)
            rate = EVENTS / (time.perf_counter() - started)
            print(f"webhook_events_processed: {rate:.0f} events/s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
