"""Cheap signals that a comment is spam, checked before it is stored; none of them loses it.

A caught comment is still stored (as spam, or pending when unsure), so a moderator can
rescue a false positive; the author is never told which signal fired.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from flask import current_app

from app.domain import holds
from app.domain.holds import Hold
from app.domain.states import CommentStatus
from app.services import links

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Signals:
    """What the request tells us besides the comment itself."""

    honeypot: str = ""  # a field people never see; bots fill it in
    fill_ms: int | None = None  # how long the form was open before posting
    user_agent: str = ""
    referrer: str = ""


@dataclass(frozen=True)
class Verdict:
    status: CommentStatus | None  # None: let the site's moderation mode decide
    # Which signal decided, kept with the comment for the queue to show.
    hold: Hold | None = None


@dataclass(frozen=True)
class Submission:
    """What a comment says and who sent it, as the checks see it."""

    body: str
    html: str
    author_name: str
    author_email: str | None
    author_url: str | None
    page_url: str
    remote_addr: str | None


def assess(submission: Submission, signals: Signals) -> Verdict:
    config = current_app.config
    if signals.honeypot:
        return Verdict(CommentStatus.SPAM, Hold(holds.HONEYPOT))
    if signals.fill_ms is not None and signals.fill_ms < config["COMMENT_MIN_FILL_MS"]:
        return Verdict(CommentStatus.SPAM, Hold(holds.TOO_FAST, holds.seconds(signals.fill_ms)))
    if config.get("AKISMET_KEY"):
        verdict = _akismet(submission, signals)
        if verdict is not None:
            return verdict
    links_in = submission.html.count("<a ")
    if links_in > config["COMMENT_MAX_LINKS"]:
        detail = f"{links_in} (the site allows {config['COMMENT_MAX_LINKS']})"
        return Verdict(CommentStatus.PENDING, Hold(holds.LINKS, detail))
    return Verdict(None)


def _akismet(submission: Submission, signals: Signals) -> Verdict | None:
    """Akismet's comment-check. When it cannot answer, the comment waits for a moderator."""
    config = current_app.config
    try:
        resp = requests.post(
            config["AKISMET_URL"],
            data={
                "api_key": config["AKISMET_KEY"],
                "blog": links.public_base(),
                "user_ip": submission.remote_addr or "",
                "user_agent": signals.user_agent,
                "referrer": signals.referrer,
                "permalink": submission.page_url,
                "comment_type": "comment",
                "comment_author": submission.author_name,
                "comment_author_email": submission.author_email or "",
                "comment_author_url": submission.author_url or "",
                "comment_content": submission.body,
            },
            timeout=3,
        )
        answer = resp.text.strip()
    except requests.RequestException as err:
        log.warning("akismet unreachable (%s); holding the comment", type(err).__name__)
        return Verdict(CommentStatus.PENDING, Hold(holds.AKISMET_UNAVAILABLE))
    if answer == "true":
        return Verdict(CommentStatus.SPAM, Hold(holds.AKISMET))
    if answer == "false":
        return None
    log.warning("akismet answered %r (HTTP %s); holding the comment", answer[:40], resp.status_code)
    return Verdict(CommentStatus.PENDING, Hold(holds.AKISMET_UNAVAILABLE))
