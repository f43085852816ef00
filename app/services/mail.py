"""The outbox: requests add rows, `flask mail send-pending` sends them.

An outbox table rather than a background thread: a reader's post never waits on SMTP, a
message survives a restart or a crash, and several web processes need no coordination
(rows are claimed with SKIP LOCKED on PostgreSQL; SQLite serializes writers anyway). Run the
sender from cron or a systemd timer, or as `flask mail send-pending --loop 30`.

Without MAIL_SERVER each message is written to the log, readably, instead of being sent; and
in development (MAIL_SEND_AFTER_REQUEST) a request that queued mail drains the outbox once its
response is out, so the links of a mail can be followed with nothing else running.
"""

from __future__ import annotations

import functools
import logging
import re
import smtplib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import formatdate, make_msgid
from typing import Any

from flask import Flask, current_app, g, has_request_context
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.database import writes
from app.extensions import db, limiter
from app.models import OutboxMessage
from app.models.types import utcnow
from app.services.hashing import email_hash

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
# How long a sender holds the rows it is sending; longer than any SMTP conversation (30 s
# timeouts), so that two senders never send one message twice.
LEASE = timedelta(minutes=10)
# Counts while the limiter's storage (Redis) is away: per process, as Flask-Limiter does.
_LOCAL_COUNTS = FixedWindowRateLimiter(MemoryStorage())


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: each can end a
# header line for some parser, or hide part of one from the reader.
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def header_text(text: str, limit: int = 200) -> str:
    """A header-safe line from text a reader or a site owner typed (titles, names).

    No CR/LF or other controls (header injection), no runs of whitespace, bounded; and no
    RFC 2047 encoded-word: a parser decodes "=?utf-8?q?=0D=0A...?=" into whatever it encodes,
    CR/LF included, and some Python 3.11 releases then write that out raw (CVE-2024-6923).
    A space after every "=" before a "?" leaves nothing any parser takes for one, and the
    text still reads the same to a person.
    """
    line = " ".join(_LINE_BREAKERS.sub(" ", text).split())
    return line.replace("=?", "= ?")[:limit]


def enqueue(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    digest_key: str | None = None,
    send_after: Any = None,
) -> OutboxMessage:
    """Add a message to the caller's transaction; it is sent once the transaction commits."""
    message = OutboxMessage(
        to=to,
        subject=header_text(subject),
        body_text=text,
        body_html=html,
        headers={k: header_text(v, 1000) for k, v in (headers or {}).items()},
        digest_key=digest_key,
        send_after=send_after or utcnow(),
    )
    db.session.add(message)
    if has_request_context():
        g.afterword_mail_queued = True
    return message


def init_app(app: Flask) -> None:
    send_after_responses(app, "afterword_mail_queued", send_pending, "the outbox")


def send_after_responses(app: Flask, flag: str, send: Callable[[], object], what: str) -> None:
    """In development (MAIL_SEND_AFTER_REQUEST), `send()` once the response of a request that
    set `g.<flag>` is out (the mail outbox; webhooks use it too)."""
    if not app.config.get("MAIL_SEND_AFTER_REQUEST"):
        return

    def send_in_own_context() -> None:
        with app.app_context():
            try:
                send()
            except Exception:  # the response is gone; `flask mail send-pending` retries
                log.exception("sending %s after a request failed", what)

    @app.after_request
    def send_after_response(response: Response) -> Response:
        if g.pop(flag, False):
            # Once the response is out and the request's transaction long committed; in an
            # app context of its own, so it uses a session of its own.
            response.call_on_close(send_in_own_context)
        return response


def recipient_allows(kind: str, to: str) -> bool:
    """Whether one more mail of `kind` may go to `to` now (RATELIMIT_RECIPIENT); counts it.

    For mail a request can aim at any address. Counted in the rate limiter's storage, so
    every process shares the counts, under a keyed hash of the address: the storage never
    holds the address itself, and case or surrounding spaces make no other recipient.
    """
    if not limiter.enabled:
        return True
    scope, recipient = f"mail-recipient-{kind}", email_hash(to) or ""
    items = _recipient_limits(current_app.config["RATELIMIT_RECIPIENT"])
    try:
        return all(limiter.limiter.hit(item, scope, recipient) for item in items)
    except limiter.storage.base_exceptions:
        log.warning("rate limit storage unreachable; counting mail per process meanwhile")
        return all(_LOCAL_COUNTS.hit(item, scope, recipient) for item in items)


@functools.lru_cache(maxsize=8)
def _recipient_limits(configured: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(configured))


