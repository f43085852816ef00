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
    InviteForm,
    LearningFilterForm,
    LoginForm,
    MastodonServerForm,
    NewSiteForm,
    NotifyForm,
    PasswordForm,
    PinForm,
    ResetPasswordForm,
    RoleForm,
    SiteSettingsForm,
    UndoForm,
    WebhookForm,
    WordListsForm,
)
from app.domain import holds, words
from app.domain.errors import DomainError, ValidationError
from app.domain.learning import MIN_EACH, ready
from app.domain.reports import REASONS as REPORT_REASONS
from app.domain.roles import Role, SiteAction
from app.domain.states import CommentStatus, ModerationMode
from app.errors import error_page, http_error_page, retry_after_seconds, wants_json
from app.extensions import db, limiter, login_manager
from app.models import Comment, Moderator, Site
from app.models.types import utcnow
from app.services import (
    learning,
    mail_actions,
    moderation,
    moderators,
    privacy,
    site_moderators,
    sites,
    sso,
    transfer,
    webhooks,
)

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
    counts = moderation.queue_counts(current_user, site_id)
    if site_id is None:
        g.pending_total = counts[CommentStatus.PENDING.value]  # the badge: one count, not two
    return render_template(
        "dashboard/queue.html",
        page=result,
        form=ActionForm(),
        sites=moderation.sites_of(current_user),
        statuses=STATUSES,
        counts=counts,
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
        shadow=form.shadow.data,
    )
    how = "shadow-banned on" if created.shadow else "banned from"
    flash(f"{created.label} is {how} this site.", "ok")
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
    site = _owned_site(site_id, SiteAction.SETTINGS)
    form = _settings_form(site)
    if form.validate_on_submit():
        sites.update_settings(
            current_user,
            site.id,
            origins=form.origins.data.split(),
            moderation=ModerationMode(form.moderation.data),
            close_after_days=form.close_after_days.data,
            report_threshold=form.report_threshold.data,
            trust_after=sites.UNCHANGED if form.trust_after.data is None else form.trust_after.data,
            providers=form.providers.data,
            name=form.name.data or None,
        )
        flash("Settings saved.", "ok")
        return redirect(url_for("dashboard.site_settings", site_id=site.id))
    return _site_page(site, form=form)


@bp.post("/sites/<site_id>/words")
@login_required
def word_lists(site_id: str) -> ResponseReturnValue:
    site = _owned_site(site_id, SiteAction.SETTINGS)
    form = WordListsForm()
    if not form.validate_on_submit():
        return _site_page(site, words_form=form), 400
    sites.update_word_lists(
        current_user, site.id, banned=form.banned_words.data, held=form.held_words.data
    )
    flash("Word lists saved. They apply to comments written from now on.", "ok")
    return redirect(url_for("dashboard.site_settings", site_id=site.id, _anchor="words"))


@bp.post("/sites/<site_id>/filter")
@login_required
def learning_filter(site_id: str) -> ResponseReturnValue:
    site = _owned_site(site_id, SiteAction.SETTINGS)
    form = LearningFilterForm()
    if not form.validate_on_submit():
        return _site_page(site), 400
    sites.set_filter_mode(current_user, site.id, form.filter_mode.data)
    flash("Spam filter saved.", "ok")
    return redirect(url_for("dashboard.site_settings", site_id=site.id, _anchor="filter"))


def _site_page(
    site: Site,
    *,
    form: SiteSettingsForm | None = None,
    words_form: WordListsForm | None = None,
    webhook_form: WebhookForm | None = None,
    webhook_answer: webhooks.Outcome | None = None,
) -> str:
    if form is None:
        # Not bound to this request's form: it may be another section's.
        form = _settings_form(site, formdata=None)
    seen, needs = learning.decisions_seen(site.id), current_app.config["FILTER_MIN_DECISIONS"]
    hook = webhooks.webhook_of(current_user, site.id)
    return render_template(
        "dashboard/site.html",
        site=site,
        form=form,
        words_form=words_form
        or WordListsForm(
            formdata=None,
            banned_words=words.as_text(site.banned_words),
            held_words=words.as_text(site.held_words),
        ),
        filter_form=LearningFilterForm(filter_mode=site.filter_mode),
        filter_seen=seen,
        filter_needs=needs,
        filter_ready=ready(seen, needs),
        filter_each=MIN_EACH,
        webhook=hook,
        webhook_form=webhook_form
        or WebhookForm(
            formdata=None,
            webhook_url=hook.url if hook else "",
            webhook_format=hook.format if hook else "json",
        ),
        webhook_answer=webhook_answer,
        snippet=sites.embed_snippet(site.id),
        refused=sites.refused_origins(current_user, site.id),
        button=EmptyForm(),
        **_moderators_section(site),
    )


def _settings_form(site: Site, **kwargs: Any) -> SiteSettingsForm:
    form = SiteSettingsForm(
        **kwargs,
        name=site.name,
        origins="\n".join(site.origins),
        moderation=site.moderation.value,
        close_after_days=site.close_after_days,
        report_threshold=site.report_threshold,
        trust_after=site.trust_after,
        providers=site.providers
        if site.providers is not None
        else [p.name for p in enabled_providers(current_app.config)],
    )
    form.providers.choices = [
        SelectChoice(p.name, p.label) for p in enabled_providers(current_app.config)
    ]
    return form


