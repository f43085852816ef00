"""Sign-in flows that work across origins without third-party cookies.

1. The widget, on the host page, creates a flow (`create_flow`); the browser's Origin header
   vouches for the page, and the flow id is a secret only that page knows.
2. A popup on our own origin runs the provider's pages (`start_flow`, then the callback), and
   `complete_flow` records who signed in.
3. The widget claims the result once (`claim_flow`), prompted by a postMessage from the last
   popup page or, if the provider's Cross-Origin-Opener-Policy cut the popup off, by polling.
   If the popup was blocked the same steps run in the page itself, and the flow id comes back
   in the URL fragment of the page the reader was on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update

from app.database import begin_write
from app.domain.errors import DomainError, NotFound, ValidationError
from app.domain.policy import normalize_origin, thread_key
from app.extensions import db
from app.models import LoginFlow, Site, User
from app.models.types import utcnow
from app.services import tokens

FLOW_LIFETIME = timedelta(minutes=10)  # enough to type a password, short for a stolen id
FLOW_ID_BYTES = 32


class FlowExpired(DomainError):
    status = 410
    code = "login_expired"


class FlowFailed(DomainError):
    status = 400
    code = "login_failed"


@dataclass(frozen=True)
class ClaimResult:
    """`token` is set once the reader signed in; `pending` while the popup is still open."""

    pending: bool
    token: str | None = None
    user: User | None = None
    provider: str | None = None


def create_flow(
    site: Site,
    *,
    origin: str,
    provider: str,
    return_url: object = None,
    link_user_id: int | None = None,
) -> LoginFlow:
    """A new flow for a page on one of the site's origins (checked by the caller's guard)."""
    if return_url is not None:
        return_url = thread_key(return_url, site.origins)  # never an open redirect
    flow = LoginFlow(
        id=secrets.token_urlsafe(FLOW_ID_BYTES),
        site_id=site.id,
        origin=normalize_origin(origin),
        provider=provider,
        return_url=return_url,
        link_user_id=link_user_id,
    )
    db.session.add(flow)
    db.session.commit()
    return flow


def live_flow(flow_id: object, provider: str) -> LoginFlow:
    """A flow that may still run, for the popup's pages."""
    if not isinstance(flow_id, str) or len(flow_id) > 64:
        raise NotFound("This sign-in link is not valid.")
    flow = db.session.get(LoginFlow, flow_id)
    if flow is None or flow.provider != provider:
        raise NotFound("This sign-in link is not valid.")
    if flow.completed_at or flow.claimed_at or utcnow() - flow.created_at > FLOW_LIFETIME:
        raise FlowExpired("This sign-in has expired. Close this window and try again.")
    return flow


def start_flow(flow: LoginFlow) -> None:
    """The popup opened: a flow runs once, in one browser."""
    begin_write()
    started = db.session.execute(
        update(LoginFlow)
        .where(LoginFlow.id == flow.id, LoginFlow.started_at.is_(None))
        .values(started_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not started:
        raise FlowExpired("This sign-in was already started. Close this window and try again.")


def complete_flow(flow: LoginFlow, user: User) -> None:
    flow.user_id = user.id
    flow.completed_at = utcnow()
    db.session.commit()


def fail_flow(flow: LoginFlow, message: str) -> None:
    flow.error = message[:300]
    flow.completed_at = utcnow()
    db.session.commit()


def claim_flow(site: Site, flow_id: object, origin: str | None) -> ClaimResult:
    """The widget's one-time exchange of a finished flow for the reader's token."""
    if not isinstance(flow_id, str) or len(flow_id) > 64:
        raise ValidationError("The sign-in id is not valid.", field="flow")
    begin_write()
    flow = db.session.get(LoginFlow, flow_id)
    if flow is None or flow.site_id != site.id or flow.origin != origin:
        raise NotFound("There is no such sign-in.")
    if flow.claimed_at is not None or utcnow() - flow.created_at > FLOW_LIFETIME:
        raise FlowExpired("This sign-in has expired. Please try again.")
    if flow.completed_at is None:
        db.session.commit()
        return ClaimResult(pending=True)
    flow.claimed_at = utcnow()
    db.session.commit()
    if flow.error or flow.user_id is None:
        raise FlowFailed(flow.error or "Signing in did not work. Please try again.")
    user = db.session.get(User, flow.user_id)
    return ClaimResult(
        pending=False,
        token=tokens.reader_token(user.id, site.id, flow.provider),
        user=user,
        provider=flow.provider,
    )


def prune_flows() -> int:
    """Forget flows past their lifetime; returns how many."""
    begin_write()
    removed = db.session.execute(
        delete(LoginFlow).where(LoginFlow.created_at < utcnow() - FLOW_LIFETIME)
    ).rowcount
    db.session.commit()
    return removed
