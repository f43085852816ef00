"""The moderator dashboard at /dashboard/: plain forms with CSRF, nicer with a little JS."""

from flask import Blueprint

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from app.dashboard import routes  # noqa: E402, F401  (registers the views on bp)
