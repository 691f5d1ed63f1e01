"""Stripe Connect through the gateway, against the Connect stub (localstripe has no Connect): the
requests the SDK sends, the linked account, and transfers capped by what was captured."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.adapters.stripe_gateway import PaymentGateway
from app.domain.access import Role
from app.domain.payments import PaymentLimitExceeded, PaymentUnavailable
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import Payment, ProviderPaymentAccount
from tests.stripe_support import (  # noqa: F401  (fixtures)
    connect_gateway,
    connect_stub,
    key,
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_api,
)

pytestmark = pytest.mark.database


@pytest.fixture
def provider(app_ctx, make_user):
    return make_user(Role.PROVIDER, email="pa@carefair.example")


@pytest.fixture
def account_id(connect_gateway, provider, connect_stub) -> str:
    account = connect_gateway.create_connected_account(provider=provider, idempotency_key=key())
    connect_stub.requests.clear()
    return account.stripe_id


def _captured_payment(gateway: PaymentGateway, stripe_api, provider, make_user, amount=8000) -> int:
    holder = make_user(Role.HOLDER)
    customer = gateway.create_customer(user=holder, idempotency_key=key()).stripe_id
    card = new_card(stripe_api)
    gateway.attach_payment_method(
        customer_id=customer, payment_method_id=card, idempotency_key=key()
    )
    payment_id = gateway.authorise(
        payer=holder,
        provider=provider,
        amount_pence=amount,
        customer_id=customer,
        payment_method_id=card,
        reference="booking:7",
        idempotency_key=key(),
    ).payment_id
    gateway.capture(payment_id=payment_id, idempotency_key=key())
    return payment_id


def test_creating_an_express_account_sends_what_stripe_needs_and_links_it(
    connect_gateway, connect_stub, provider
):
    idem = key()
    result = connect_gateway.create_connected_account(provider=provider, idempotency_key=idem)

    [sent] = connect_stub.requests
    assert (sent.method, sent.path) == ("POST", "/v1/accounts")
    assert sent.headers["idempotency-key"] == idem
    assert "stripe-account" not in sent.headers  # a platform call, not on behalf of an account
    assert sent.form["type"] == "express"
    assert sent.form["country"] == "GB"
    assert sent.form["email"] == "pa@carefair.example"
    assert sent.form["capabilities[transfers][requested]"] == "true"
    assert sent.form["metadata[carefair_user_id]"] == str(provider.id)
    linked = db.session.scalar(
        select(ProviderPaymentAccount).where(ProviderPaymentAccount.provider_id == provider.id)
    )
    assert linked.stripe_account_id == result.stripe_id
    assert result.stripe_id.startswith("acct_") and not linked.payouts_enabled


def test_a_provider_gets_one_account_and_replays_do_not_create_another(
    connect_gateway, connect_stub, provider
):
    idem = key()
    first = connect_gateway.create_connected_account(provider=provider, idempotency_key=idem)
    again = connect_gateway.create_connected_account(provider=provider, idempotency_key=idem)
    assert again.replayed and again.stripe_id == first.stripe_id
    with pytest.raises(Conflict, match="already has a payment account"):
        connect_gateway.create_connected_account(provider=provider, idempotency_key=key())
    assert connect_stub.paths() == ["/v1/accounts"]


def test_onboarding_link_is_for_the_providers_account(
    connect_gateway, connect_stub, provider, account_id
):
    idem = key()
    link = connect_gateway.create_onboarding_link(
        provider=provider,
        refresh_url="https://carefair.example/provider/payouts/refresh",
        return_url="https://carefair.example/provider/payouts",
        idempotency_key=idem,
    )

    [sent] = connect_stub.requests
    assert sent.path == "/v1/account_links" and sent.headers["idempotency-key"] == idem
    assert sent.form == {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": "https://carefair.example/provider/payouts/refresh",
        "return_url": "https://carefair.example/provider/payouts",
    }
    assert link.data["url"].startswith(f"https://connect.stripe.com/setup/e/{account_id}/")


def test_onboarding_link_without_an_account_says_what_is_missing(connect_gateway, provider):
    with pytest.raises(NotFound, match="has not set up how they get paid"):
        connect_gateway.create_onboarding_link(
            provider=provider,
            refresh_url="https://x.example",
            return_url="https://x.example",
            idempotency_key=key(),
        )


def test_transfer_after_capture_pays_the_provider_from_that_charge(
    connect_gateway, connect_stub, stripe_api, provider, account_id, make_user
):
    payment_id = _captured_payment(connect_gateway, stripe_api, provider, make_user, amount=8000)
    connect_gateway.refund(payment_id=payment_id, amount_pence=1000, idempotency_key=key())
    idem = key()

    result = connect_gateway.transfer_to_provider(payment_id=payment_id, idempotency_key=idem)

    payment = db.session.get(Payment, payment_id)
    [sent] = connect_stub.requests
    assert sent.path == "/v1/transfers" and sent.headers["idempotency-key"] == idem
    assert "stripe-account" not in sent.headers  # money moves from the platform's balance
    assert sent.form["amount"] == "7000"  # captured less refunded
    assert sent.form["currency"] == "gbp"
    assert sent.form["destination"] == account_id
    assert sent.form["source_transaction"] == payment.stripe_charge_id
    assert sent.form["transfer_group"] == "booking:7"
    assert payment.stripe_charge_id.startswith("ch_")
    assert result.stripe_id.startswith("tr_") and payment.transferred_pence == 7000
    with pytest.raises(PaymentLimitExceeded, match="only £0.00 is available"):
        connect_gateway.transfer_to_provider(
            payment_id=payment_id, amount_pence=1, idempotency_key=key()
        )
    assert len(connect_stub.requests) == 1


def test_transfer_before_capture_is_refused_without_calling_stripe(
    connect_gateway, connect_stub, stripe_api, provider, account_id, make_user
):
    holder = make_user(Role.HOLDER)
    customer = connect_gateway.create_customer(user=holder, idempotency_key=key()).stripe_id
    card = new_card(stripe_api)
    connect_gateway.attach_payment_method(
        customer_id=customer, payment_method_id=card, idempotency_key=key()
    )
    payment_id = connect_gateway.authorise(
        payer=holder,
        provider=provider,
        amount_pence=500,
        customer_id=customer,
        payment_method_id=card,
        reference="booking:8",
        idempotency_key=key(),
    ).payment_id
    with pytest.raises(Conflict, match="it is authorised, not captured"):
        connect_gateway.transfer_to_provider(payment_id=payment_id, idempotency_key=key())
    assert connect_stub.requests == []


def test_connect_outage_is_unavailable_and_the_payout_is_not_recorded(
    connect_gateway, connect_stub, stripe_api, provider, account_id, make_user
):
    payment_id = _captured_payment(connect_gateway, stripe_api, provider, make_user, amount=2000)
    connect_stub.fail_with_status = 503
    with pytest.raises(PaymentUnavailable):
        connect_gateway.transfer_to_provider(payment_id=payment_id, idempotency_key=key())
    assert db.session.get(Payment, payment_id).transferred_pence == 0
