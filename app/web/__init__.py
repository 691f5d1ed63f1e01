"""HTTP layer: one blueprint per area; views parse input, call one service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    # Modules that add routes to the blueprints above (imported for their side effect).
    from app.web import (  # noqa: F401
        account,
        admin,
        admin_api_tokens,
        admin_budget,
        admin_email,
        admin_remittance,
        admin_settings,
        agreement_views,
        api,
        auth,
        availability_grid,
        booking_steps,
        broker,
        broker_bookings,
        broker_concerns,
        broker_flags,
        broker_jobs,
        broker_payouts,
        broker_plan,
        broker_reviews,
        broker_vetting,
        concerns,
        holder,
        holder_bookings,
        holder_budget,
        holder_card,
        holder_jobs,
        holder_messages,
        holder_reviews,
        home_address,
        households,
        market_people,
        markets,
        notifications,
        provider,
        provider_bookings,
        provider_jobs,
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

    for module in (public, auth, account, holder, provider, broker, admin, api, notifications, search,
                   markets):
        app.register_blueprint(module.bp)
    register_context(app)
    register_responsive_tables(app)

    from app.web.api_v1 import register_council_api

    register_council_api(app)
