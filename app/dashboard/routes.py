"""Dashboard views: parse the form, call the moderation service, redirect or answer JSON."""

from __future__ import annotations

import io
from math import ceil
from typing import Any
from urllib.parse import urlsplit

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
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms.fields.choices import SelectChoice

from app.auth.authorization import AuthorizationFailed, redirect_to_provider
from app.auth.mastodon import redirect_moderator
from app.auth.providers import MASTODON_PROVIDER, ProviderSpec, all_providers, enabled_providers
from app.dashboard import bp
from app.dashboard.forms import (
    ActionForm,
    BanForm,
    CommentTextForm,
    EmptyForm,
    EraseAuthorForm,
    ForgotPasswordForm,
    LoginForm,
    MastodonServerForm,
    NewSiteForm,
    NotifyForm,
    PasswordForm,
    PinForm,
    ResetPasswordForm,
    SiteSettingsForm,
    UndoForm,
)
from app.domain.errors import DomainError, ValidationError
from app.domain.reports import REASONS as REPORT_REASONS
from app.domain.states import CommentStatus, ModerationMode
from app.errors import error_page, http_error_page, retry_after_seconds, wants_json
from app.extensions import db, limiter, login_manager
from app.models import Moderator, Site
from app.models.types import utcnow
from app.services import mail_actions, moderation, moderators, privacy, sites, transfer

STATUSES = [CommentStatus.PENDING.value, moderation.REPORTED] + [
    s.value for s in CommentStatus if s is not CommentStatus.PENDING
]
# What was done, in the words the queue's script uses on a card (dashboard.js, SAID).
DONE = {
    CommentStatus.APPROVED: "Approved.",
    CommentStatus.REJECTED: "Rejected.",
    CommentStatus.SPAM: "Marked as spam.",
    CommentStatus.DELETED: "Deleted.",
    CommentStatus.PENDING: "Back in the queue.",
}
RESET_SENT = "If that address belongs to a moderator, a link to set a new password is on its way."


@login_manager.user_loader
def load_moderator(session_id: str) -> Moderator | None:
    return moderators.signed_in(session_id)


login_manager.login_view = "dashboard.login"
login_manager.login_message = "Please sign in to moderate."
login_manager.session_protection = "strong"


@bp.after_request
def dashboard_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' https:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def domain_error(err: DomainError) -> ResponseReturnValue:
    flash(err.message, "error")
    return redirect(_safe_next(request.form.get("next")) or url_for("dashboard.queue"))


error_page(bp, domain_error)


def http_error(err: HTTPException) -> Response:
    """Werkzeug's status, headers and wording, on a page with the dashboard's own landmarks."""
    page = render_template("dashboard/error.html", error=err)
    return Response(page, err.code, err.get_headers())


http_error_page(bp, http_error)


