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
        _text_logs(app.config["LOG_LEVEL"])
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


def _text_logs(level: str) -> None:
    """Records at LOG_LEVEL on stderr for people, unless a host (pytest, an embedding server)
    set up logging already: Python alone shows only warnings, which would hide mail that is
    logged rather than sent."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)


class _TextFormatter(logging.Formatter):
    """Information as it is (the server's access log, mail shown instead of sent); what
    needs a look named as such, with where it comes from."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno < logging.WARNING:
            return text
        return f"{record.levelname} {record.name}: {text}"
