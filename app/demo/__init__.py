"""A demo blog served by Afterword itself, so `make run` shows the widget working at once.

Served in development or with DEMO=1; elsewhere `/` is a short page naming the service.
"""

from flask import Blueprint, Flask, render_template, url_for

bp = Blueprint("demo", __name__, template_folder="templates")
home_bp = Blueprint("home", __name__, template_folder="templates")

from app.demo import routes  # noqa: E402, F401  (registers the views on bp)


@home_bp.get("/")
def show_service() -> str:
    return render_template("demo/service.html", dashboard=url_for("dashboard.queue"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp if app.config["DEMO"] else home_bp)
