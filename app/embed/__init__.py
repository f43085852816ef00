"""Serves the embeddable widget (embed.js) and the comment counter (count.js)."""

from flask import Blueprint

bp = Blueprint("embed", __name__, static_folder=None)

from app.embed import routes  # noqa: E402, F401  (registers the views on bp)
