"""Flask's signed-cookie sessions, without `Vary: Cookie` on the widget's API, and what
Flask-Login's session protection ties a dashboard session to."""

from __future__ import annotations

from hashlib import sha512

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response


class CookieSessions(SecureCookieSessionInterface):
    """The API knows readers by bearer token alone and never reads the cookie, but Flask-Login
    looks into the session after every request, and Flask then marks the answer as varying by
    cookie: shared caches (CDNs) would keep no public thread page at all."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        super().save_session(app, session, response)
        if request.blueprint == "api":
            # Lower case: Werkzeug's HeaderSet.remove only finds a header named so.
            response.vary.discard("cookie")


def session_identifier() -> str:
    """The client's address and User-Agent, hashed: a session used from elsewhere is ended
    ("strong" session protection).

    Replaces Flask-Login's own, which takes the address from X-Forwarded-For whoever sent it,
    so that a copied cookie passed wherever its holder claimed the owner's address. Here the
    address is `request.remote_addr`: the peer's, or the forwarded one only where ProxyFix
    was put in front for TRUSTED_PROXIES (app/__init__.py).
    """
    base = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return sha512(base.encode("utf-8")).hexdigest()
