"""Who is calling: a signed-in reader (bearer token) and the guest edit tokens they hold."""

from __future__ import annotations

from collections.abc import Iterable

from flask import g, request

from app.domain.errors import SessionExpired
from app.extensions import db
from app.models import User
from app.services import sso, verified_emails
from app.services.tokens import comment_ids_from_edit_tokens, reader_claims
from app.services.viewers import Viewer


def current_viewer(edit_tokens: Iterable[object] = (), *, required: bool = True) -> Viewer:
    """The viewer behind this request.

    A bearer token that is no longer valid is refused on writes (`required`), so a comment is
    never posted under a name the reader did not expect; on reads the reader is simply a guest
    and the answer says so (`g.session_expired`), letting the widget forget the token.
    """
    user, provider, emails = None, None, frozenset[str]()
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        claims = reader_claims(token.strip(), g.site.id) if scheme.lower() == "bearer" else None
        if claims and not sso.is_current(claims.provider, claims.key, g.site):
            claims = None  # the site changed its single sign-on secret, or turned it off
        user = db.session.get(User, claims.user_id) if claims else None
        if user is None:
            if required:
                raise SessionExpired("You were signed out. Please log in again.")
            g.session_expired = True
        else:
            assert claims is not None  # a user is only ever looked up from claims
            provider = claims.provider
            if provider == verified_emails.EMAIL_PROVIDER:
                emails = verified_emails.addresses_of(user.id)
    tokens = [t for t in edit_tokens if isinstance(t, str)]
    return Viewer(
        user=user,
        provider=provider,
        comment_ids=frozenset(comment_ids_from_edit_tokens(tokens)),
        emails=emails,
    )
