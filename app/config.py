"""Settings read from the environment, plus the council settings (rates and rule thresholds)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"

MODES = ("production", "demo", "test")


class ConfigurationError(RuntimeError):
    """Carefair cannot start with the settings it was given."""


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
    auto_confirm_hours: int = 72
    booking_approval_weeks_of_budget: int = 4
    provider_share_cap_percent: int = 30
    hhi_highly_concentrated: int = 1800
    price_outlier_modified_z: float = 3.5  # a statistic threshold, not money


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
    COUNCIL: CouncilSettings = field(default_factory=CouncilSettings)
    TESTING: bool = False

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

    def as_flask_mapping(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k.isupper()}