@bp.post("/sites/<site_id>/webhook")
@login_required
def save_webhook(site_id: str) -> ResponseReturnValue:
    """Set, change or (with an empty URL) remove the site's Webhook URL."""
    site = _owned_site(site_id, SiteAction.SETTINGS)
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            hook = webhooks.save(
                current_user, site.id, form.webhook_url.data or "", form.webhook_format.data
            )
        except ValidationError as err:
            field = getattr(form, err.field or "", form.webhook_url)
            field.errors = [*field.errors, err.message]
        else:
            flash("Webhook saved." if hook else "Webhook removed.", "ok")
            return redirect(url_for("dashboard.site_settings", site_id=site.id) + "#webhook")
    return _site_page(site, webhook_form=form), 422


@bp.post("/sites/<site_id>/webhook/test")
@login_required
def test_webhook(site_id: str) -> ResponseReturnValue:
    """POST a `test` event now and show what the receiver answered."""
    site = _owned_site(site_id, SiteAction.SETTINGS)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        answer = webhooks.send_test(current_user, site.id)
    except ValidationError as err:
        flash(err.message, "error")
        return redirect(url_for("dashboard.site_settings", site_id=site.id) + "#webhook")
    return _site_page(site, webhook_answer=answer)


@bp.post("/sites/<site_id>/webhook/secret")
@login_required
def regenerate_webhook_secret(site_id: str) -> ResponseReturnValue:
    site = _owned_site(site_id, SiteAction.SETTINGS)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        webhooks.regenerate_secret(current_user, site.id)
    except ValidationError as err:
        flash(err.message, "error")
    else:
        flash("A new signing secret is made; give it to the receiver.", "ok")
    return redirect(url_for("dashboard.site_settings", site_id=site.id) + "#webhook")


@bp.get("/sites")
@login_required
def site_list() -> str:
    return _sites_page(NewSiteForm(formdata=None))


@bp.post("/sites")
@login_required
def add_site() -> ResponseReturnValue:
    """A new site, which the owner who adds it owns; only owners add sites."""
    if not moderation.can_add_sites(current_user):
        abort(403)
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
        form=form if moderation.can_add_sites(current_user) else None,
    )


@bp.post("/sites/<site_id>/origins")
@login_required
def add_origin(site_id: str) -> ResponseReturnValue:
    """Allow an origin the site refused (the button beside it in the site's settings)."""
    site = _owned_site(site_id, SiteAction.SETTINGS)
    if not EmptyForm().validate_on_submit():
        abort(400)
    origin = request.form.get("origin", "")
    sites.add_origin(current_user, site.id, origin)
    flash(f"Comments now show on pages of {origin}.", "ok")
    return redirect(url_for("dashboard.site_settings", site_id=site.id))


# Single sign-on: each a button of its own, acting at once (app/services/sso.py).
SSO_ACTIONS = {
    "on": (sso.turn_on, "Single sign-on is on. Give the secret to your site's code."),
    "regenerate": (
        sso.regenerate,
        "A new secret is made. Pages signed with the old one no longer sign anyone in.",
    ),
    "off": (sso.turn_off, "Single sign-on is off. Readers signed in by your site are signed out."),
}


@bp.post("/sites/<site_id>/sso/<action>")
@login_required
def site_sso(site_id: str, action: str) -> ResponseReturnValue:
    """Turn single sign-on on, regenerate its secret, or turn it off."""
    site = _owned_site(site_id, SiteAction.SETTINGS)
    if action not in SSO_ACTIONS:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    change, said = SSO_ACTIONS[action]
    change(current_user, site.id)
    flash(said, "ok")
    return redirect(url_for("dashboard.site_settings", site_id=site.id, _anchor="sso"))


@bp.get("/sites/<site_id>/export")
@login_required
def export_site(site_id: str) -> Response:
    """The site's threads and comments as Afterword JSON, the same as `flask export`."""
    site = _owned_site(site_id, SiteAction.EXPORT)
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
        site=_owned_site(site_id, SiteAction.AUDIT),
        entries=moderation.audit_for_site(current_user, site_id),
    )


def _moderators_section(site: Site) -> dict[str, Any]:
    """What dashboard/_moderators.html shows on the site's page."""
    return {
        "site_moderators": site_moderators.site_moderators(current_user, site.id),
        "invites": site_moderators.open_invites(current_user, site.id),
        "invite_form": InviteForm(formdata=None),
        "roles": [role.value for role in Role],
    }


def _back_to_site(site: Site) -> ResponseReturnValue:
    return redirect(url_for("dashboard.site_settings", site_id=site.id) + "#moderators")


def _moderator_key() -> str:
    return f"moderator-invite:{current_user.id}"


