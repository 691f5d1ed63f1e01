"""HTTP layer: one blueprint per area; views parse input, call one service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.web import account, admin, api, auth, broker, holder, provider, public, search
    from app.web.context import register_context

    for module in (public, auth, account, holder, provider, broker, admin, api, search):
        app.register_blueprint(module.bp)
    register_context(app)