@dataclass(frozen=True)
class SendReport:
    sent: int  # handed to the SMTP server, or logged when there is none
    failed: int
    logged: bool = False  # no MAIL_SERVER: `sent` messages were written to the log only


@dataclass(frozen=True)
class _Leased:
    """The outbox rows of one message, and the message (or why it could not be built)."""

    ids: list[int]
    message: EmailMessage | ValueError


def send_pending(limit: int = 100) -> SendReport:
    """Send what is due; digest rows for one recipient and key go out as one message.

    SMTP is spoken outside any transaction, so a slow mail server never holds the database's
    write lock (on SQLite, every reader's post would wait for it): the rows are leased first,
    each result is recorded after. A sender that dies in between leaves its rows to the next
    one once the lease runs out.
    """
    sent = failed = 0
    for leased in _lease_due(limit):
        error: Exception | None = None
        if isinstance(leased.message, ValueError):
            error = leased.message
        else:
            try:
                _deliver(leased.message)
            except (OSError, smtplib.SMTPException, ValueError) as err:
                error = err
        _record(leased.ids, error)
        if error is None:
            sent += 1
        else:
            failed += 1
            log.warning("mail to a recipient failed (%s); will retry", type(error).__name__)
    return SendReport(sent=sent, failed=failed, logged=not current_app.config.get("MAIL_SERVER"))


@writes
def _lease_due(limit: int) -> list[_Leased]:
    rows = list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.send_after <= utcnow(),
                OutboxMessage.attempts < MAX_ATTEMPTS,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    batches: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        row.send_after = utcnow() + LEASE
        batches[(row.to, row.digest_key or f"single:{row.id}")].append(row)
    leased = []
    for batch in batches.values():
        ids = [row.id for row in batch]
        try:
            # Caught: a message that cannot even be built must not hold up the rest.
            leased.append(_Leased(ids, build_message(batch)))
        except ValueError as err:
            leased.append(_Leased(ids, err))
    return leased


@writes
def _record(ids: list[int], error: BaseException | None) -> None:
    for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))):
        if error is None:
            row.sent_at = utcnow()
            continue
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        row.send_after = utcnow() + timedelta(minutes=5 * 2**row.attempts)


def build_message(batch: list[OutboxMessage]) -> EmailMessage:
    """One EmailMessage for one row, or a digest of several for the same recipient.

    Header values pass through header_text again, for rows queued before it existed.
    """
    first = batch[0]
    # An address with letters beyond ASCII before the @ needs SMTPUTF8 (RFC 6531); the
    # server is asked for it only then.
    message = EmailMessage(policy=SMTPUTF8) if not first.to.isascii() else EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    # Address() refuses what SMTPUTF8 allows; such an address is set as checked text.
    message["To"] = Address(addr_spec=first.to) if first.to.isascii() else header_text(first.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=current_app.config["MAIL_FROM"].split("@")[-1])
    if len(batch) == 1:
        message["Subject"] = header_text(first.subject)
        for name, value in first.headers.items():
            message[name] = header_text(value, 1000)
        message.set_content(first.body_text)
        if first.body_html:
            message.add_alternative(first.body_html, subtype="html")
        # Folding at 78 characters turns a long URL without spaces (List-Unsubscribe) into
        # RFC 2047 encoded-words, which mail providers do not read as a URL; 998 is SMTP's
        # own line limit. Set after the bodies, whose encoding it would otherwise change.
        message.policy = message.policy.clone(max_line_length=998)
        return message
    message["Subject"] = header_text(f"{len(batch)} comments are waiting for you")
    separator = "\n\n" + "-" * 60 + "\n\n"
    message.set_content(separator.join(row.body_text for row in batch))
    htmls = [row.body_html for row in batch if row.body_html]
    if len(htmls) == len(batch):
        message.add_alternative("<hr>".join(htmls), subtype="html")
    return message


def _deliver(message: EmailMessage) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info("%s", readable(message))
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def readable(message: EmailMessage) -> str:
    """The message as a person reads it in a terminal: who, what, and the plain text decoded.

    Not `as_string()`: its quoted-printable body wraps long lines with "=" and spells "=" as
    "=3D", which breaks exactly the links (confirmations, approvals) one wants to follow.
    """
    body = message.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    rule = "-" * 72
    lines = [
        "Mail not sent (MAIL_SERVER is unset), shown here instead:",
        rule,
        f"To: {message['To']}",
        f"Subject: {message['Subject']}",
        rule,
        text.rstrip("\n"),
        rule,
    ]
    return "\n".join(lines)
