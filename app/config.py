"""Settings read from the environment, plus the council settings (rates and rule thresholds)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import click

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"

MODES = ("production", "demo", "test")


# The demo's and tests' email backend: one .eml file per message in MAIL_OUTBOX_DIR.
OUTBOX_BACKEND = "outbox"


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


@dataclass(frozen=True)
class CouncilSettings:
    """Defaults from design.md; each council changes them (all money in integer pence)."""

    council_name: str = "Demo Borough Council"
    national_living_wage_pence_per_hour: int = 1271  # April 2026
    employed_pa_rate_pence_per_hour: int = 1175
    self_employed_pa_rate_pence_per_hour: int = 1600
    agency_cap_pence_per_hour: int = 2469
    agency_minimum_price_pence_per_hour: int = 3214
    contingency_weeks_default: int = 4
    dbs_max_age_days_without_update_service: int = 3 * 365
    # Days before a required check runs out that its provider is warned (one warning a stage).
    vetting_warning_days: tuple[int, ...] = (30, 7)
    auto_confirm_hours: int = 72
    booking_approval_weeks_of_budget: int = 4
    provider_share_cap_percent: int = 30
    hhi_highly_concentrated: int = 1800
    price_outlier_modified_z: float = 3.5  # a statistic threshold, not money
    # Listings: prices beyond these are refused as mistakes (per hour, session, day).
    max_price_pence: dict[str, int] = field(
        default_factory=lambda: {"hour": 20_000, "session": 50_000, "day": 150_000})
    # Pricing guidance for categories without a PA or agency rate (per hour).
    indicative_rates_pence_per_hour: dict[str, int] = field(default_factory=lambda: {
        "personal_care": 2469, "help_at_home": 1800, "getting_out": 1600,
        "employment_support": 2500, "learning": 2000, "transport": 1500,
        "short_breaks": 2200, "peer_support": 1200, "wellbeing": 3000, "advocacy": 3000,
        "money_management": 2500})
    photo_max_bytes: int = 2 * 1024 * 1024

    # Bookings (app/domain/bookings.py and friends).
    auto_confirm_notice_hours: int = 24  # the holder is told this long before hours auto-confirm
    max_recurring_sessions: int = 200  # three sessions a week for a year fits; more is a mistake
    max_recurring_weeks: int = 52
    # Brokerage rules (app/domain/rules): every threshold a council may change.
    rule_window_days: int = 90  # the rolling window most rules look back over
    concentration_min_bookings: int = 10  # too few bookings in a market says nothing about it
    hhi_rise_flag: int = 100  # with a provider at the share cap, this rise is presumptively harmful
    steering_min_bookings: int = 5
    steering_min_share_percent: int = 50
    # A broker's share of mediated spend to one provider against that provider's market share.
    steering_share_multiple: int = 2
    price_outlier_min_peers: int = 5
    # A floor on the MAD (percent of the peer median): a tight group must not flag normal prices.
    price_mad_floor_percent: int = 5
    price_mad_floor_pence: int = 50
    rate_rise_flag_percent: int = 10
    billing_tolerance_minutes: int = 15
    spend_spike_period_days: int = 28
    spend_spike_history_periods: int = 3
    spend_spike_multiple: int = 2
    spend_spike_min_increase_pence: int = 20000
    new_delegate_watch_days: int = 60
    new_delegate_min_spend_pence: int = 10000
    at_risk_min_clients: int = 3
    at_risk_share_percent: int = 50
    at_risk_share_multiple: int = 2
    at_risk_price_premium_percent: int = 20
    low_dignity_score: int = 2  # on the 1 to 5 scale, this or lower is a low rating
    low_dignity_count: int = 3
    review_window_days: int = 180
    review_burst_count: int = 5
    review_burst_days: int = 7
    review_burst_multiple: int = 3  # the burst against the provider's usual weekly rate
    # What happens to a finding of each severity: advise, flag, hold, block or suspend.
    action_for_low: str = "advise"
    action_for_medium: str = "flag"
    action_for_high: str = "hold"
    action_for_critical: str = "suspend"
    # Per-rule overrides as (rule name, action) pairs: a tuple keeps the settings hashable.
    rule_action_overrides: tuple[tuple[str, str], ...] = ()
    # Ratings (app/domain/ratings.py).
    rating_prior_weight: int = 5  # as if each provider began with five reviews at the category mean
    rating_prior_mean_default: float = 3.0  # the scale's midpoint, while a category has no reviews


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
    SIGN_IN_RATE_LIMIT: str = "5 per minute"  # per email address typed, from anywhere
    SIGN_IN_IP_RATE_LIMIT: str = "30 per minute"  # per client address, whatever the email
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
    # Where links in emails point when there is no request (digests, scheduled jobs).
    PUBLIC_BASE_URL: str = "http://127.0.0.1:5000"
    COUNCIL: CouncilSettings = field(default_factory=CouncilSettings)
    # "whoosh" or "postgres"; empty means PostgreSQL search on a PostgreSQL database, else Whoosh.
    SEARCH_BACKEND: str = ""
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
            PUBLIC_BASE_URL=os.environ.get("PUBLIC_BASE_URL", cls.PUBLIC_BASE_URL).rstrip("/"),
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
        if mode == "test":
            config.TESTING = True
        for key, value in overrides.items():
            setattr(config, key, value)
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
        if self.MAIL_USE_TLS and self.MAIL_USE_SSL:
            raise ConfigurationError("Set MAIL_USE_TLS (STARTTLS, usually port 587) or MAIL_USE_SSL "
                                     "(usually port 465), not both.")

    def as_flask_mapping(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k.isupper()}
