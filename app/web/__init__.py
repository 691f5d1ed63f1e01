"""HTTP layer: one blueprint per area; views parse input, call one service, render."""

from importlib import import_module

from flask import Flask

# One package per area (public, auth, holder, provider, broker, admin, api); shared pieces such as
# the acting context, form base and charts sit beside them in app/web/.
ROUTE_MODULES = (
    "public.providers", "public.reviews", "public.search", "public.concerns",
    "auth.account", "auth.notifications",
    "holder.bookings", "holder.booking_steps", "holder.budget", "holder.card", "holder.jobs",
    "holder.messages", "holder.reviews", "holder.home_address", "holder.households",
    "provider.availability_grid", "provider.bookings", "provider.jobs", "provider.listings",
    "provider.messages", "provider.payouts", "provider.profile", "provider.reviews",
    "broker.bookings", "broker.concerns", "broker.flags", "broker.jobs", "broker.market_people",
    "broker.markets", "broker.payouts", "broker.plan", "broker.reviews", "broker.vetting",
    "admin.api_tokens", "admin.budget", "admin.email", "admin.remittance", "admin.settings",
    "api.stripe_webhook", "agreement_views", "cover_views",
)


def register_blueprints(app: Flask) -> None:
    # Each area is a package whose __init__ holds its blueprint; its other modules add routes to it
    # and are imported here for that side effect. Search and the market view have blueprints of their own.
    for module_name in ROUTE_MODULES:
        import_module(f"app.web.{module_name}")
    from app.web import admin, api, auth, broker, holder, provider, public
    from app.web.auth import account, notifications
    from app.web.broker import markets
    from app.web.context import register_context
    from app.web.public import search
    from app.web.responsive_tables import register as register_responsive_tables

    for module in (public, auth, account, holder, provider, broker, admin, api, notifications, search,
                   markets):
        app.register_blueprint(module.bp)
    register_context(app)
    register_responsive_tables(app)

    from app.web.api_v1 import register_council_api

    register_council_api(app)
