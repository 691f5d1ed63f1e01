"""Carefair's app factory: create_app(config) binds extensions, blueprints, errors and the CLI."""

from __future__ import annotations

import os

from flask import Flask
from flask_talisman import Talisman

from app.config import PROJECT_ROOT, Config


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    config.check()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=None,  # assets are served by the public blueprint, with an access rule
        instance_path=config.INSTANCE_DIR,
    )
    app.config.from_mapping(config.as_flask_mapping())
    os.makedirs(app.instance_path, exist_ok=True)

    _bind_extensions(app)
    _configure_templates(app)

    from app.errors import register_error_handlers
    from app.web import register_blueprints

    register_blueprints(app)
    register_error_handlers(app)

    from app.services.search_listings import connect as connect_search

    connect_search()  # search follows the listings (see the module)

    from app.services.bookings import register_rule_checks

    register_rule_checks()  # brokerage checks that may hold a new booking for a broker

    from app.cli import register_cli

    register_cli(app)
    return app


def _bind_extensions(app: Flask) -> None:
    from app.extensions import csrf, db, limiter, login_manager, mail, migrate
    from app.models import User

    db.init_app(app)
    with app.app_context():
        from app.models.base import configure_sqlite

        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.active else None

    # One Talisman per app: Talisman keeps its settings on itself, so a shared instance would
    # give every app the settings of the last one created (secure cookies, forced HTTPS).
    app.extensions["talisman"] = Talisman(
        app,
        force_https=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        content_security_policy={
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "'self' data:",
            "font-src": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
            "base-uri": "'self'",
            "object-src": "'none'",
        },
        content_security_policy_nonce_in=["script-src"],
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )


def _configure_templates(app: Flask) -> None:
    from govuk_frontend_wtf.main import WTFormsHelpers
    from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

    app.jinja_loader = ChoiceLoader([
        app.jinja_loader,
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    WTFormsHelpers(app)

    from app.domain.money_format import format_pence

    app.jinja_env.filters["pounds"] = format_pence
    from app.web.booking_views import approval_reasons_for_viewer

    app.jinja_env.filters["approval_reasons"] = approval_reasons_for_viewer
