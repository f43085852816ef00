"""The page behind a guest's mailed link. Opening it changes nothing (mail scanners fetch
every link they see); downloading and deleting are buttons, POSTs with a CSRF token."""

from __future__ import annotations

import json

from flask import Response, render_template, request
from flask_wtf.csrf import CSRFError

from app.errors import error_page
from app.models.types import utcnow
from app.page_headers import secret_link_page
from app.privacy import bp
from app.services import privacy

bp.after_request(secret_link_page)


error_page(bp, "privacy/message.html")


@bp.errorhandler(CSRFError)
def stale_form(_err: CSRFError) -> tuple[str, int]:
    message = "This page was open too long. Open the link from the mail again."
    return render_template("privacy/message.html", message=message), 400


@bp.get("/<token>")
def page(token: str) -> str:
    link = privacy.read_guest_token(token)
    comments = privacy.comments_of_email(link.email)
    return render_template(
        "privacy/page.html",
        email=link.email,
        counts=privacy.counts_per_site(comments),
        total=len(comments),
        subscriptions=len(privacy.subscriptions_of_email(link.email)),
        reply_notifications=len(privacy.reply_notifications(email=link.email)),
        used=privacy.link_used(link),
        token=token,
        hours=privacy.LINK_SECONDS // 3600,
    )


@bp.post("/<token>/export")
def export(token: str) -> Response:
    link = privacy.read_guest_token(token)
    body = json.dumps(privacy.export_data(email=link.email), ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/json")
    filename = f"afterword-comments-{utcnow():%Y%m%d}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/<token>/delete")
def delete(token: str) -> str | tuple[str, int]:
    link = privacy.read_guest_token(token)
    if request.form.get("confirm") != "yes":
        message = "Nothing was deleted: tick the box to confirm, then press the button again."
        return render_template("privacy/message.html", message=message, back=token), 400
    removed = privacy.erase_with_link(link)
    return render_template("privacy/deleted.html", removed=removed)
