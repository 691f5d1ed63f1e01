"""HTTP layer: one blueprint per area; views parse input, call one service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.web import (
        account,
        admin,
        api,
        auth,
        broker,
        holder,
        notifications,
        provider,
        public,
        search,
    )

    # Modules that add routes to the blueprints above (imported for their side effect).
    from app.web import (  # noqa: F401
        admin_budget,
        admin_remittance,
        admin_email,
        broker_bookings,
        broker_payouts,
        broker_plan,
        broker_vetting,
        holder_bookings,
        holder_budget,
        holder_card,
        provider_bookings,
        provider_listings,
        provider_payouts,
        provider_profile,
        public_providers,
        stripe_webhook,
    )
    from app.web.context import register_context

    for module in (public, auth, account, holder, provider, broker, admin, api, notifications, search):
        app.register_blueprint(module.bp)
    register_context(app)