@bp.errorhandler(CSRFError)
def stale_form(err: CSRFError) -> Response:
    """A page open past its session: answered as a page even to the script, which reads any
    answer that is not JSON as "reload this page"."""
    return http_error(err)


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(err: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    seconds = retry_after_seconds(default=900)
    minutes = ceil(seconds / 60)
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    headers = {"Retry-After": str(seconds)}
    if request.endpoint == "dashboard.change_password":
        return _account_page(lockout=f"Too many wrong passwords. {wait}"), 429, headers
    if request.endpoint == "dashboard.forgot_password":
        page = render_template(
            "dashboard/forgot_password.html",
            form=None,
            sent=None,
            lockout=f"Too many attempts. {wait}",
        )
        return page, 429, headers
    if request.endpoint == "dashboard.reset_password":
        page = render_template(
            "dashboard/password_reset.html", form=None, error=f"Too many attempts. {wait}"
        )
        return page, 429, headers
    page = render_template(
        "dashboard/login.html",
        form=LoginForm(),
        lockout=f"Too many sign-in attempts. {wait}",
        providers=[],
    )
    return page, 429, headers


def _email_key() -> str:
    return "login-email:" + (request.form.get("email") or "").strip().lower()


def _give_back_sign_in_attempt() -> None:
    """Only failed sign-ins lead to a lockout, yet every attempt is counted before its
    password is checked: counting afterwards (Flask-Limiter's `deduct_when`) let parallel
    guesses all pass the check before any was counted. One that worked gives its count back
    (a negative hit: Flask-Limiter's fixed-window strategy, the one configured, allows it)."""
    for counted in limiter.current_limits:
        counted.limiter.hit(counted.limit, *counted.request_args, cost=-1)


# Each attempt is counted atomically in the limiter's storage (Redis when REDIS_URL is set)
# before the view runs; over the limit, even the right password is refused.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_email_key
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        if request.method == "POST":
            _give_back_sign_in_attempt()
        return redirect(url_for("dashboard.queue"))
    form = LoginForm()
    if form.validate_on_submit():
        moderator = moderators.authenticate(form.email.data, form.password.data)
        if moderator is not None:
            _give_back_sign_in_attempt()
            login_user(moderator)
            return redirect(_safe_next(request.args.get("next")) or url_for("dashboard.queue"))
        flash("That email and password do not match.", "error")
    return render_template(
        "dashboard/login.html",
        form=form,
        lockout=None,
        providers=social_providers(),
        mastodon_form=_mastodon_form(),
    )


@bp.post("/login/<provider>")
def login_with(provider: str) -> ResponseReturnValue:
    """Sign in with a provider account linked beforehand (never the Dev provider)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    spec = _social_provider(provider)
    try:
        return _leave_for(
            spec, redirect_to_provider(spec, {"kind": "moderator", "action": "login"})
        )
    except AuthorizationFailed as err:
        flash(err.message, "error")
        return redirect(url_for("dashboard.login"))


# Naming a server makes us send it requests (registering there) before the moderator goes
# anywhere: limited like the widget's sign-ins.
@bp.post("/login/mastodon")
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], scope="dashboard-mastodon")
def login_with_mastodon() -> ResponseReturnValue:
    """Sign in with a Mastodon account linked beforehand, on the server the moderator names."""
    form = _mastodon_form()
    if form is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    try:
        started = redirect_moderator(form.server.data, {"kind": "moderator", "action": "login"})
        return _leave_for(MASTODON_PROVIDER, started)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("dashboard.login"))


@bp.post("/link/mastodon")
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], scope="dashboard-mastodon")
def link_mastodon() -> ResponseReturnValue:
    form = _mastodon_form()
    if form is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    purpose = {"kind": "moderator", "action": "link", "moderator": current_user.id}
    try:
        return _leave_for(MASTODON_PROVIDER, redirect_moderator(form.server.data, purpose))
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("dashboard.account"))


@bp.post("/link/<provider>")
@login_required
def link_account(provider: str) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    purpose = {"kind": "moderator", "action": "link", "moderator": current_user.id}
    spec = _social_provider(provider)
    try:
        return _leave_for(spec, redirect_to_provider(spec, purpose))
    except AuthorizationFailed as err:
        flash(err.message, "error")
        return redirect(url_for("dashboard.account"))


@bp.post("/linked/<int:link_id>/remove")
@login_required
def unlink_account(link_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    moderators.unlink_identity(current_user, link_id)
    flash("Unlinked.", "ok")
    return redirect(url_for("dashboard.account"))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        moderators.end_sessions(current_user)  # also where the cookie was copied to
        logout_user()
    return redirect(url_for("dashboard.login"))


@bp.get("/")
@login_required
def queue() -> str:
    status = request.args.get("status", "pending")
    site_id = request.args.get("site") or None
    thread_id = request.args.get("thread", type=int)
    text = request.args.get("q", "")
    page = request.args.get("page", 1, type=int)
    result = moderation.queue(
        current_user, status=status, site_id=site_id, thread_id=thread_id, text=text, page=page
    )
    return render_template(
        "dashboard/queue.html",
        page=result,
        form=ActionForm(),
        sites=moderation.sites_of(current_user),
        statuses=STATUSES,
        counts=moderation.queue_counts(current_user, site_id),
        pin_form=PinForm(),
        reasons=REPORT_REASONS,
        history_of=moderation.history_of,
        author_label=moderation.author_label,
    )


@bp.post("/comments/act")
@login_required
def act() -> ResponseReturnValue:
    """Approve, reject, mark spam or delete one or many comments (a POST with CSRF, always)."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action") or form.action.data
    # A row's own buttons name their comment in the URL; the bulk buttons use the ticks.
    one = request.args.get("one", type=int)
    # What one comment was before, for its Undo.
    before = moderation.moderated_comment(current_user, one)[0].status if one else None
    comments = moderation.act(current_user, [one] if one else form.ids.data or [], action)
    if wants_json():
        return jsonify(
            comments=[{"id": c.id, "status": c.status.value} for c in comments],
            pending=moderation.pending_count(current_user),
        )
    done = {"approve": "approved", "reject": "rejected", "spam": "marked as spam"}
    flash(f"{len(comments)} comment(s) {done.get(action, 'deleted')}.", "ok")
    if before is not None and comments[0].status is not before:
        session["undo"] = {"id": comments[0].id, "status": before.value}
    return redirect(_safe_next(form.next.data) or url_for("dashboard.queue"))


