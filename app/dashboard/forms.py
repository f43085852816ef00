"""Dashboard forms. Every state-changing one is a FlaskForm, so it carries a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

from app.domain import errors, words
from app.domain.policy import BODY_MAX
from app.domain.roles import Role
from app.domain.states import CommentStatus, ModerationMode
from app.domain.webhooks import FORMATS, URL_MAX


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email", filters=[_stripped], validators=[DataRequired(), Email(), Length(max=254)]
    )


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="The two do not match.")],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=200)]
    )
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="The two do not match.")],
    )


class ActionForm(FlaskForm):
    """One form for one comment or many: the button pressed names the action."""

    ids = SelectMultipleField(coerce=int, validate_choice=False)
    action = HiddenField()
    next = HiddenField()


class UndoForm(FlaskForm):
    """Puts one comment back to the status it had before a button was pressed."""

    status = SelectField(choices=[s.value for s in CommentStatus], validators=[DataRequired()])
    next = HiddenField()


class CommentTextForm(FlaskForm):
    body = TextAreaField("Text", validators=[DataRequired(), Length(max=BODY_MAX)])


class BanForm(FlaskForm):
    by_email = BooleanField("By email", default=True)
    by_address = BooleanField("By address")
    days = IntegerField(
        "Days (empty: no end)", validators=[Optional(), NumberRange(min=1, max=3650)]
    )
    reason = StringField("Reason", validators=[Length(max=300)])
    shadow = BooleanField("Shadow ban: they keep seeing their comments; nobody else does")


class EraseAuthorForm(FlaskForm):
    """Erasing cannot be undone, so the button needs a ticked box too."""

    confirm = BooleanField(
        "I understand that this author's comments and details are removed for good",
        validators=[DataRequired()],
    )


class PinForm(FlaskForm):
    """Pin a comment first in its thread, or unpin it."""

    pinned = SelectField(choices=["1", "0"], validators=[DataRequired()])
    next = HiddenField()


class MastodonServerForm(FlaskForm):
    """The server a moderator signs in with; read (and refused) as readers' are, by
    app/domain/mastodon_servers.py, so that both say the same about the same typing."""

    server = StringField("Your Mastodon server")


class EmptyForm(FlaskForm):
    """A button that only needs a CSRF token (sign out, lift a ban, confirm a mail link)."""


MODERATION_CHOICES = [
    SelectChoice(ModerationMode.ALL.value, "Every comment waits for approval"),
    SelectChoice(
        ModerationMode.FIRST_TIME.value,
        "Signed-in readers with enough approved comments skip the queue",
    ),
    SelectChoice(ModerationMode.NONE.value, "Publish at once"),
]


class NewSiteForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    origins = TextAreaField("Allowed origins (one per line)", validators=[DataRequired()])
    moderation = RadioField(
        "Moderation", choices=MODERATION_CHOICES, default=ModerationMode.ALL.value
    )


class SiteSettingsForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=100)])  # empty: unchanged
    origins = TextAreaField("Allowed origins (one per line)", validators=[DataRequired()])
    moderation = RadioField("Moderation", choices=MODERATION_CHOICES)
    close_after_days = IntegerField(
        "Close threads after (days; empty: never)",
        validators=[Optional(), NumberRange(min=1, max=36500)],
    )
    trust_after = IntegerField(
        "Approved comments before a signed-in reader skips the queue",
        validators=[Optional(), NumberRange(min=1, max=100)],  # empty: unchanged
    )
    providers = SelectMultipleField("Sign-in providers offered", validate_choice=True)
    report_threshold = IntegerField(
        "Hide a published comment for review after this many reports (empty: never)",
        validators=[Optional(), NumberRange(min=1, max=1000)],
    )


def _word_list(form: FlaskForm, field: Field) -> None:
    """The list's own limits, said beside the field, with what the owner typed kept."""
    try:
        words.parse_list(field.data or "", label=str(field.label.text), field=field.name)
    except errors.ValidationError as err:
        raise ValidationError(err.message) from err


class WordListsForm(FlaskForm):
    banned_words = TextAreaField(
        "Banned words",
        description="One per line. A comment containing one is refused as spam.",
        validators=[Length(max=words.WORD_MAX * words.WORDS_MAX), _word_list],
    )
    held_words = TextAreaField(
        "Held words",
        description="One per line. A comment containing one waits for a moderator.",
        validators=[Length(max=words.WORD_MAX * words.WORDS_MAX), _word_list],
    )


class LearningFilterForm(FlaskForm):
    filter_mode = RadioField(
        "Learning spam filter",
        choices=[
            SelectChoice("off", "Off"),
            SelectChoice("hold", "Hold comments it finds like rejected ones"),
            SelectChoice("catch", "Hold them, and send the surest to spam"),
        ],
    )


class NotifyForm(FlaskForm):
    notify = SelectField(
        "Email me",
        choices=[
            SelectChoice("each", "for every comment that waits"),
            SelectChoice("digest", "once a day, a digest"),
            SelectChoice("off", "never"),
        ],
    )


class WebhookForm(FlaskForm):
    """The site's webhook; the service resolves and checks the address itself."""

    webhook_url = StringField(
        "Webhook URL",
        filters=[_stripped],
        validators=[
            Optional(),
            Length(max=URL_MAX, message=f"Keep the address within {URL_MAX} characters."),
        ],
    )
    webhook_format = RadioField(
        "Body", choices=[SelectChoice(k, v) for k, v in FORMATS.items()], default="json"
    )


ROLE_CHOICES = [
    SelectChoice(Role.OWNER.value, "owner (settings, moderators, export)"),
    SelectChoice(Role.MODERATOR.value, "moderator (the queue)"),
]


class InviteForm(FlaskForm):
    email = EmailField(
        "Email", filters=[_stripped], validators=[DataRequired(), Email(), Length(max=254)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.MODERATOR.value)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
