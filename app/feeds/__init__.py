"""Atom feeds of approved comments, per thread and per site."""

from flask import Blueprint

bp = Blueprint("feeds", __name__)

from app.feeds import routes  # noqa: E402, F401  (registers the views on bp)
