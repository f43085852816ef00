"""Probes for orchestrators and load balancers, and metrics for Prometheus."""

from __future__ import annotations

import ipaddress
import secrets

from flask import Response, abort, current_app, request
from sqlalchemy import text

from app.extensions import cache, db
from app.metrics import render
from app.ops import bp


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (liveness)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict, int]:
    """The database and, when configured, Redis answer (readiness)."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:
        checks["database"] = f"unavailable ({type(err).__name__})"
    if current_app.config.get("REDIS_URL"):
        try:
            cache.cache._write_client.ping()  # type: ignore[attr-defined]  # RedisCache, typed as its base
            checks["redis"] = "ok"
        except Exception as err:
            checks["redis"] = f"unavailable ({type(err).__name__})"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    """Open to loopback only, or to callers with `Authorization: Bearer $METRICS_TOKEN`."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given, token):
            abort(403)
    elif not ipaddress.ip_address(request.remote_addr or "0.0.0.0").is_loopback:  # noqa: S104
        abort(403)
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    return Response(render(app), mimetype="text/plain; version=0.0.4")
