"""Errors the services raise; the API turns them into JSON, the dashboard into messages."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    code = "validation_error"


class BodyTooLong(ValidationError):
    code = "body_too_long"


class InvalidJson(DomainError):
    """Text that is not JSON, or JSON nested deeper than any real document."""

    code = "invalid_json"


class InvalidInput(ValidationError):
    """A value no database column can hold: text with a NUL or a lone surrogate (not
    encodable as UTF-8), an integer beyond 64 bits."""

    code = "invalid_input"


class UrlNotAllowed(DomainError):
    code = "url_not_allowed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class SiteNotFound(NotFound):
    code = "site_not_found"


class CommentNotFound(NotFound):
    code = "comment_not_found"


class ParentNotFound(DomainError):
    status = 422
    code = "parent_not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"


class EditWindowClosed(Forbidden):
    code = "edit_window_closed"


class OwnComment(Forbidden):
    """A reader liking what they wrote themselves."""

    code = "own_comment"


class LikeLimit(Forbidden):
    """More guests' likes of one comment from one address than households plausibly hold."""

    code = "like_limit"


class CommentDeleted(DomainError):
    status = 409
    code = "comment_deleted"


class DuplicateComment(DomainError):
    status = 409
    code = "duplicate_comment"


class IdempotencyConflict(DomainError):
    status = 409
    code = "idempotency_conflict"


class LinkInvalid(DomainError):
    """A link from a mail that was tampered with, or whose object is gone."""

    code = "link_invalid"


class InvalidSignedRequest(DomainError):
    """A provider's signed request (Facebook's data deletion) that is forged, malformed, too
    old, or already acted on."""

    code = "invalid_signed_request"


class LinkExpired(DomainError):
    """A genuine link from a mail that is too old, or was already used."""

    status = 410
    code = "link_expired"


class PostingRefused(Forbidden):
    code = "posting_failed"


class ThreadClosed(Forbidden):
    code = "thread_closed"


class SessionExpired(DomainError):
    """A reader's bearer token that is no longer valid, or none where one is needed."""

    status = 401
    code = "session_expired"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class FlowExpired(DomainError):
    """A sign-in flow past its lifetime, or already started, finished or claimed."""

    status = 410
    code = "login_expired"


class FlowFailed(DomainError):
    """A sign-in the provider refused, told to the page that claims it."""

    status = 400
    code = "login_failed"


class ImportFormatError(DomainError):
    """The file is not what it claims to be; `line` says where reading stopped."""

    code = "import_format"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


class SsoOff(Forbidden):
    """A site's own sign-in asked for where its owner has not turned single sign-on on."""

    code = "sso_off"


class SsoRefused(DomainError):
    """A signed reader from a site's page that is malformed, forged, expired or signed with
    another secret: the same status for all, the message says which."""

    status = 401
    code = "sso_refused"
