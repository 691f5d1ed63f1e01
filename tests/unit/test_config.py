"""Carefair refuses to start outside demo and test mode without a SECRET_KEY, and says how to
set one."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import Config, ConfigurationError


def test_production_without_a_secret_key_refuses_to_start(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError) as refused:
        create_app(Config.from_env("production"))
    message = str(refused.value)
    assert "SECRET_KEY is not set" in message
    assert "export SECRET_KEY=" in message and "secrets.token_hex" in message


def test_production_is_the_default_mode(monkeypatch):
    monkeypatch.delenv("CAREFAIR_MODE", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = Config.from_env()
    assert config.MODE == "production"
    assert config.SESSION_COOKIE_SECURE and config.FORCE_HTTPS
    with pytest.raises(ConfigurationError):
        config.check()


def test_production_with_a_secret_key_and_its_address_is_accepted(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://carefair.example")
    Config.from_env("production").check()


@pytest.mark.parametrize("mode", ["demo", "test"])
def test_demo_and_test_modes_need_no_secret_key(monkeypatch, mode):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = Config.from_env(mode)
    config.check()
    assert config.SECRET_KEY and not config.SESSION_COOKIE_SECURE


def test_an_unknown_mode_is_refused_by_name():
    with pytest.raises(ConfigurationError, match="CAREFAIR_MODE must be one of"):
        Config.from_env("staging")
