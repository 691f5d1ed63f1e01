"""HTTP layer: one blueprint per area; views parse input, call one service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    # Modules that add routes to the blueprints above (imported for their side effect).
    from app.web import (  # noqa: F401
        account,
        admin,
        admin_budget,
        admin_email,
        admin_remittance,
        api,
        auth,
        availability_grid,
        booking_steps,
        broker,
        broker_bookings,
        broker_flags,
        broker_payouts,
        broker_plan,
        broker_reviews,
        broker_vetting,
        holder,
        holder_bookings,
        holder_budget,
        holder_card,
        holder_messages,
        holder_reviews,
        home_address,
        notifications,
        provider,
        provider_bookings,
        provider_listings,
        provider_messages,
        provider_payouts,
        provider_profile,
        provider_reviews,
        public,
        public_providers,
        public_reviews,
        search,
        stripe_webhook,
    )
    from app.web.context import register_context
    from app.web.responsive_tables import register as register_responsive_tables

    for module in (public, auth, account, holder, provider, broker, admin, api, notifications, search):
        app.register_blueprint(module.bp)
    register_context(app)
    register_responsive_tables(app)
