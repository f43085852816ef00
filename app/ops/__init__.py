"""Operations: /healthz, /readyz and Prometheus metrics at /metrics."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from app.ops import routes  # noqa: E402, F401  (registers the views on bp)
