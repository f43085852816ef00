"""Sign-in flows that work across origins without third-party cookies, and cannot be stolen.

1. The widget, on the host page, creates a flow (`create_flow`) and is given its secret; the
   browser's Origin header names the page. The flow id itself is not secret: it is in the
   popup's URL, and anyone can create a flow with any Origin from a script of their own.
2. A popup on our own origin runs the provider's pages (`start_flow`, then the callback), and
   `complete_flow` keeps what the provider said and gives that browser a one-time code.
3. The popup's last page hands the code to the page that opened it: by postMessage to the
   flow's exact origin, or, when the provider's Cross-Origin-Opener-Policy cut the popup off,
   by going to the flow's page with the code in the fragment, where the widget passes it on to
   the page that waits for it (a BroadcastChannel of that origin). A full-page sign-in (popup
   blocked) comes back to its page the same way.
4. The widget claims the flow once with the secret and the code (`claim_flow`). Only then is
   the reader signed in, or the new provider linked: a flow finished in someone else's browser
   gives its creator nothing, and a code planted in someone's page is useless without the
   secret, which the widget keeps only for flows it started.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from app.database import writes
from app.domain.errors import FlowExpired, FlowFailed, Forbidden, NotFound, ValidationError
from app.domain.json_input import is_storable_text
from app.domain.policy import normalize_origin, origin_of, page_address
from app.extensions import db
from app.models import LoginFlow, Site, User
from app.models.types import utcnow
from app.services import identities, tokens, verified_emails
from app.services.hashing import keyed_hash
from app.services.identities import Profile

FLOW_LIFETIME = timedelta(minutes=10)  # enough to type a password, short for a stolen id
# A mailed link waits for the mail to arrive and to be read (app/services/email_login.py).
MAILED_FLOW_LIFETIME = timedelta(minutes=30)
MAILED_PROVIDERS = frozenset({"email"})
FLOW_ID_BYTES = 32
SECRET_BYTES = 32
SECRET_MAX = 64  # token_urlsafe(32) is 43 characters


@dataclass(frozen=True)
class NewFlow:
    """A created flow and its secret, which is shown once, to the page that created it."""

    flow: LoginFlow
    secret: str


@dataclass(frozen=True)
class ClaimResult:
    token: str
    user: User
    provider: str


def lifetime(provider: str) -> timedelta:
    """How long a flow of this provider may run, from its creation to its claim."""
    return MAILED_FLOW_LIFETIME if provider in MAILED_PROVIDERS else FLOW_LIFETIME


def is_past(flow: LoginFlow) -> bool:
    return utcnow() - flow.created_at > lifetime(flow.provider)


def _digest(value: str) -> str:
    return keyed_hash("login-flow", value)


def _matches(value: object, digest: str | None) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= SECRET_MAX
        and digest is not None
        and hmac.compare_digest(_digest(value), digest)
    )


@writes
def create_flow(
    site: Site,
    *,
    origin: str,
    provider: str,
    popup: bool,
    return_url: object = None,
    link_user_id: int | None = None,
    server: str | None = None,
    pending: Profile | None = None,
) -> NewFlow:
    """A new flow for a page on one of the site's origins (checked by the caller's guard).

    `pending`: who it signs in once completed, known from the start (an address to mail).
    It is claimed only with the code of the completion, like any provider's profile.
    """
    origin = normalize_origin(origin)
    if return_url is not None:
        return_url = page_address(return_url, site.origins)  # never an open redirect
        # The code is handed to this page: it must be the page that asked, not another origin
        # of the same site.
        if origin_of(return_url) != origin:  # page_address leaves it normalized
            raise ValidationError(
                "The page to come back to must be on the page's own origin.", field="return_url"
            )
    elif not popup:
        raise ValidationError(
            "A sign-in in the page itself needs the page to come back to.", field="return_url"
        )
    secret = secrets.token_urlsafe(SECRET_BYTES)
    flow = LoginFlow(
        id=secrets.token_urlsafe(FLOW_ID_BYTES),
        site_id=site.id,
        origin=origin,
        provider=provider,
        popup=popup,
        return_url=return_url,
        link_user_id=link_user_id,
        server=server,
        secret_hash=_digest(secret),
        profile=asdict(pending) if pending is not None else None,
    )
    db.session.add(flow)
    return NewFlow(flow=flow, secret=secret)


def live_flow(flow_id: object, provider: str) -> LoginFlow:
    """A flow that may still run, for the popup's pages."""
    if not isinstance(flow_id, str) or len(flow_id) > 64 or not is_storable_text(flow_id):
        raise NotFound("This sign-in link is not valid.")
    flow = db.session.get(LoginFlow, flow_id)
    if flow is None or flow.provider != provider:
        raise NotFound("This sign-in link is not valid.")
    if flow.completed_at or flow.claimed_at or is_past(flow):
        raise FlowExpired("This sign-in has expired. Close this window and try again.")
    return flow


