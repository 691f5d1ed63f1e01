"""Settings read from the environment, plus the council settings (rates and rule thresholds)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import click

from app.domain.settings import CouncilSettings  # the council settings live in the domain; re-exported here

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"

MODES = ("production", "demo", "test")


# The demo's and tests' email backend: one .eml file per message in MAIL_OUTBOX_DIR.
OUTBOX_BACKEND = "outbox"
# Where the demo serves (`carefair demo`): the demo's and tests' PUBLIC_BASE_URL by default.
DEMO_BASE_URL = "http://127.0.0.1:5000"


def _trusted_hosts(public_base_url: str) -> list[str]:
    hosts = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    own = urlsplit(public_base_url).hostname
    return ([own] if own else []) + hosts


class ConfigurationError(click.ClickException):
    """Carefair cannot start with the settings it was given.

    A ClickException so that `flask --app app ...` prints the message and exits 1 without a
    traceback; a WSGI server still refuses to start, with the same message.
    """


def _env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}.") from err


@dataclass
class Config:
    """Flask settings. Build with `Config.from_env()`; tests pass overrides."""

    MODE: str = "production"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str = ""
    SQLALCHEMY_ENGINE_OPTIONS: dict = field(default_factory=dict)
    WTF_CSRF_ENABLED: bool = True
    SESSION_COOKIE_SECURE: bool = True
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"
    REMEMBER_COOKIE_SECURE: bool = True
    REMEMBER_COOKIE_HTTPONLY: bool = True
    RATELIMIT_STORAGE_URI: str = "memory://"
    RATELIMIT_ENABLED: bool = True
    # Sign-in backoff per (email, address) pair: app.services.sign_in_limits.Limits; None is
    # its defaults (tests pass their own).
    SIGN_IN_LIMITS: object | None = None
    API_RATE_LIMIT: str = "600 per minute"  # per council API token (/api/v1)
    FORCE_HTTPS: bool = True
    INSTANCE_DIR: str = str(DEFAULT_INSTANCE_DIR)
    ASSETS_DIR: str = str(PROJECT_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk")
    MAIL_OUTBOX_DIR: str = str(DEFAULT_INSTANCE_DIR / "outbox")
    # Email (Flask-Mailman). "smtp" in production; demo and test write .eml files to
    # MAIL_OUTBOX_DIR through app.adapters.mail.OutboxBackend, so no mail server is needed.
    MAIL_BACKEND: str = "smtp"
    MAIL_SERVER: str = "localhost"
    MAIL_PORT: int = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS: bool = False
    MAIL_USE_SSL: bool = False
    MAIL_DEFAULT_SENDER: str = "Carefair <no-reply@carefair.example>"
    MAIL_TIMEOUT: int = 10  # seconds: a slow server must not hold up a page for long
    # Try to send right after the action commits; when False only `carefair mail send-queued` sends.
    MAIL_SEND_AFTER_COMMIT: bool = True
    # Carefair's own address: every link in an email or given to Stripe is built from it
    # (app.links), never from the request's Host header. Required in production.
    PUBLIC_BASE_URL: str = ""
    # Host names requests may carry (Flask refuses others with 400). Production: the host of
    # PUBLIC_BASE_URL plus any in TRUSTED_HOSTS (comma-separated); None accepts any (tests).
    TRUSTED_HOSTS: list[str] | None = None
    # How many reverse proxies sit in front of Carefair (X-Forwarded-For/-Proto/-Host hops to
    # believe). 0: none, the socket's address is the client's (ProxyFix is not applied).
    TRUSTED_PROXIES: int = 0
    # Largest request body read at all (413 before parsing); uploads have their own limit.
    MAX_CONTENT_LENGTH: int = 12 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE: int = 1024 * 1024  # one non-file form field
    MAX_FORM_PARTS: int = 200
    # Routes that accept no file: any body larger than this is refused with 413 unread.
    MAX_FORM_LENGTH: int = 256 * 1024
    # A bulk import uploaded through the council API (copied to disk in chunks, never held in
    # memory): room for a council's whole history, a million bookings and more.
    API_IMPORT_MAX_BYTES: int = 512 * 1024 * 1024
    COUNCIL: CouncilSettings = field(default_factory=CouncilSettings)
    # "whoosh" or "postgres"; empty means PostgreSQL search on a PostgreSQL database, else Whoosh.
    SEARCH_BACKEND: str = ""
    # SQLite only: start every transaction holding the write lock, so concurrent writers queue
    # instead of failing with "database is locked" (app.models.base.configure_sqlite). The
    # test suite turns it off: each test holds one transaction open and reads beside it.
    SQLITE_BEGIN_IMMEDIATE: bool = True
    TESTING: bool = False
    # Stripe (card payments for direct_payment budgets; council_managed budgets need none).
    # The API bases can point at a local server (localstripe, a Connect stub) in tests.
    STRIPE_SECRET_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: str | None = None
    STRIPE_CONNECT_WEBHOOK_SECRET: str | None = None  # the connected-accounts endpoint's own
    STRIPE_API_BASE: str = "https://api.stripe.com"
    STRIPE_CONNECT_API_BASE: str | None = None  # accounts, account links, transfers; None: API base
    STRIPE_MAX_NETWORK_RETRIES: int = 2
    STRIPE_TIMEOUT_SECONDS: float = 30.0

    @classmethod
    def from_env(cls, mode: str | None = None, **overrides) -> Config:
        mode = mode or os.environ.get("CAREFAIR_MODE", "production")
        if mode not in MODES:
            raise ConfigurationError(f"CAREFAIR_MODE must be one of {', '.join(MODES)}, not {mode!r}.")
        instance = Path(os.environ.get("CAREFAIR_INSTANCE_DIR", str(DEFAULT_INSTANCE_DIR)))
        default_db = f"sqlite:///{instance / 'carefair.db'}"
        config = cls(
            MODE=mode,
            SECRET_KEY=os.environ.get("SECRET_KEY"),
            SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", default_db),
            RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
            INSTANCE_DIR=str(instance),
            MAIL_OUTBOX_DIR=str(instance / "outbox"),
            MAIL_BACKEND=os.environ.get("MAIL_BACKEND") or ("smtp" if mode == "production" else OUTBOX_BACKEND),
            MAIL_SERVER=os.environ.get("MAIL_SERVER", "localhost"),
            MAIL_PORT=_env_int("MAIL_PORT", 25),
            MAIL_USERNAME=os.environ.get("MAIL_USERNAME") or None,
            MAIL_PASSWORD=os.environ.get("MAIL_PASSWORD") or None,
            MAIL_USE_TLS=_env_bool("MAIL_USE_TLS"),
            MAIL_USE_SSL=_env_bool("MAIL_USE_SSL"),
            MAIL_DEFAULT_SENDER=os.environ.get("MAIL_DEFAULT_SENDER", cls.MAIL_DEFAULT_SENDER),
            MAIL_TIMEOUT=_env_int("MAIL_TIMEOUT", 10),
            MAIL_SEND_AFTER_COMMIT=_env_bool("MAIL_SEND_AFTER_COMMIT", True),
            PUBLIC_BASE_URL=(os.environ.get("PUBLIC_BASE_URL") or "").strip().rstrip("/"),
            TRUSTED_PROXIES=_env_int("TRUSTED_PROXIES", 0),
            STRIPE_SECRET_KEY=os.environ.get("STRIPE_SECRET_KEY"),
            STRIPE_WEBHOOK_SECRET=os.environ.get("STRIPE_WEBHOOK_SECRET"),
            STRIPE_CONNECT_WEBHOOK_SECRET=os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET"),
            STRIPE_API_BASE=os.environ.get("STRIPE_API_BASE", "https://api.stripe.com"),
            STRIPE_CONNECT_API_BASE=os.environ.get("STRIPE_CONNECT_API_BASE") or None,
            SEARCH_BACKEND=os.environ.get("SEARCH_BACKEND", ""),
        )
        if mode in ("demo", "test"):
            # The demo runs on http://127.0.0.1:5000, so cookies cannot be marked Secure there.
            config.SESSION_COOKIE_SECURE = False
            config.REMEMBER_COOKIE_SECURE = False
            config.FORCE_HTTPS = False
            if not config.SECRET_KEY:
                config.SECRET_KEY = f"carefair-{mode}-only-not-secret"
            if not config.PUBLIC_BASE_URL:
                config.PUBLIC_BASE_URL = DEMO_BASE_URL
        if mode == "test":
            config.TESTING = True
        for key, value in overrides.items():
            setattr(config, key, value)
        if mode == "production" and "TRUSTED_HOSTS" not in overrides:
            config.TRUSTED_HOSTS = _trusted_hosts(config.PUBLIC_BASE_URL)
        return config

    def check(self) -> None:
        """Refuse to start with settings that would be unsafe in production."""
        if not self.SECRET_KEY:
            raise ConfigurationError(
                "SECRET_KEY is not set. Carefair needs a long random secret outside demo and test "
                "mode. Set it in the environment, for example:\n"
                "  export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"\n"
                "or run the demo with `carefair demo`."
            )
        if self.MODE == "production" and not self.PUBLIC_BASE_URL:
            raise ConfigurationError(
                "PUBLIC_BASE_URL is not set. Carefair builds every link in an email, and every "
                "address given to Stripe, from it (never from the Host a request claims). Set it "
                "to the address people use, for example:\n"
                "  export PUBLIC_BASE_URL=https://carefair.example-council.gov.uk"
            )
        if self.PUBLIC_BASE_URL:
            parts = urlsplit(self.PUBLIC_BASE_URL)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
                raise ConfigurationError(
                    f"PUBLIC_BASE_URL must be an http(s) address like https://carefair.example, "
                    f"not {self.PUBLIC_BASE_URL!r}."
                )
        if self.TRUSTED_PROXIES < 0:
            raise ConfigurationError("TRUSTED_PROXIES is how many proxies sit in front: 0 or more.")
        if self.MAIL_USE_TLS and self.MAIL_USE_SSL:
            raise ConfigurationError("Set MAIL_USE_TLS (STARTTLS, usually port 587) or MAIL_USE_SSL "
                                     "(usually port 465), not both.")

    def as_flask_mapping(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k.isupper()}
