"""Settings come from the environment through config.py."""

from __future__ import annotations

import pytest

import config
from app import create_app


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config.ProductionConfig, SQLALCHEMY_DATABASE_URI="sqlite://")


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
