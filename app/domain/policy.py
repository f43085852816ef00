"""Rules about comments that need no database: lengths, fields, moderation, edit window."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import TypeGuard
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from email_validator import EmailNotValidError, validate_email

from app.domain.errors import BodyTooLong, UrlNotAllowed, ValidationError
from app.domain.names import strip_invisible

BODY_MAX = 10_000
NAME_MAX = 100
EMAIL_MAX = 254
WEBSITE_MAX = 300
TITLE_MAX = 300
URL_MAX = 2000
# Ids fit PostgreSQL's 32-bit integer columns; anything larger names no row at all.
ID_MAX = 2**31 - 1
# Comments one moderator action may change: twenty pages of the queue, in one request.
BULK_MAX = 1_000
_HOST = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# Never valid unescaped in a URL, and the ones that break out of an HTML attribute.
_UNSAFE_URL_CHARS = set('"<>\\`{}|^')
# The query parameters that tell one page from another, and so stay in its thread key:
# WordPress's plain permalinks (`/?p=123`, `?page_id=2`, `?attachment_id=5`) and the names
# other engines give a post's id. Every other parameter (utm_*, fbclid, replytocom, a page
# number, a sort order) says how a reader arrived or what they look at, not which page: one
# thread whatever a link adds. The widget's default URL keeps the same ones (app/embed).
PAGE_PARAMS = ("p", "page_id", "attachment_id", "id", "post", "article", "story")


def clean_body(body: object) -> str:
    """The comment text, refused (never cut short) when empty or too long."""
    if not isinstance(body, str):
        raise ValidationError("The comment must be text.", field="body")
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError("Please write a comment.", field="body")
    if len(body) > BODY_MAX:
        raise BodyTooLong(
            f"A comment holds up to {BODY_MAX:,} characters; this one has {len(body):,}.",
            field="body",
        )
    return body


def clean_name(name: object) -> str:
    """A guest's display name, without invisible characters (see app/domain/names.py)."""
    if isinstance(name, str):
        name = " ".join(strip_invisible(name).split())  # no newlines or tabs either
    if not isinstance(name, str) or not name:
        raise ValidationError("Please give your name.", field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"A name holds up to {NAME_MAX} characters.", field="name")
    return name


def clean_email(email: object) -> str:
    if not isinstance(email, str) or not email.strip():
        raise ValidationError("Please give your email address.", field="email")
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("That email address does not look right.", field="email") from None
    normalized = result.normalized
    if len(normalized) > EMAIL_MAX:
        raise ValidationError("That email address is too long.", field="email")
    return normalized.lower()


def clean_website(website: object) -> str | None:
    """An http(s) URL or None. Anything else (javascript:, data:, ...) is refused."""
    if website is None or (isinstance(website, str) and not website.strip()):
        return None
    if not isinstance(website, str):
        raise ValidationError("The website must be text.", field="website")
    website = website.strip()
    if not _SCHEME.match(website):
        website = "https://" + website
    parts = urlsplit(website)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = parts._replace(scheme="invalid")
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or any(c.isspace() or ord(c) < 32 or c in _UNSAFE_URL_CHARS for c in website)
    ):
        raise ValidationError("The website must be an http or https address.", field="website")
    if len(website) > WEBSITE_MAX:
        raise ValidationError(
            f"A website address holds up to {WEBSITE_MAX} characters.", field="website"
        )
    return website


def clean_title(title: object) -> str:
    if not isinstance(title, str):
        return ""
    return " ".join(title.split())[:TITLE_MAX]  # page titles are metadata, not user text


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# What a refused origin's message says instead.
ONLY_ORIGIN = "an origin is only scheme, host and port"
EXAMPLE = "https://blog.example"


