"""Prometheus metrics (prometheus_client). Under gunicorn set PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py does) so that every worker's counts add up in one scrape."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy.exc import SQLAlchemyError

REQUESTS = Counter(
    "afterword_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "afterword_http_request_duration_seconds",
    "Time to answer a request",
    ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
COMMENTS_POSTED = Counter(
    "afterword_comments_posted_total", "Comments stored, by their first status", ["status"]
)


class QueueCollector(Collector):
    """The moderation queue's length, read from the database when scraped."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from app.services.moderation import pending_total

        with self.app.app_context():
            try:
                value = pending_total()
            except SQLAlchemyError:  # no database now: leave the gauge out, keep the rest
                return  # the app context's end discards the session
        yield GaugeMetricFamily(
            "afterword_moderation_queue_length", "Comments waiting for a moderator", value=value
        )


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The labelled series by their labels: `labels()` finds them again on every call, at a cost
# that shows on the cached reads (a few microseconds of a read of about fifty).
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def record_request(method: str, endpoint: str, status: int, started: float | None) -> None:
    """Count an answered request; `started` is its time.perf_counter() on arrival."""
    if method not in METHODS:
        method = "OTHER"  # a client names the method: each new name would be a new series
    series = _SERIES.get((method, endpoint, status))
    if series is None:  # endpoints are the app's own names, statuses and METHODS few
        series = (LATENCY.labels(endpoint), REQUESTS.labels(method, endpoint, str(status)))
        _SERIES[(method, endpoint, status)] = series
    if started is not None:
        series[0].observe(time.perf_counter() - started)
    series[1].inc()


def init_app(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def record(response):  # noqa: ANN001, ANN202
        endpoint = request.endpoint or "unmatched"  # never the raw path: no personal data
        record_request(
            request.method, endpoint, response.status_code, g.pop("request_started", None)
        )
        return response


def render(app: Flask) -> bytes:
    """The text exposition: request and comment counters, then the queue length."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        MultiProcessCollector(workers)
        counters = generate_latest(workers)
    else:
        counters = generate_latest(REGISTRY)
    queue = CollectorRegistry()
    queue.register(QueueCollector(app))
    return counters + generate_latest(queue)
