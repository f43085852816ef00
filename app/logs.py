"""Logs as one JSON object per line (production), for log collectors to index.

What Afterword logs names kinds of events and error types, never a reader's text, email or
address: request paths go to the access log without their query strings (gunicorn.conf.py).
"""

from __future__ import annotations

import logging
import sys

from flask import Flask, has_request_context, request
from pythonjsonlogger.json import JsonFormatter


class _RequestFields(logging.Filter):
    """The endpoint and method of the request a record was logged in, when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.endpoint = request.endpoint or "unmatched"
            record.method = request.method
        return True


def init_app(app: Flask) -> None:
    if app.config["LOG_FORMAT"] != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_RequestFields())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