def normalize_origin(origin: str) -> str:
    """`https://Blog.Example:443/` -> `https://blog.example`.

    Raises ValueError saying why `origin` is not one and, where that is clear, what to type
    instead: site owners paste page addresses, bare host names and wildcards.
    """
    text = origin.strip()
    parts = urlsplit(text)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "*" in parts.hostname  # no wildcards: an origin is one exact host
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValueError(_why_not_an_origin(text))
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("its host name is not valid") from None
        if not _HOST.match(host):
            raise ValueError("its host name is not valid")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        raise ValueError("its port is not a number from 1 to 65535") from None
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def _why_not_an_origin(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"}:
        return _why_no_scheme(text)
    if not parts.hostname:
        return f"it has no host name, like {EXAMPLE}"
    host = parts.hostname.lower()
    if "*" in host:
        www = _origin_or_none(f"{parts.scheme}://{host.replace('*', 'www', 1)}")
        return "it has a wildcard; an origin is one exact host, so add each host on its own" + (
            f", like {www}" if www else ""
        )
    present = {
        "a path": parts.path not in {"", "/"},
        "a query": parts.query,
        "a fragment": parts.fragment,
        "a user name": parts.username,
    }
    extra = next(what for what, there in present.items() if there)
    bare = _origin_or_none(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")
    return f"it has {extra}; {ONLY_ORIGIN}: {bare or EXAMPLE}"


def _why_no_scheme(text: str) -> str:
    if text and "://" not in text:
        # `blog.example`, `blog.example/posts`, `*.blog.example`: a host without its scheme.
        local = text.startswith(("localhost", "127.0.0.1"))
        candidate = ("http://" if local else "https://") + text.split("/")[0]
        try:
            return f"it has no scheme; {ONLY_ORIGIN}: {normalize_origin(candidate)}"
        except ValueError as why:
            if "*" in candidate:
                return str(why)  # what a wildcard needs instead
    return f"only http:// and https:// pages can embed comments, like {EXAMPLE}"


def _origin_or_none(candidate: str) -> str | None:
    try:
        return normalize_origin(candidate)
    except ValueError:
        return None


def clean_origins(origins: Iterable[str]) -> list[str]:
    """Exact origins, normalized and deduplicated; at least one."""
    cleaned = []
    for origin in origins:
        try:
            cleaned.append(normalize_origin(origin))
        except ValueError as why:
            raise ValidationError(
                f"{origin.strip() or '(nothing)'} is not an origin: {why}", field="origins"
            ) from None
    if not cleaned:
        raise ValidationError("A site needs at least one origin.", field="origins")
    return list(dict.fromkeys(cleaned))


def thread_key(url: object, origins: Collection[str]) -> str:
    """The canonical key of a page (`canonical_url`), on one of the site's origins."""
    key = canonical_url(url)
    _check_on_site(key, origins)
    return key


def page_address(url: object, origins: Collection[str]) -> str:
    """A page's own address on one of the site's origins, normalized as `canonical_url` does
    but with its whole query: where a reader comes back to, not which thread it shows."""
    address = _normalized_url(url)
    _check_on_site(address, origins)
    return address


def _check_on_site(url: str, origins: Collection[str]) -> None:
    if origin_of(url) not in origins:
        raise UrlNotAllowed("This page is not on one of the site's addresses.", field="url")


def canonical_url(url: object) -> str:
    """One spelling for every way of writing a page's URL: no fragment, the host in lower case,
    no default port, `/` for an empty path, and of the query only the parameters that name the
    page (`page_query`)."""
    parts = urlsplit(_normalized_url(url))
    return urlunsplit(parts._replace(query=page_query(parts.query)))


def page_query(query: str) -> str:
    """The PAGE_PARAMS of a query, blank ones left out, in one order and one spelling:
    `utm_source=x&p=123` and `p=%31%323` are both `p=123`. Bytes that are not UTF-8 stay
    as they were quoted."""
    pairs = parse_qsl(query, errors="surrogateescape")
    kept = sorted({(name, value) for name, value in pairs if name in PAGE_PARAMS})
    return urlencode(kept, quote_via=quote, errors="surrogateescape")


def _normalized_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("The page URL is missing.", field="url")
    url = url.strip()
    if len(url) > URL_MAX or any(ord(c) < 32 or c.isspace() for c in url):
        raise ValidationError("The page URL is not valid.", field="url")
    try:
        parts = urlsplit(url)
        origin = normalize_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        raise ValidationError("The page URL is not valid.", field="url") from None
    return urlunsplit((parts.scheme, origin.split("://", 1)[1], parts.path or "/", parts.query, ""))


def is_id(value: object) -> TypeGuard[int]:
    """An int that could be a row id (bools are ints in Python, and are not ids)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


def can_edit(created_at: datetime, now: datetime, window: timedelta) -> bool:
    """True while the author may still edit; moderators edit without a window."""
    return now - created_at <= window


def closes_at(thread_created: datetime, close_after_days: int | None) -> datetime | None:
    """When a thread stops taking comments, if the site closes threads after N days."""
    return None if close_after_days is None else thread_created + timedelta(days=close_after_days)


def is_closed(thread_created: datetime, close_after_days: int | None, now: datetime) -> bool:
    """Whether a thread stopped taking comments (the site closes threads after N days)."""
    end = closes_at(thread_created, close_after_days)
    return end is not None and now > end
