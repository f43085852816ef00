"""The JSON API the widget talks to, under /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import guards, privacy, routes, spec  # noqa: E402, F401  (routes register on bp)
