"""HTTP layer: one blueprint per area; views parse input, call one service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    # stripe_webhook adds POST /api/stripe/webhook to the api blueprint.
    from app.web import account, admin, api, auth, broker, holder, provider, public, stripe_webhook  # noqa: F401, E501
    from app.web.context import register_context

    for module in (public, auth, account, holder, provider, broker, admin, api):
        app.register_blueprint(module.bp)
    register_context(app)
