"""A reader's own data from the widget: a signed-in reader downloads it or deletes their
account with their bearer token; a guest asks for a link mailed to their address."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g
from flask_limiter.util import get_remote_address

from app.api import bp
from app.api.readers import current_viewer
from app.api.routes import _json_body
from app.domain.errors import SessionExpired, ValidationError
from app.extensions import limiter
from app.inputs import json_fields
from app.models import User
from app.models.types import utcnow
from app.services import privacy
from app.services.hashing import keyed_hash

REQUEST_ACCEPTED = "If that address wrote here, a link is on its way."


def _signed_in() -> User:
    """The reader behind the bearer token; without a valid one, 401 like any write."""
    viewer = current_viewer()
    if viewer.user is None:
        raise SessionExpired("Please log in first.")
    return viewer.user


@bp.get("/sites/<site_id>/me/export")
def export_me() -> Response:
    user = _signed_in()
    body = json.dumps(privacy.export_data(user=user), ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/json")
    filename = f"afterword-comments-{utcnow():%Y%m%d}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.delete("/sites/<site_id>/me")
def delete_me() -> dict[str, Any]:
    """Delete the reader's account and the text of all their comments, on every site."""
    data = _json_body()
    user = _signed_in()
    if data.get("confirm") is not True:
        # A stray or replayed request must not delete an account: the widget asked first.
        raise ValidationError("Confirm that the account should be deleted.", field="confirm")
    removed = privacy.erase_user(user.id)
    return {"deleted": True, "comments_removed": removed}


def _privacy_limit() -> str:
    return current_app.config["RATELIMIT_PRIVACY"]


def _email_key() -> str:
    """The address a link would go to, so one mailbox gets few links from any number of
    senders; as a keyed hash, never the address itself in the limiter's storage."""
    email = json_fields().get("email")
    if isinstance(email, str) and email.strip():
        return "privacy-email:" + keyed_hash("email", email.strip().lower())
    return get_remote_address()


@bp.post("/sites/<site_id>/privacy/requests")
@limiter.limit(_privacy_limit, scope="api-privacy")
@limiter.limit(_privacy_limit, scope="api-privacy-email", key_func=_email_key)
def request_privacy_link() -> tuple[dict[str, Any], int]:
    """A guest asks for a link to their data. The answer is the same whether or not the
    address wrote anything, so it cannot be used to find out who comments here."""
    data = _json_body()
    privacy.request_guest_link(data.get("email"), g.site)
    return {"status": "accepted", "message": REQUEST_ACCEPTED}, 202
