"""Afterword: a self-hosted comment service."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.extensions import cache, compress, csrf, db, limiter, login_manager, migrate
from app.models.types import render_migration_type
from app.sessions import CookieSessions
from config import INSTANCE_DIR, MIGRATIONS_DIR, Config, config_from_env


def create_app(config: type[Config] | None = None, **overrides: object) -> Flask:
    """Build the app. `overrides` lets tests and tools change single settings."""
    config = config or config_from_env()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config)
    app.config.update(overrides)
    app.session_interface = CookieSessions()
    config.init_app(app)

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(MIGRATIONS_DIR),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_type,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    compress.init_app(app)

    from app import (
        api,
        auth,
        cli,
        dashboard,
        demo,
        embed,
        errors,
        feeds,
        inputs,
        logs,
        metrics,
        ops,
        page_headers,
        privacy,
        serving,
        subscribe,
    )
    from app.api import fast_reads
    from app.auth import providers
    from app.database import close_sessions_safely, configure_engine
    from app.services import mail as outbox
    from app.services import posting_facts, reader_pages, sites, webhooks

    with app.app_context():
        configure_engine(db.engine)
    close_sessions_safely(app)
    inputs.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    csrf.exempt(api.bp)  # JSON-only writes with an Origin check; see app/api/guards.py
    providers.init_app(app)
    app.register_blueprint(auth.bp, url_prefix="/auth")
    app.register_blueprint(dashboard.bp, url_prefix="/dashboard")
    app.register_blueprint(embed.bp)
    demo.init_app(app)
    app.register_blueprint(ops.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(subscribe.bp, url_prefix="/notifications")
    app.register_blueprint(privacy.bp, url_prefix="/privacy")
    metrics.init_app(app)
    logs.init_app(app)
    outbox.init_app(app)
    webhooks.init_app(app)
    reader_pages.init_app(app)
    posting_facts.init_app(app)
    sites.init_app(app)
    cli.init_app(app)
    fast_reads.install(app)
    serving.check_flask_run(app)
    page_headers.install(app)
    if app.config["TRUSTED_PROXIES"]:
        # Only behind that many proxies is X-Forwarded-For the client's; never otherwise,
        # or anyone could pick the address their rate limits and bans are counted against.
        # Outermost, so that everything inside sees the client's address.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # the documented way to wrap it
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    return app