@writes
def start_flow(flow: LoginFlow) -> None:
    """The popup opened: a flow runs once, in one browser."""
    started = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        update(LoginFlow)
        .where(LoginFlow.id == flow.id, LoginFlow.started_at.is_(None))
        .values(started_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not started:
        raise FlowExpired("This sign-in was already started. Close this window and try again.")


def complete_flow(flow: LoginFlow, profile: Profile) -> str:
    """Keep who signed in until the page claims it; returns the code for this browser only."""
    return _finish(flow, profile=asdict(profile))


def fail_flow(flow: LoginFlow, message: str) -> str:
    """A failure is claimed like a success, so the page can say what went wrong."""
    return _finish(flow, error=message[:300])


@writes
def _finish(flow: LoginFlow, **outcome: object) -> str:
    code = secrets.token_urlsafe(SECRET_BYTES)
    finished = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        update(LoginFlow)
        .where(LoginFlow.id == flow.id, LoginFlow.completed_at.is_(None))
        .values(code_hash=_digest(code), completed_at=utcnow(), **outcome)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not finished:
        raise FlowExpired("This sign-in was already finished. Close this window and try again.")
    return code


# A failed sign-in is claimed like a success: once. The claim stays; the page says why.
@writes(commit_on=(FlowFailed,))
def claim_flow(
    site: Site,
    flow_id: object,
    origin: str | None,
    *,
    secret: object,
    code: object,
    signed_in_user_id: int | None,
) -> ClaimResult:
    """The widget's one-time exchange of a finished flow for the reader's token.

    A wrong secret or code reads as an unknown flow: it tells a guesser nothing.
    """
    if not isinstance(flow_id, str) or len(flow_id) > 64 or not is_storable_text(flow_id):
        raise ValidationError("The sign-in id is not valid.", field="flow")
    for name, value in (("secret", secret), ("code", code)):
        if not isinstance(value, str) or not 0 < len(value) <= SECRET_MAX:
            raise ValidationError(f"The sign-in {name} is missing or not valid.", field=name)
    flow = db.session.get(LoginFlow, flow_id)
    if (
        flow is None
        or flow.site_id != site.id
        or flow.origin != origin
        or not _matches(secret, flow.secret_hash)
    ):
        raise NotFound("There is no such sign-in.")
    if flow.claimed_at is not None or is_past(flow):
        raise FlowExpired("This sign-in has expired. Please try again.")
    if not _matches(code, flow.code_hash):
        raise NotFound("There is no such sign-in.")
    if flow.link_user_id is not None and flow.link_user_id != signed_in_user_id:
        # Linking joins an account only from a page where that account is signed in.
        raise Forbidden("Sign in again to link another account.")
    error, profile, link_to, provider = flow.error, flow.profile, flow.link_user_id, flow.provider
    asked_at = flow.created_at
    claimed = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        update(LoginFlow)
        .where(LoginFlow.id == flow.id, LoginFlow.claimed_at.is_(None))
        .values(claimed_at=utcnow(), profile=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise FlowExpired("This sign-in has expired. Please try again.")
    if error or not profile:
        raise FlowFailed(error or "Signing in did not work. Please try again.")
    user = identities.sign_in(Profile(**profile), link_to=link_to)
    _proven(site, Profile(**profile), asked_at)
    return ClaimResult(
        token=tokens.reader_token(user.id, site.id, provider), user=user, provider=provider
    )


def _proven(site: Site, profile: Profile, asked_at: datetime) -> None:
    """A mailed link proved the address its reader's: so are the site's guest comments it
    wrote until the link was asked for."""
    if profile.provider in MAILED_PROVIDERS:
        verified_emails.confirm(site.id, profile.provider_user_id, before=asked_at)


@writes
def prune_flows() -> int:
    """Forget flows past their lifetime; returns how many."""
    removed: int = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        delete(LoginFlow).where(
            LoginFlow.created_at < utcnow() - max(FLOW_LIFETIME, MAILED_FLOW_LIFETIME)
        )
    ).rowcount
    return removed