@bp.post("/comments/<int:comment_id>/pin")
@login_required
def pin(comment_id: int) -> ResponseReturnValue:
    """Pin a published top-level comment first in its thread (one per thread), or unpin it."""
    form = PinForm()
    if not form.validate_on_submit():
        abort(400)
    comment = moderation.pin(current_user, comment_id, form.pinned.data == "1")
    flash("Pinned first in its thread." if comment.pinned else "Unpinned.", "ok")
    return redirect(_safe_next(form.next.data) or url_for("dashboard.queue"))


@bp.post("/comments/<int:comment_id>/undo")
@login_required
def undo(comment_id: int) -> ResponseReturnValue:
    """Put a comment back to the status it had before a button moved it."""
    form = UndoForm()
    if not form.validate_on_submit():
        abort(400)
    comment = moderation.undo(current_user, comment_id, CommentStatus(form.status.data))
    if wants_json():
        return jsonify(
            id=comment.id,
            status=comment.status.value,
            pending=moderation.pending_count(current_user),
        )
    flash(f"Undone: the comment is {comment.status.value} again.", "ok")
    return redirect(_safe_next(form.next.data) or url_for("dashboard.queue"))


@bp.app_template_global()
def undo_offer() -> dict[str, Any] | None:
    """The comment the last button moved, once, for the page after it (without the script)."""
    offer = session.pop("undo", None)
    if not isinstance(offer, dict):
        return None
    return {"form": UndoForm(formdata=None), **offer}


@bp.get("/comments/<int:comment_id>")
@login_required
def comment_detail(comment_id: int) -> str:
    comment = moderation.comment_for_review(current_user, comment_id)
    return render_template(
        "dashboard/comment.html",
        comment=comment,
        history=moderation.history_for(comment),
        log=moderation.audit_for_comment(current_user, comment_id),
        author_label=moderation.author_label,
        action_form=ActionForm(),
        edit_form=CommentTextForm(body=comment.body),
        reply_form=CommentTextForm(formdata=None),
        ban_form=BanForm(),
        erase_form=EraseAuthorForm(),
    )


@bp.post("/comments/<int:comment_id>/edit")
@login_required
def edit_comment(comment_id: int) -> ResponseReturnValue:
    form = CommentTextForm()
    if not form.validate_on_submit():
        flash("The text is empty or too long.", "error")
    else:
        moderation.edit_text(current_user, comment_id, form.body.data)
        flash("Comment updated.", "ok")
    return redirect(url_for("dashboard.comment_detail", comment_id=comment_id))


@bp.post("/comments/<int:comment_id>/reply")
@login_required
def reply(comment_id: int) -> ResponseReturnValue:
    form = CommentTextForm()
    if not form.validate_on_submit():
        flash("The reply is empty or too long.", "error")
    else:
        moderation.reply_as_site(current_user, comment_id, form.body.data)
        flash("Reply published.", "ok")
    return redirect(url_for("dashboard.comment_detail", comment_id=comment_id))


