"""A site's webhook: new pending and approved comments POSTed to the URL its moderators set.

Events are queued in the comment's own transaction (a post that rolls back sends nothing)
and sent by `flask mail send-pending` with the mail, the job operators already run: rows are
leased, the request is made outside any transaction, the result recorded after, and a failed
delivery is tried again later and later until MAX_ATTEMPTS. In development
(MAIL_SEND_AFTER_REQUEST) a request that queued one sends it once its response is out.

The URL is a moderator's, but the requests are the service's, from inside its network: the
name is resolved and every address checked when the URL is saved and again at each request
(DNS answers change), and app/services/safe_http.py connects only to an address it checked,
follows no redirect, and bounds the time and the answer.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import select

from app.database import writes
from app.domain.errors import ValidationError
from app.domain.roles import SiteAction
from app.domain.webhooks import (
    FORMATS,
    SIGNATURE_HEADER,
    BadWebhookUrl,
    WebhookTarget,
    chat_body,
    excerpt,
    parse_url,
    signature,
)
from app.extensions import db
from app.models import Comment, Moderator, Site, SiteWebhook, Thread, WebhookDelivery
from app.models.types import utcnow
from app.services import authors, mail, mail_actions, safe_http
from app.services.moderation.audit import record_action
from app.services.moderation.permissions import can_moderate, require_owner

log = logging.getLogger(__name__)

PENDING, APPROVED, TEST = "comment.pending", "comment.approved", "test"
MAX_ATTEMPTS = 8  # 1 + 2 + 4 + … + 64 minutes apart: about two hours of trying
LEASE = timedelta(minutes=2)  # longer than a request may take (SEND_TIMEOUT)
SEND_TIMEOUT = 10.0
TEST_TIMEOUT = 5.0  # a moderator waits for this one
MAX_ANSWER = 16 * 1024  # receivers answer "ok" or a little JSON
SHOWN_ANSWER = 200  # characters of the answer a `Send test` shows
USER_AGENT = "Afterword (webhooks)"
ACTIONS = ("approve", "reject")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_of(moderator: Moderator, site_id: str) -> SiteWebhook | None:
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    return db.session.get(SiteWebhook, site_id)


def save(moderator: Moderator, site_id: str, url: str, body_format: str) -> SiteWebhook | None:
    """Set (or, with an empty URL, remove) the site's webhook; a first URL gets a secret.

    Raises BadWebhookUrl (field `webhook_url`) for an address it will not send to. The name is
    resolved before the write transaction, so a slow DNS server never holds the write lock.
    """
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    url = url.strip()
    if not url:
        return _store(moderator, site_id, None, body_format)
    if body_format not in FORMATS:
        raise ValidationError("Choose how the body is written.", field="webhook_format")
    target = parse_url(url)
    try:
        safe_http.checked_addresses(target.server, allow_loopback=_allow_loopback())
    except safe_http.AddressRefused:
        raise BadWebhookUrl(
            "That address is refused: it leads to a private or local network."
        ) from None
    except safe_http.Unreachable:
        raise BadWebhookUrl("That name could not be found.") from None
    return _store(moderator, site_id, (url, target), body_format)


@writes
def _store(
    moderator: Moderator,
    site_id: str,
    url: tuple[str, WebhookTarget] | None,
    body_format: str,
) -> SiteWebhook | None:
    hook = db.session.get(SiteWebhook, site_id)
    if url is None:
        if hook is not None:
            db.session.delete(hook)
            record_action(site_id, None, moderator, "webhook", detail="webhook removed")
        return None
    if hook is None:
        hook = SiteWebhook(site_id=site_id, secret=new_secret())
        db.session.add(hook)
    hook.url, target = url
    hook.format = body_format
    hook.moderator_id = moderator.id
    hook.updated_at = utcnow()
    # The host only: the rest of a chat app's webhook URL is a key.
    detail = f"webhook to {target.server.name}, {FORMATS[body_format]}"
    record_action(site_id, None, moderator, "webhook", detail=detail)
    return hook


@writes
def regenerate_secret(moderator: Moderator, site_id: str) -> SiteWebhook:
    hook = webhook_of(moderator, site_id)
    if hook is None:
        raise ValidationError("Save a Webhook URL first.", field="webhook_url")
    hook.secret = new_secret()
    record_action(site_id, None, moderator, "webhook", detail="signing secret regenerated")
    return hook


def has_webhook(site_id: str) -> bool:
    return db.session.get(SiteWebhook, site_id) is not None


def comment_event(
    comment: Comment,
    thread: Thread,
    site: Site,
    event: str,
    hook: SiteWebhook | Literal[False] | None = False,
) -> bool:
    """Queue `event` for the site's webhook, if it has one, in the caller's transaction.

    `hook`: the site's webhook (or None) as the caller already read it; False: read it here.
    """
    if hook is False:
        hook = db.session.get(SiteWebhook, site.id)
    if not isinstance(hook, SiteWebhook):
        return False
    payload = _comment_payload(hook, event, comment, thread, site)
    body = payload if hook.format == "json" else chat_body(_chat_text(payload))
    db.session.add(
        WebhookDelivery(site_id=site.id, event=event, comment_id=comment.id, body=_dumps(body))
    )
    if has_request_context():
        g.afterword_webhook_queued = True
    return True


def _comment_payload(
    hook: SiteWebhook, event: str, comment: Comment, thread: Thread, site: Site
) -> dict[str, Any]:
    # No email, no address hash: a chat channel is read by more people than the dashboard.
    payload: dict[str, Any] = {
        "event": event,
        "site": {"id": site.id, "name": site.name},
        "thread": {"url": thread.url, "title": thread.title},
        "comment": {
            "id": comment.id,
            "author": {"name": authors.of_comment(comment).label},
            "text": comment.body,
            "html": comment.html,
            "created_at": comment.created_at.isoformat(),
            "permalink": f"{thread.url}#comment-{comment.id}",
        },
    }
    if event == PENDING and (actions := _actions(hook, comment, site)):
        payload["actions"] = actions
    return payload


def _actions(hook: SiteWebhook, comment: Comment, site: Site) -> dict[str, str] | None:
    """The one-time links a moderator would get by mail (GET asks, only POST acts), as the
    moderator who set the webhook; none once they no longer moderate the site."""
    moderator = db.session.get(Moderator, hook.moderator_id) if hook.moderator_id else None
    if moderator is None or not can_moderate(moderator, site.id):
        return None
    return {action: mail_actions.url(moderator, comment, action) for action in ACTIONS}


def _chat_text(payload: dict[str, Any]) -> str:
    site, thread, comment = payload["site"], payload["thread"], payload["comment"]
    page = thread["title"] or thread["url"]
    said = excerpt(comment["text"])
    name = comment["author"]["name"]
    if payload["event"] == PENDING:
        lines = [f"[{site['name']}] A comment waits on “{page}”. {name} wrote:", said]
        if actions := payload.get("actions"):
            lines += [
                "",
                f"Approve: {actions['approve']}",
                f"Reject: {actions['reject']}",
                "(Each link asks you to confirm, works once, and expires in three days.)",
            ]
        return "\n".join(lines)
    return "\n".join(
        [f"[{site['name']}] {name} commented on “{page}”:", said, "", comment["permalink"]]
    )


def _test_body(hook: SiteWebhook, site: Site) -> str:
    if hook.format == "text":
        return _dumps(chat_body(f"[{site.name}] A test from Afterword: this webhook works."))
    return _dumps(
        {"event": TEST, "site": {"id": site.id, "name": site.name}, "sent_at": utcnow().isoformat()}
    )


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Outcome:
    """What the receiver answered, or why there was no answer."""

    status: int | None = None
    answer: str = ""  # the start of the body, as text
    error: str | None = None  # "could not connect", "timed out", "address refused", …

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def summary(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        return f"HTTP {self.status}"


def send_test(moderator: Moderator, site_id: str) -> Outcome:
    """POST a `test` event now and return the answer (the dashboard's `Send test`)."""
    hook = webhook_of(moderator, site_id)
    if hook is None:
        raise ValidationError("Save a Webhook URL first.", field="webhook_url")
    site = db.session.get_one(Site, site_id)
    return _post(hook.url, hook.secret, TEST, _test_body(hook, site), TEST_TIMEOUT)


def _post(url: str, secret: str, event: str, body: str, timeout: float) -> Outcome:
    try:
        target = parse_url(url)
    except BadWebhookUrl:
        return Outcome(error="the address is not valid")
    data = body.encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, int(utcnow().timestamp()), data),
        "X-Afterword-Event": event,
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
    }
    started = time.monotonic()
    try:
        answer = safe_http.request(
            "POST",
            target.server,
            target.path,
            data=data,
            headers=headers,
            allow_loopback=_allow_loopback(),
            timeout=timeout,
            max_body=MAX_ANSWER,
        )
    except safe_http.AddressRefused:
        return Outcome(error="address refused")
    except safe_http.TooLarge:
        return Outcome(error="the answer was too large")
    except safe_http.Unreachable as err:
        late = time.monotonic() - started >= timeout - 0.05 or _timed_out(err)
        return Outcome(error="timed out" if late else "could not connect")
    text = answer.body[: SHOWN_ANSWER * 4].decode("utf-8", "replace")[:SHOWN_ANSWER]
    return Outcome(status=answer.status, answer=text)