@bp.post("/sites/<site_id>/moderators/invite")
@login_required
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN"], key_func=_moderator_key, scope="invite"
)
def invite_moderator(site_id: str) -> ResponseReturnValue:
    site = _owned_site(site_id, SiteAction.MODERATORS)
    form = InviteForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash("Give an email address and a role.", "error")
        return _back_to_site(site)
    try:
        site_moderators.invite(current_user, site.id, form.email.data, Role(form.role.data))
    except ValidationError as err:
        flash(err.message, "error")
    else:
        flash(f"Invitation sent to {form.email.data}.", "ok")
    return _back_to_site(site)


@bp.post("/sites/<site_id>/invites/<int:invite_id>/cancel")
@login_required
def cancel_invite(site_id: str, invite_id: int) -> ResponseReturnValue:
    site = _owned_site(site_id, SiteAction.MODERATORS)
    if not EmptyForm().validate_on_submit():
        abort(400)
    site_moderators.cancel_invite(current_user, site.id, invite_id)
    flash("Invitation cancelled.", "ok")
    return _back_to_site(site)


@bp.post("/sites/<site_id>/moderators/<int:moderator_id>/role")
@login_required
def change_role(site_id: str, moderator_id: int) -> ResponseReturnValue:
    site = _owned_site(site_id, SiteAction.MODERATORS)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = site_moderators.set_role(
            current_user, site.id, moderator_id, Role(form.role.data)
        )
    except ValidationError as err:
        flash(err.message, "error")
    else:
        flash(f"{changed.email} is {form.role.data} of {site.name}.", "ok")
    return _back_to_site(site)


@bp.post("/sites/<site_id>/moderators/<int:moderator_id>/remove")
@login_required
def remove_moderator(site_id: str, moderator_id: int) -> ResponseReturnValue:
    site = _owned_site(site_id, SiteAction.MODERATORS)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        removed = site_moderators.remove(current_user, site.id, moderator_id)
    except ValidationError as err:
        flash(err.message, "error")
        return _back_to_site(site)
    flash(f"{removed.email} no longer moderates {site.name}.", "ok")
    if removed.id == current_user.id:  # they removed themselves: their session ended too
        logout_user()
        return redirect(url_for("dashboard.login"))
    return _back_to_site(site)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], scope="invite-accept"
)
def accept_invite(token: str) -> ResponseReturnValue:
    """The mailed invitation: opening it changes nothing (mail scanners follow links); the
    form accepts it, once. A new address sets a password; one with an account signs in
    first, then accepts."""
    try:
        invitation = site_moderators.read_invite(token)
        if invitation.moderator is None:
            return _accept_with_password(token, invitation)
        return _accept_signed_in(token, invitation)
    except DomainError as err:
        page = render_template("dashboard/invite.html", error=err.message)
        return page, err.status


def _accept_with_password(
    token: str, invitation: site_moderators.Invitation
) -> ResponseReturnValue:
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            moderator = site_moderators.accept_with_password(token, form.new_password.data)
        except ValidationError as err:
            form.new_password.errors.append(err.message)
        else:
            logout_user()  # whoever was signed in in this browser before
            login_user(moderator)
            flash(f"Welcome: you moderate {invitation.site.name}.", "ok")
            return redirect(url_for("dashboard.queue", site=invitation.site.id))
    return render_template("dashboard/invite.html", invitation=invitation, form=form)


def _accept_signed_in(token: str, invitation: site_moderators.Invitation) -> ResponseReturnValue:
    assert invitation.moderator is not None
    is_invitee = current_user.is_authenticated and current_user.id == invitation.moderator.id
    form = EmptyForm()
    if is_invitee and form.validate_on_submit():
        site_moderators.accept_as(token, current_user)
        flash(f"You moderate {invitation.site.name} now.", "ok")
        return redirect(url_for("dashboard.queue", site=invitation.site.id))
    return render_template(
        "dashboard/invite.html",
        invitation=invitation,
        button=form if is_invitee else None,
        sign_in=url_for("dashboard.login", next=request.path),
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


def _owned_site(site_id: str, action: SiteAction) -> Site:
    """The site, for an owner's `action`: 404 where the moderator has no role (as `_site`),
    403 where they only work the queue."""
    site = _site(site_id)
    if not moderation.may(current_user, site_id, action):
        abort(403, "Only an owner of this site can do that.")
    return site


@bp.app_template_global()
def owns(site_id: str) -> bool:
    """Whether the signed-in moderator owns the site: pages show owners' links only to them.
    Their roles are read once per request, however many sites a page lists."""
    if not current_user.is_authenticated:
        return False
    if "roles" not in g:
        g.roles = moderation.roles_of(current_user)
    return g.roles is None or g.roles.get(site_id) is Role.OWNER


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


@bp.app_template_filter("count_label")
def count_label(count: int) -> str:
    return moderation.count_label(count)


@bp.app_template_filter("history_label")
def history_label(count: int) -> str:
    return moderation.history_label(count)


@bp.app_template_filter("held_because")
def held_because(comment: Comment) -> list[str]:
    """Why a comment was held or caught, as stored when it was (domain.holds)."""
    return [hold.describe() for hold in holds.from_json(comment.holds)]


@bp.app_template_filter("when")
def when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
