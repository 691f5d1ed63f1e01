"""Building the gateway from settings: Connect may point elsewhere; no key, no card payments."""

import pytest

from app.adapters.stripe_gateway import PaymentGateway
from app.config import Config
from app.domain.payments import PaymentUnavailable


def _base(client) -> str:
    return client._requestor.base_addresses["api"]


def test_connect_calls_can_use_their_own_api_base():
    gateway = PaymentGateway.from_config({"STRIPE_SECRET_KEY": "sk_test_x",
                                          "STRIPE_API_BASE": "http://127.0.0.1:8420",
                                          "STRIPE_CONNECT_API_BASE": "http://127.0.0.1:9999"})
    assert _base(gateway.client) == "http://127.0.0.1:8420"
    assert _base(gateway.connect_client) == "http://127.0.0.1:9999"


def test_connect_defaults_to_the_main_api_base():
    gateway = PaymentGateway.from_config({"STRIPE_SECRET_KEY": "sk_test_x"})
    assert gateway.connect_client is gateway.client
    assert _base(gateway.client) == "https://api.stripe.com"


def test_without_a_secret_key_card_payments_are_unavailable():
    with pytest.raises(PaymentUnavailable, match="not set up"):
        PaymentGateway.from_config({"STRIPE_SECRET_KEY": None})


def test_stripe_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_env")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_env")
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:8420")
    monkeypatch.delenv("STRIPE_CONNECT_API_BASE", raising=False)
    config = Config.from_env("test")
    assert (config.STRIPE_SECRET_KEY, config.STRIPE_WEBHOOK_SECRET, config.STRIPE_API_BASE,
            config.STRIPE_CONNECT_API_BASE) == ("sk_test_env", "whsec_env",
                                                "http://127.0.0.1:8420", None)
