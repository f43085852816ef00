"""Flask's signed-cookie sessions, without `Vary: Cookie` on the widget's API."""

from __future__ import annotations

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