@bp.post("/comments/<int:comment_id>/ban")
@login_required
def ban(comment_id: int) -> ResponseReturnValue:
    form = BanForm()
    if not form.validate_on_submit():
        flash("Check the ban's length.", "error")
        return redirect(url_for("dashboard.comment_detail", comment_id=comment_id))
    created = moderation.ban_author(
        current_user,
        comment_id,
        by_email=form.by_email.data,
        by_address=form.by_address.data,
        days=form.days.data,
        reason=form.reason.data or "",
    )
    flash(f"{created.label} is banned from this site.", "ok")
    return redirect(url_for("dashboard.bans", site_id=created.site_id))


@bp.post("/comments/<int:comment_id>/erase-author")
@login_required
def erase_author(comment_id: int) -> ResponseReturnValue:
    """Erase the comment's author's data on the moderator's sites (a person's request
    that reached the site owner rather than the widget)."""
    form = EraseAuthorForm()
    if not form.validate_on_submit():
        flash("Tick the box to confirm; nothing was erased.", "error")
    else:
        removed = privacy.erase_author(current_user, comment_id)
        flash(f"Erased the author's data: {removed} comment(s).", "ok")
    return redirect(url_for("dashboard.comment_detail", comment_id=comment_id))


@bp.get("/sites/<site_id>/bans")
@login_required
def bans(site_id: str) -> str:
    return render_template(
        "dashboard/bans.html",
        site=_site(site_id),
        bans=moderation.active_bans(current_user, site_id),
        form=EmptyForm(),
    )