def _timed_out(err: BaseException) -> bool:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, TimeoutError) or "timed out" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _allow_loopback() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_LOOPBACK"))


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int


@dataclass(frozen=True)
class _Leased:
    id: int
    event: str
    body: str
    url: str | None  # None: the site has no webhook any more
    secret: str


def send_pending(limit: int = 100) -> SendReport:
    """POST what is due, each outside any transaction (a slow receiver holds no lock)."""
    sent = failed = 0
    for leased in _lease_due(limit):
        if leased.url is None:
            outcome = Outcome(error="the site has no webhook any more")
        else:
            outcome = _post(leased.url, leased.secret, leased.event, leased.body, SEND_TIMEOUT)
        _record(leased.id, outcome, give_up=leased.url is None)
        if outcome.ok:
            sent += 1
        else:
            failed += 1
            log.warning("webhook delivery %s failed (%s); will retry", leased.id, outcome.summary)
    return SendReport(sent=sent, failed=failed)


@writes
def _lease_due(limit: int) -> list[_Leased]:
    rows = db.session.execute(
        select(WebhookDelivery, SiteWebhook)
        .outerjoin(SiteWebhook, SiteWebhook.site_id == WebhookDelivery.site_id)
        .where(
            WebhookDelivery.sent_at.is_(None),
            WebhookDelivery.send_after <= utcnow(),
            WebhookDelivery.attempts < MAX_ATTEMPTS,
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    leased = []
    for delivery, hook in rows:
        delivery.send_after = utcnow() + LEASE
        leased.append(
            _Leased(
                id=delivery.id,
                event=delivery.event,
                body=delivery.body,
                url=hook.url if hook is not None else None,
                secret=hook.secret if hook is not None else "",
            )
        )
    return leased


@writes
def _record(delivery_id: int, outcome: Outcome, *, give_up: bool = False) -> None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return
    if outcome.ok:
        delivery.sent_at = utcnow()
        return
    delivery.attempts = MAX_ATTEMPTS if give_up else delivery.attempts + 1
    delivery.last_error = ": ".join(filter(None, [outcome.summary, outcome.answer]))[:500]
    delivery.send_after = utcnow() + retry_delay(delivery.attempts)


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failure a delivery is tried again: doubling."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def init_app(app: Flask) -> None:
    mail.send_after_responses(app, "afterword_webhook_queued", send_pending, "webhooks")
