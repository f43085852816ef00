"""Settings come from the environment through config.py."""

from __future__ import annotations

import pytest
from flask import Flask

import config
from app import create_app

STRONG_KEY = "3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d2e4f6a8b0c1d3e"
HOW_TO_MAKE_ONE = 'python -c "import secrets; print(secrets.token_hex(32))"'


def production_app(**overrides: object) -> Flask:
    settings = {"SQLALCHEMY_DATABASE_URI": "sqlite://", "DEV_LOGIN": False, **overrides}
    return create_app(config.ProductionConfig, **settings)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY") as refused:
        create_app(config.ProductionConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert HOW_TO_MAKE_ONE in str(refused.value)


@pytest.mark.parametrize(
    "key",
    [
        "k",
        "x" * 31,  # one byte short
        "é" * 15 + "ab",  # 17 characters but 32 bytes: too few distinct ones
        "changeme",
        "secret",
        "dev",
        "change-me",
        "your-secret-key",
        "your-secret-key-here-please-change-it",
        "CHANGE_ME_CHANGE_ME_CHANGE_ME_CHANGE_ME",
        "a" * 64,
        "0123456701234567012345670123456701234567",
        config.TestingConfig.SECRET_KEY,
    ],
)
def test_production_refuses_a_weak_secret_key(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY") as refused:
        production_app(SECRET_KEY=key)
    assert HOW_TO_MAKE_ONE in str(refused.value)


def test_production_refuses_the_dev_sign_in():
    with pytest.raises(RuntimeError, match="DEV_LOGIN"):
        production_app(SECRET_KEY=STRONG_KEY, DEV_LOGIN=True)


@pytest.mark.parametrize("key", [STRONG_KEY, "kT4-Vx9_qLm2Rz7Wp0sNb8Yc3Hd6Jf1G"])
def test_production_starts_with_a_strong_key(key):
    app = production_app(SECRET_KEY=key)
    assert app.config["SECRET_KEY"] == key


def test_development_generates_a_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr(config.DevelopmentConfig, "SECRET_KEY", None)
    first = create_app(config.DevelopmentConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    second = create_app(config.DevelopmentConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_unknown_environment_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("AFTERWORD_ENV", "staging")
    with pytest.raises(RuntimeError, match="AFTERWORD_ENV"):
        config.config_from_env()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    from app.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
