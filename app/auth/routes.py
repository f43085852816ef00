"""The popup's pages. They run on our own origin, so the session cookie here is first-party.

`state` is random per flow, kept with the PKCE verifier in the popup's session by Authlib, and
mapped to our flow id; it is used once. The reader's token never appears in a URL or a page:
the last page only tells the widget (postMessage to the flow's exact origin) to claim it.
"""

from __future__ import annotations

import logging
import re
import secrets

import requests
from authlib.integrations.base_client.errors import OAuthError
from flask import (
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from app.auth import bp
from app.auth.facebook import InvalidSignedRequest, parse_signed_request
from app.auth.forms import DevLoginForm
from app.auth.providers import enabled_provider, oauth_client, provider_spec
from app.domain.errors import DomainError
from app.extensions import csrf, db
from app.models import LoginFlow
from app.services import identities, logins
from app.services.identities import Profile

log = logging.getLogger(__name__)
SESSION_KEY = "afterword.login_states"
MAX_OPEN_FLOWS = 5  # per browser session; older states are dropped


@bp.errorhandler(DomainError)
def domain_error(err: DomainError) -> tuple[str, int]:
    db.session.rollback()
    return render_template("auth/message.html", message=err.message), err.status


@bp.after_request
def page_security_headers(response: Response) -> Response:
    nonce = g.get("csp_nonce")
    if nonce:
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
            "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    response.headers["Referrer-Policy"] = "no-referrer"  # flow ids stay out of Referer
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.before_request
def make_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


@bp.route("/dev/start", methods=["GET", "POST"])
def dev_start() -> Response | str:
    """The Dev provider: asks for a name, signs in. Only with DEV_LOGIN=1."""
    if not current_app.config.get("DEV_LOGIN"):
        abort(404)
    flow = logins.live_flow(request.args.get("flow"), "dev")
    form = DevLoginForm()
    if not form.validate_on_submit():
        return render_template("auth/dev.html", form=form, flow=flow)
    logins.start_flow(flow)
    name = " ".join(form.name.data.split())
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "reader"
    user = identities.sign_in(
        Profile(provider="dev", provider_user_id=slug, name=name, handle=slug),
        link_to=flow.link_user_id,
    )
    logins.complete_flow(flow, user)
    return _finish(flow)


@bp.get("/<provider>/start")
def start(provider: str) -> Response:
    spec = enabled_provider(provider)
    client = oauth_client(spec.name)
    if client is None:
        abort(404)
    flow = logins.live_flow(request.args.get("flow"), spec.name)
    logins.start_flow(flow)
    redirect_uri = _callback_url(spec.name)
    state = secrets.token_urlsafe(32)
    authorization = client.create_authorization_url(redirect_uri, state=state)
    client.save_authorize_data(redirect_uri=redirect_uri, **authorization)
    open_states = dict(list(session.get(SESSION_KEY, {}).items())[-(MAX_OPEN_FLOWS - 1) :])
    open_states[state] = flow.id
    session[SESSION_KEY] = open_states
    return redirect(authorization["url"])


@bp.get("/<provider>/callback")
def callback(provider: str) -> Response | str:
    spec = enabled_provider(provider)
    client = oauth_client(spec.name)
    if client is None or spec.fetch_profile is None:
        abort(404)
    open_states = dict(session.get(SESSION_KEY, {}))
    flow_id = open_states.pop(request.args.get("state", ""), None)
    session[SESSION_KEY] = open_states
    flow = db.session.get(LoginFlow, flow_id) if flow_id else None
    if flow is None or flow.provider != spec.name or flow.completed_at is not None:
        # Unknown, replayed or foreign state: nothing to finish, and nothing is exchanged.
        return render_template(
            "auth/message.html",
            message="This sign-in is not valid any more. Close this window and try again.",
        ), 400
    try:
        token = client.authorize_access_token()  # checks state, sends the PKCE verifier
        profile = spec.fetch_profile(client, token, current_app.config)
    except OAuthError as err:
        denied = err.error == "access_denied"
        log.info("sign-in with %s failed: %s", spec.name, err.error)
        logins.fail_flow(
            flow,
            "You cancelled signing in."
            if denied
            else f"{spec.label} could not sign you in. Please try again.",
        )
        return _finish(flow)
    except (requests.RequestException, KeyError, TypeError, ValueError) as err:
        log.warning("sign-in with %s: unexpected answer (%s)", spec.name, type(err).__name__)
        logins.fail_flow(flow, f"{spec.label} did not answer as expected. Please try again.")
        return _finish(flow)
    user = identities.sign_in(profile, link_to=flow.link_user_id)
    logins.complete_flow(flow, user)
    return _finish(flow)


@bp.post("/facebook/data-deletion")
@csrf.exempt
def facebook_data_deletion() -> Response:
    """Facebook's data-deletion callback: erase the reader, answer with a status URL."""
    secret = current_app.config.get("FACEBOOK_CLIENT_SECRET")
    if not provider_spec("facebook").is_configured(current_app.config):
        abort(404)
    try:
        payload = parse_signed_request(request.form.get("signed_request", ""), secret)
    except InvalidSignedRequest:
        return jsonify(error={"code": "invalid_signed_request", "message": "Bad request."}), 400
    record = identities.erase_on_request("facebook", str(payload["user_id"]))
    status_url = url_for(
        "auth.data_deletion_status", code=record.confirmation_code, _external=False
    )
    return jsonify(
        url=f"{current_app.config['PUBLIC_URL']}{status_url}",
        confirmation_code=record.confirmation_code,
    )


@bp.get("/facebook/data-deletion/<code>")
def data_deletion_status(code: str) -> str:
    record = identities.deletion_record(code)
    if record is None:
        abort(404)
    return render_template("auth/deletion.html", record=record)


def _callback_url(provider: str) -> str:
    """Exactly the redirect URI registered with the provider: PUBLIC_URL, never the Host."""
    return f"{current_app.config['PUBLIC_URL']}/auth/{provider}/callback"


def _finish(flow: LoginFlow) -> Response | str:
    """Back to the widget: a full-page sign-in returns to its page, a popup messages it."""
    if flow.return_url:
        return redirect(f"{flow.return_url}#afterword-login={flow.id}", code=303)
    spec = provider_spec(flow.provider)
    return render_template(
        "auth/done.html",
        flow=flow,
        label=spec.label if spec else flow.provider,
        nonce=g.csp_nonce,
    )
