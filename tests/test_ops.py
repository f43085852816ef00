"""Probes, metrics and proxy handling."""

from __future__ import annotations

from tests.factories import HOST_ORIGIN, guest_payload, make_comment, post_json
from tests.helpers import fresh_app


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["database"] == "ok"


def test_readyz_reports_a_missing_redis(tmp_path):
    with fresh_app(
        tmp_path,
        REDIS_URL="redis://127.0.0.1:1/0",
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL="redis://127.0.0.1:1/0",
        CACHE_OPTIONS={"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
    ) as app:
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503
        assert resp.json["checks"]["redis"].startswith("unavailable")


def test_metrics_count_requests_comments_and_the_queue(client, site):
    make_comment(site, status=None)
    post_json(client, site, guest_payload())
    text = client.get("/metrics").text
    assert (
        'afterword_http_requests_total{endpoint="api.post_comment",method="POST",status="201"}'
        in text
    )
    assert 'afterword_comments_posted_total{status="pending"}' in text
    assert "afterword_moderation_queue_length 2.0" in text
    assert "afterword_http_request_duration_seconds_bucket" in text
    assert "grace@example.com" not in text and "blog.example" not in text  # no personal data


def test_metrics_are_closed_to_the_outside(client, app):
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=outside).status_code == 403
    app.config["METRICS_TOKEN"] = "s3cret"
    assert client.get("/metrics", environ_base=outside).status_code == 403
    ok = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_behind_one_proxy_the_forwarded_address_counts(tmp_path):
    with fresh_app(tmp_path, TRUSTED_PROXIES=1, RATELIMIT_POST="2 per minute") as app:
        from app.extensions import db
        from app.models import Comment
        from tests.factories import make_site

        site = make_site()
        client = app.test_client()
        for i in range(3):
            resp = client.post(
                f"/api/v1/sites/{site.id}/comments",
                json=guest_payload(body=f"n{i}", email=f"r{i}@example.com"),
                headers={"Origin": HOST_ORIGIN, "X-Forwarded-For": f"198.51.100.{i}"},
            )
            assert resp.status_code == 201  # three clients behind the proxy, not one
        hashes = {c.remote_addr_hash for c in db.session.query(Comment).all()}
        assert len(hashes) == 3


def test_an_unreachable_database_answers_503_quickly(tmp_path):
    """PostgreSQL restarting: a clear 503 with Retry-After, not a hung worker or a 500."""
    import time

    from app import create_app
    from config import TestingConfig

    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none"
    )
    started = time.monotonic()
    resp = app.test_client().get(
        "/api/v1/sites/abc/thread", query_string={"url": "https://blog.example/"}
    )
    assert time.monotonic() - started < 10
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    assert resp.json["error"]["code"] == "service_unavailable"
    assert app.test_client().get("/readyz").status_code == 503
    assert app.test_client().get("/healthz").status_code == 200


def test_postgres_connections_give_up_instead_of_hanging():
    from config import engine_options

    options = engine_options("postgresql+psycopg://db/x", {})
    assert options["connect_args"]["connect_timeout"] <= 5
    assert "statement_timeout" in options["connect_args"]["options"]
    assert engine_options("sqlite:///x.db", {}) == {"pool_pre_ping": True}


def test_production_logs_are_one_json_object_per_line(tmp_path, capsys):
    import json
    import logging
    import secrets

    from app import create_app
    from config import ProductionConfig

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        app = create_app(
            ProductionConfig,
            SECRET_KEY=secrets.token_hex(32),
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
            LOG_FORMAT="json",
        )
        app.test_client().get(
            "/api/v1/sites/abc/thread", query_string={"url": "https://x.example/"}
        )
        lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        record = json.loads(lines[-1])
        assert record["level"] == "WARNING" and record["logger"] == "app.errors"
        assert record["endpoint"] == "api.thread" and record["method"] == "GET"
        assert "x.example" not in lines[-1]  # no query strings, no readers' data
    finally:
        root.handlers[:], root.level = saved


def test_a_method_a_client_makes_up_is_not_a_series_of_its_own(client):
    for n in range(3):
        client.open("/healthz", method=f"MADEUP{n}")
    text = client.get("/metrics").text
    assert "MADEUP" not in text
    assert 'method="OTHER"' in text
