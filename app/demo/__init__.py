"""A demo blog served by Afterword itself, so `make run` shows the widget working at once."""

from flask import Blueprint

bp = Blueprint("demo", __name__, template_folder="templates")

from app.demo import routes  # noqa: E402, F401  (registers the views on bp)
