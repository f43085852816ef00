"""Opening a link from a mail changes nothing: scanners fetch every link they see. The page
asks for a click (a POST); unsubscribing also takes the one-click POST of RFC 8058, which
mail providers send without cookies or forms, so that one is exempt from CSRF tokens."""

from __future__ import annotations

from flask import Response, render_template, request

from app.errors import error_page
from app.extensions import csrf, db
from app.models import Thread
from app.page_headers import secret_link_page
from app.services import reply_mail, subscriptions
from app.subscribe import bp

bp.after_request(secret_link_page)


error_page(bp, "subscribe/page.html")


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> str | Response:
    if request.method == "POST":
        subscription = subscriptions.confirm(token)
        return _page(subscription, "You will get an email when a new comment appears.")
    subscription = subscriptions.peek(token, unsubscribing=False)
    return _page(subscription, None, action="Confirm")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> str | Response:
    if request.method == "POST":
        subscription = subscriptions.unsubscribe(token)
        return _page(subscription, "You will get no more email about this page.")
    subscription = subscriptions.peek(token, unsubscribing=True)
    return _page(subscription, None, action="Unsubscribe")


@bp.route("/confirm-address/<token>", methods=["GET", "POST"])
def confirm_address(token: str) -> str:
    if request.method == "POST":
        reply_mail.confirm(token)
        message = "You will get an email when someone replies to your comment."
        return _replies_page(None, message)
    reply_mail.peek_confirm(token)
    return _replies_page(None, None, action="Confirm")


@bp.route("/replies/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_replies(token: str) -> str:
    """One comment's reply mail, or all of it from the site; one-click POST as above."""
    if request.method == "POST":
        stopped = reply_mail.unsubscribe(token)
        if stopped.subscription is None:
            return _replies_page(None, "You will get no more email about replies on this site.")
        message = "You will get no more email about replies to this comment."
        return _replies_page(stopped.thread, message)
    return _replies_page(reply_mail.peek_unsubscribe(token).thread, None, action="Unsubscribe")


def _page(subscription, message: str | None, action: str | None = None) -> str:  # noqa: ANN001
    thread = db.session.get(Thread, subscription.thread_id)
    return render_template("subscribe/page.html", thread=thread, message=message, action=action)


def _replies_page(thread: Thread | None, message: str | None, action: str | None = None) -> str:
    return render_template(
        "subscribe/page.html",
        heading="Replies by email",
        thread=thread,
        message=message,
        action=action,
    )
