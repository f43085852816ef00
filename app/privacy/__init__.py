"""Guests' own data, on the service's origin: the page a mailed link opens."""

from flask import Blueprint

bp = Blueprint("privacy", __name__, template_folder="templates")

from app.privacy import routes  # noqa: E402, F401  (registers the views on bp)
