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
        broker_flags,
        broker_plan,
        broker_reviews,
        broker_vetting,
        holder_bookings,
        holder_budget,
        holder_reviews,
        provider_bookings,
        holder_messages,
        provider_listings,
        provider_messages,
        provider_profile,
        provider_reviews,
        public_providers,
        public_reviews,
        stripe_webhook,
    )
    from app.web.context import register_context

    for module in (public, auth, account, holder, provider, broker, admin, api, notifications, search):
        app.register_blueprint(module.bp)
    register_context(app)