@bp.post("/bans/<int:ban_id>/lift")
@login_required
def lift_ban(ban_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    site_id = moderation.lift_ban(current_user, ban_id)
    flash("Ban lifted.", "ok")
    return redirect(url_for("dashboard.bans", site_id=site_id))


@bp.route("/sites/<site_id>", methods=["GET", "POST"])
@login_required
def site_settings(site_id: str) -> ResponseReturnValue:
    site = _site(site_id)
    form = SiteSettingsForm(
        name=site.name,
        origins="\n".join(site.origins),
        moderation=site.moderation.value,
        close_after_days=site.close_after_days,
        report_threshold=site.report_threshold,
        providers=site.providers
        if site.providers is not None
        else [p.name for p in enabled_providers(current_app.config)],
    )
    form.providers.choices = [
        SelectChoice(p.name, p.label) for p in enabled_providers(current_app.config)
    ]
    if form.validate_on_submit():
        sites.update_settings(
            current_user,
            site.id,
            origins=form.origins.data.split(),
            moderation=ModerationMode(form.moderation.data),
            close_after_days=form.close_after_days.data,
            report_threshold=form.report_threshold.data,
            providers=form.providers.data,
            name=form.name.data or None,
        )
        flash("Settings saved.", "ok")
        return redirect(url_for("dashboard.site_settings", site_id=site.id))
    return render_template(
        "dashboard/site.html",
        site=site,
        form=form,
        snippet=sites.embed_snippet(site.id),
        refused=sites.refused_origins(current_user, site.id),
        button=EmptyForm(),
    )


@bp.get("/sites")
@login_required
def site_list() -> str:
    return _sites_page(NewSiteForm(formdata=None))


@bp.post("/sites")
@login_required
def add_site() -> ResponseReturnValue:
    """A new site, which the moderator who adds it moderates."""
    form = NewSiteForm()
    if form.validate_on_submit():
        try:
            site = sites.add_site(
                current_user,
                name=form.name.data,
                origins=form.origins.data.split(),
                moderation=ModerationMode(form.moderation.data),
            )
        except ValidationError as err:
            getattr(form, err.field or "name", form.name).errors.append(err.message)
        else:
            flash(f"{site.name} is added. Paste its snippet where the comments go.", "ok")
            return redirect(url_for("dashboard.site_settings", site_id=site.id))
    return _sites_page(form), 422


def _sites_page(form: NewSiteForm) -> str:
    mine = moderation.sites_of(current_user)
    return render_template(
        "dashboard/sites.html",
        sites=[(site, sites.embed_snippet(site.id)) for site in mine],
        form=form,
    )


@bp.post("/sites/<site_id>/origins")
@login_required
def add_origin(site_id: str) -> ResponseReturnValue:
    """Allow an origin the site refused (the button beside it in the site's settings)."""
    site = _site(site_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    origin = request.form.get("origin", "")
    sites.add_origin(current_user, site.id, origin)
    flash(f"Comments now show on pages of {origin}.", "ok")
    return redirect(url_for("dashboard.site_settings", site_id=site.id))


@bp.get("/sites/<site_id>/export")
@login_required
def export_site(site_id: str) -> Response:
    """The site's threads and comments as Afterword JSON, the same as `flask export`."""
    site = _site(site_id)
    out = io.StringIO()
    transfer.export_site(site, out)
    filename = f"afterword-{site.id}-{utcnow():%Y%m%d}.json"
    return Response(
        out.getvalue(),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/sites/<site_id>/audit")
@login_required
def site_audit(site_id: str) -> str:
    return render_template(
        "dashboard/audit.html",
        site=_site(site_id),
        entries=moderation.audit_for_site(current_user, site_id),
    )


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    form = NotifyForm(notify=current_user.notify)
    if form.validate_on_submit():
        moderators.set_notify(current_user, form.notify.data)
        flash("Saved.", "ok")
        return redirect(url_for("dashboard.account"))
    return _account_page(form=form)


def _password_key() -> str:
    return f"password-change:{current_user.id}"


@bp.post("/account/password")
@login_required
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_password_key, scope="password"
)
def change_password() -> ResponseReturnValue:
    """Counted like sign-ins, so that a stolen session cannot guess the current password."""
    form = PasswordForm()
    if form.validate_on_submit():
        moderator = current_user._get_current_object()
        try:
            moderators.change_password(
                moderator, form.current_password.data, form.new_password.data
            )
        except ValidationError as err:
            getattr(form, err.field or "new_password").errors.append(err.message)
        else:
            _give_back_sign_in_attempt()
            login_user(moderator)  # this session only: it names the new session version
            flash("Password changed. You are signed out everywhere else.", "ok")
            return redirect(url_for("dashboard.account"))
    return _account_page(password_form=form)


def _account_page(
    *,
    form: NotifyForm | None = None,
    password_form: PasswordForm | None = None,
    lockout: str | None = None,
) -> str:
    return render_template(
        "dashboard/account.html",
        form=form if form is not None else NotifyForm(formdata=None, notify=current_user.notify),
        password_form=password_form if password_form is not None else PasswordForm(formdata=None),
        lockout=lockout,
        linked=moderators.linked_identities(current_user),
        labels={
            spec.name: spec.label
            for spec in [*all_providers(current_app.config), MASTODON_PROVIDER]
        },
        providers=social_providers(),
        mastodon_form=_mastodon_form(),
        button=EmptyForm(),
    )


def _reset_key() -> str:
    return "password-reset:" + (request.form.get("email") or "").strip().lower()


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], scope="password-reset"
)
def forgot_password() -> ResponseReturnValue:
    """Ask for a mailed link. The answer is the same whether or not the address has an
    account, and so is what is counted against the address (`mail.recipient_allows`)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        moderators.request_password_reset(form.email.data)
        return render_template("dashboard/forgot_password.html", form=None, sent=RESET_SENT)
    return render_template("dashboard/forgot_password.html", form=form, sent=None)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], scope="password-set"
)
def reset_password(token: str) -> ResponseReturnValue:
    """The mailed link: opening it changes nothing (mail scanners follow links); the form
    sets the new password, once, and signs the moderator in."""
    form = ResetPasswordForm()
    try:
        moderator = moderators.reset_link_moderator(token)
        if form.validate_on_submit():
            try:
                moderator = moderators.reset_password(token, form.new_password.data)
            except ValidationError as err:
                form.new_password.errors.append(err.message)
            else:
                logout_user()  # whoever was signed in in this browser before
                login_user(moderator)
                flash("Your new password is set. You are signed out everywhere else.", "ok")
                return redirect(url_for("dashboard.queue"))
    except DomainError as err:
        page = render_template("dashboard/password_reset.html", form=None, error=err.message)
        return page, err.status
    return render_template(
        "dashboard/password_reset.html", form=form, error=None, email=moderator.email
    )


@bp.route("/mail/<token>", methods=["GET", "POST"])
def mail_action(token: str) -> ResponseReturnValue:
    """A link from a notification mail. Opening it changes nothing; the button does.

    Mail scanners fetch every link they see, so the GET only shows the comment and a
    confirming button (a POST with CSRF). Each link works once and expires.
    """
    form = EmptyForm()
    link: mail_actions.MailLink | None = None
    try:
        link = mail_actions.read(token)
        if request.method == "POST" and form.validate_on_submit():
            comment = mail_actions.use(link)
            return render_template("dashboard/mail_action.html", link=link, comment=comment)
        comment = mail_actions.comment_of(link)
    except DomainError as err:
        used = mail_actions.used_at(link) if link is not None else None
        page = render_template(
            "dashboard/mail_action.html", error=err.message, done=_mail_done(link, used)
        )
        return page, err.status
    used = mail_actions.used_at(link)
    if used is not None:  # done before: say so, rather than offer the button again
        return render_template(
            "dashboard/mail_action.html", link=link, comment=comment, done=_mail_done(link, used)
        )
    return render_template(
        "dashboard/mail_action.html",
        link=link,
        comment=comment,
        # Nothing to confirm when the comment is there already (moved in the dashboard).
        form=form if comment.status is not moderation.ACTIONS.get(link.action) else None,
    )


def _mail_done(link: mail_actions.MailLink | None, used: Any) -> str | None:
    if link is None or used is None:
        return None
    status = moderation.ACTIONS.get(link.action)
    if status is None:
        return None
    done = DONE[status].rstrip(".").lower()
    return f"This comment was {done} on {when(used)}."


def social_providers() -> list[ProviderSpec]:
    """Providers a moderator may sign in with: the real ones, never Dev (anyone can be Dev)."""
    return [spec for spec in enabled_providers(current_app.config) if spec.fetch_profile]


def _leave_for(spec: ProviderSpec, started: ResponseReturnValue) -> ResponseReturnValue:
    """The provider's consent page, reached from a page of ours rather than by a redirect.

    Browsers check every redirect after a form's POST against the form page's CSP
    form-action ('self' here) and stop at the provider's address; a page that moves on by
    itself is a navigation of its own, which form-action does not govern.
    """
    if not isinstance(started, Response) or started.location is None:
        return started
    return render_template("dashboard/leaving.html", url=started.location, label=spec.label)


def _mastodon_form() -> MastodonServerForm | None:
    """The form naming a Mastodon server, where MASTODON_LOGIN offers Mastodon at all."""
    if not current_app.config.get("MASTODON_LOGIN"):
        return None
    return MastodonServerForm()


def _social_provider(name: str) -> ProviderSpec:
    for spec in social_providers():
        if spec.name == name:
            return spec
    abort(404)


def _site(site_id: str) -> Site:
    site = db.session.get(Site, site_id)
    if site is None or not moderation.can_moderate(current_user, site_id):
        abort(404)  # the same for someone else's site: its existence is not confirmed
    return site


def _safe_next(target: str | None) -> str | None:
    """Only a path on this dashboard: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/dashboard/"):
        return None
    return target


@bp.app_template_global()
def pending_total() -> int:
    if not current_user.is_authenticated:
        return 0
    if "pending_total" not in g:
        g.pending_total = moderation.pending_count(current_user)
    return g.pending_total


@bp.app_template_filter("when")
def when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
