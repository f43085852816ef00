"""Sign-in pages: the popup's start, the providers' callbacks, the Dev provider's form."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from app.auth import mastodon, routes  # noqa: E402, F401  (registers the views on bp)
