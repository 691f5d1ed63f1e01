"""HTTP layer: one blueprint per area; views parse input, call one service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.web import account, admin, api, auth, broker, holder, provider, public
    from app.web import admin_budget, broker_plan, holder_budget  # noqa: F401  (routes on existing blueprints)
    from app.web.context import register_context

    for module in (public, auth, account, holder, provider, broker, admin, api):
        app.register_blueprint(module.bp)
    register_context(app)
