"""Readers' pages for mail subscriptions: confirm (double opt-in) and unsubscribe."""

from flask import Blueprint

bp = Blueprint("subscribe", __name__, template_folder="templates")

from app.subscribe import routes  # noqa: E402, F401  (registers the views on bp)
