"""The popup's pages. They run on our own origin, so the session cookie here is first-party.

`state` is random per flow, kept with the PKCE verifier in the popup's session by Authlib, and
mapped to our flow id; it is used once. The reader's token never appears in a URL or a page:
the last page hands a one-time code to the page that started the flow (postMessage to the
flow's exact origin, or that page's URL with the code in the fragment), which claims the
token with it and the flow's secret (app/services/logins.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user

from app.auth import bp
from app.auth.authorization import (
    AuthorizationFailed,
    fetch_profile,
    pop_purpose,
    redirect_to_provider,
)
from app.auth.facebook import parse_signed_request
from app.auth.forms import DevLoginForm, EmailSignInForm
from app.auth.providers import ProviderSpec, enabled_provider, oauth_client, provider_spec
from app.domain.errors import DomainError, InvalidSignedRequest
from app.errors import error_body, error_page
from app.extensions import csrf, db
from app.models import LoginFlow
from app.services import email_login, identities, links, logins, moderators
from app.services.identities import Profile

error_page(bp, "auth/message.html")


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
def dev_start() -> ResponseReturnValue:
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
    code = logins.complete_flow(
        flow, Profile(provider="dev", provider_user_id=slug, name=name, handle=slug)
    )
    return _finish(flow, code)


@bp.route("/email/sign-in/<token>", methods=["GET", "POST"])
def email_sign_in(token: str) -> ResponseReturnValue:
    """A mailed sign-in link: the GET shows a button (mail scanners follow links), its POST
    finishes the flow, once, and goes back to the page that asked."""
    if not current_app.config.get("EMAIL_LOGIN"):
        abort(404)
    form = EmailSignInForm()
    if not form.validate_on_submit():
        flow = email_login.flow_of(token)
        return render_template("auth/email.html", form=form, flow=flow)
    flow, code = email_login.complete(token)
    return _finish(flow, code)


@bp.get("/<provider>/start")
def start(provider: str) -> ResponseReturnValue:
    spec = enabled_provider(provider)
    if oauth_client(spec.name) is None:
        abort(404)
    flow = logins.live_flow(request.args.get("flow"), spec.name)
    logins.start_flow(flow)
    try:
        return redirect_to_provider(spec, {"kind": "reader", "flow": flow.id})
    except AuthorizationFailed as err:
        return _finish(flow, logins.fail_flow(flow, err.message))


@bp.get("/<provider>/callback")
def callback(provider: str) -> ResponseReturnValue:
    spec = enabled_provider(provider)
    purpose = pop_purpose()
    if purpose is not None and purpose.get("kind") == "moderator":
        return _moderator_callback(spec, purpose)
    flow = db.session.get(LoginFlow, purpose.get("flow")) if purpose else None
    if flow is None or flow.provider != spec.name or flow.completed_at is not None:
        # Unknown, replayed or foreign state: nothing to finish, and nothing is exchanged.
        return render_template(
            "auth/message.html",
            message="This sign-in is not valid any more. Close this window and try again.",
        ), 400
    try:
        code = logins.complete_flow(flow, fetch_profile(spec))
    except AuthorizationFailed as err:
        code = logins.fail_flow(flow, err.message)
    return _finish(flow, code)


def _moderator_callback(
    spec: ProviderSpec, purpose: dict, profile_of: Callable[[], Profile] | None = None
) -> ResponseReturnValue:
    """A moderator signing in to the dashboard, or linking an account to sign in with.

    `profile_of` exchanges the code (Authlib's round trip unless given); it raises
    AuthorizationFailed with a message for the moderator.
    """
    linking = purpose.get("action") == "link"
    if linking and (
        not current_user.is_authenticated or current_user.id != purpose.get("moderator")
    ):
        # Finished in a browser now signed in as someone else (or no one): the account would
        # land on a moderator who never asked, so the code is not even exchanged.
        abort(403)
    back = url_for("dashboard.account" if linking else "dashboard.login")
    try:
        profile = profile_of() if profile_of is not None else fetch_profile(spec)
    except AuthorizationFailed as err:
        flash(err.message, "error")
        return redirect(back)
    if linking:
        try:
            moderators.link_identity(current_user, profile)
        except DomainError as err:
            flash(err.message, "error")
            return redirect(back)
        flash(f"You can now sign in with {spec.label}.", "ok")
        return redirect(back)
    moderator = moderators.find_by_identity(profile)
    if moderator is None:
        flash(f"No moderator account is linked to this {spec.label} account.", "error")
        return redirect(back)
    login_user(moderator)
    return redirect(url_for("dashboard.queue"))


@bp.post("/facebook/data-deletion")
@csrf.exempt
def facebook_data_deletion() -> ResponseReturnValue:
    """Facebook's data-deletion callback: erase the reader, answer with a status URL."""
    secret = current_app.config.get("FACEBOOK_CLIENT_SECRET")
    spec = provider_spec("facebook")
    if spec is None or not spec.is_configured(current_app.config) or not secret:
        abort(404)
    try:
        signed = parse_signed_request(request.form.get("signed_request", ""), secret)
        record = identities.erase_on_request(
            "facebook", signed.user_id, signature=signed.signature, issued_at=signed.issued_at
        )
    except InvalidSignedRequest as err:
        body, status = error_body(err.status, err.code, err.message)
        return jsonify(body), status
    return jsonify(
        url=links.public_url("auth.data_deletion_status", code=record.confirmation_code),
        confirmation_code=record.confirmation_code,
    )


@bp.get("/facebook/data-deletion/<code>")
def data_deletion_status(code: str) -> str:
    record = identities.deletion_record(code)
    if record is None:
        abort(404)
    return render_template("auth/deletion.html", record=record)


def _finish(flow: LoginFlow, code: str) -> ResponseReturnValue:
    """Hand the code to the page that started the flow, and to nothing else.

    A full-page sign-in returns to its page with the code in the fragment, which never reaches
    a server or a Referer. A popup posts it to its opener at the flow's exact origin; a popup
    whose opener a provider's Cross-Origin-Opener-Policy cut off goes to the flow's page itself.
    """
    ticket = f"{flow.return_url}#afterword-login={flow.id}.{code}" if flow.return_url else None
    # A mailed link's page posts its form to us: a redirect from there to another origin is
    # the form's target for `form-action 'self'`, which browsers refuse. The page goes instead.
    if not flow.popup and ticket and flow.provider not in logins.MAILED_PROVIDERS:
        response = redirect(ticket, code=303)
    else:
        spec = provider_spec(flow.provider)
        response = current_app.make_response(
            render_template(
                "auth/done.html",
                flow=flow,
                code=code,
                ticket=ticket,
                label=spec.label if spec else flow.provider,
                nonce=g.csp_nonce,
            )
        )
    response.cache_control.no_store = True  # the code is for this one page view
    return response
