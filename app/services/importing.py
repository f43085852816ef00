"""Bringing comments in from elsewhere: every format's parser yields `ImportedThread`s, and
`import_threads` stores them in one transaction (all or nothing), skipping what an earlier
run already brought in, so running an import twice adds nothing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from markdownify import MarkdownConverter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import writes
from app.domain import policy
from app.domain.authors import Author
from app.domain.errors import ImportFormatError, UrlNotAllowed, ValidationError
from app.domain.json_input import is_storable_text
from app.domain.markdown import render_markdown, sanitize_html
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Moderator, Site, Thread, moderator_sites
from app.services import cache
from app.services.hashing import address_hash
from app.services.threads import adjust_approved_count


@dataclass
class ImportedComment:
    key: str  # unique within the source, e.g. "wordpress:1234"
    parent_key: str | None
    name: str
    body: str
    created_at: datetime  # aware, UTC
    status: CommentStatus = CommentStatus.APPROVED
    email: str | None = None
    website: str | None = None
    body_is_html: bool = False  # WordPress and Disqus keep HTML, Afterword and Isso Markdown
    edited_at: datetime | None = None
    remote_addr: str | None = None  # never stored as is; see services.hashing
    likes: int = 0  # a count only: who liked it stays behind
    # A moderator's reply in the old system (Cusdis): stored as the site's reply, like one
    # written from the dashboard, when the site has a moderator to stand for it.
    by_site: bool = False


@dataclass
class ImportedThread:
    url: str
    title: str = ""
    created_at: datetime | None = None
    comments: list[ImportedComment] = field(default_factory=list)
    closed: bool = False  # the old system took no more comments on the page


@dataclass
class ImportSummary:
    threads_created: int = 0
    comments_added: int = 0
    comments_skipped: int = 0  # already there from an earlier run
    by_status: dict[str, int] = field(default_factory=dict)
    # What was stored differently from the file, and why ("email that is not an email": 2).
    repaired: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class UrlRules:
    """How the file's page addresses become the site's, for a blog that moved.

    `map_url`: (old prefix, new prefix) pairs, the first that matches replacing the start of a
    page URL before it is matched against the site's origins. `match_path`: a page on an
    origin that is not the site's is placed by its path (and query), on the site's origin
    where a thread for that path already is, else on the first.
    """

    map_url: tuple[tuple[str, str], ...] = ()
    match_path: bool = False


def url_rule(text: str) -> tuple[str, str]:
    """`OLD=NEW` (`http://www.blog.example=https://blog.example`) as a `UrlRules.map_url` pair;
    ValueError saying why when it is not one."""
    match = _URL_RULE.fullmatch(text.strip())
    if not match:
        raise ValueError(
            "expected OLD=NEW, two URLs such as http://old.example=https://new.example"
        )
    old, new = (_normal_prefix(part) for part in match.groups())
    return old, new


_URL_RULE = re.compile(r"(https?://.+?)=(https?://.+)", re.IGNORECASE)


def _normal_prefix(prefix: str) -> str:
    """The prefix spelled as `policy.canonical_url` spells URLs: the scheme and host in lower
    case, no default port; the path as written."""
    parts = urlsplit(prefix)
    head = f"{parts.scheme}://{parts.netloc}"
    return policy.normalize_origin(head) + prefix[len(head) :]


class PagesElsewhere(ImportFormatError):
    """Pages of the file are on origins the site does not allow; nothing was imported."""

    def __init__(self, site: Site, origins: Counter[str]) -> None:
        self.origins = origins
        pages = sum(origins.values())
        listed = ", ".join(
            f"{origin} ({n} page{'s' if n > 1 else ''})" for origin, n in sorted(origins.items())
        )
        super().__init__(
            f"{pages} page{'s are' if pages > 1 else ' is'} not on one of the site's origins "
            f"({', '.join(site.origins)}); the file has pages on {listed}"
        )


def afterword_key(site_id: str, comment_id: object) -> str:
    """The source key of a comment written on an Afterword site, as its export names it."""
    return f"afterword:{site_id}:{comment_id}"


def _own_comment_id(site: Site, key: str) -> int | None:
    """The id of this site's comment that `key` names, when the key is of a comment written
    here (an export of this site, or of one restored from it, being restored here)."""
    rest = key.removeprefix(afterword_key(site.id, ""))
    return int(rest) if rest != key and rest.isdigit() and len(rest) < 19 else None


@writes
def import_threads(
    site: Site,
    threads: Iterable[ImportedThread],
    *,
    progress: Callable[[int], None] | None = None,
    urls: UrlRules = UrlRules(),
) -> ImportSummary:
    """Store the threads' comments on `site`; raises before committing anything if one fails.

    Replies may arrive before their parents (some exports are not in order); a reply whose
    parent is missing from the file becomes a top-level comment rather than being dropped.
    Pages on origins the site does not allow (after `urls`) fail the import as a whole, with
    every such origin named (`PagesElsewhere`).
    """
    summary = ImportSummary()
    elsewhere: Counter[str] = Counter()
    author = _SiteAuthor(site)
    for imported in threads:
        _check_storable(f"the thread {imported.url!r}", url=imported.url, title=imported.title)
        key = _thread_key(site, imported.url, urls)
        if isinstance(key, _Elsewhere):
            elsewhere[key.origin] += 1
        elif not elsewhere:  # once a page cannot be stored, the others are only looked at
            _import_thread(site, imported, key, summary, author)
        if progress:
            progress(len(imported.comments))
    if elsewhere:
        raise PagesElsewhere(site, elsewhere)
    return summary


@dataclass(frozen=True)
class _Elsewhere:
    origin: str  # not one of the site's


def _thread_key(site: Site, url: str, rules: UrlRules) -> str | _Elsewhere:
    """The key of the page's thread on `site` after `rules`, or the origin the page is on."""
    try:
        page = policy.canonical_url(url)
    except ValidationError:
        raise ImportFormatError(f"{url!r} is not a page address") from None
    for old, new in rules.map_url:
        if page == old or (page.startswith(old) and (old.endswith("/") or page[len(old)] in "/?")):
            page = policy.canonical_url(new + page[len(old) :])
            break
    origin = policy.origin_of(page)
    rest = page[len(origin) :]
    host = urlsplit(origin).hostname
    # The same host under http and https is one site: its pages are one thread each.
    candidates = [o for o in site.origins if urlsplit(o).hostname == host]
    if not candidates and rules.match_path:
        candidates = list(site.origins)
    if not candidates:
        return _Elsewhere(origin)
    try:
        keys = [policy.thread_key(o + rest, site.origins) for o in candidates]
    except (ValidationError, UrlNotAllowed):
        raise ImportFormatError(f"{url!r} is not a page address") from None
    if len(keys) > 1:
        known = set(
            db.session.scalars(
                select(Thread.url).where(Thread.site_id == site.id, Thread.url.in_(keys))
            )
        )
        return next((k for k in keys if k in known), keys[0])
    return keys[0]


def _new_thread(site: Site, key: str, imported: ImportedThread) -> tuple[Thread, bool]:
    """The page's thread, created now; or, when a reader's first comment (or another import)
    created it meanwhile, that one (only PostgreSQL lets two writers get this far)."""
    thread = Thread(
        site_id=site.id,
        url=key,
        title=policy.clean_title(imported.title),
        approved_count=0,
        closed=imported.closed,
        **({"created_at": imported.created_at} if imported.created_at else {}),
    )
    try:
        with db.session.begin_nested():
            db.session.add(thread)
    except IntegrityError:
        found = db.session.scalars(
            select(Thread).where(Thread.site_id == site.id, Thread.url == key)
        ).one()
        return found, False
    return thread, True


class _SiteAuthor:
    """Who stands for the site's replies an import brings: the site's first moderator (the
    lowest id of those moderating it, or every site), looked up once, when first needed."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.looked_up = False
        self.moderator_id: int | None = None

    def columns(self) -> dict[str, object] | None:
        if not self.looked_up:
            self.looked_up = True
            self.moderator_id = db.session.scalar(
                select(Moderator.id)
                .where(
                    Moderator.all_sites.is_(True)
                    | Moderator.id.in_(
                        select(moderator_sites.c.moderator_id).where(
                            moderator_sites.c.site_id == self.site.id
                        )
                    )
                )
                .order_by(Moderator.id)
                .limit(1)
            )
        if self.moderator_id is None:
            return None
        return Author.site(self.site.name, self.moderator_id).columns()


NO_MODERATOR = "moderator's reply kept as a guest's (the site has no moderator yet)"


def _import_thread(
    site: Site,
    imported: ImportedThread,
    key: str,
    summary: ImportSummary,
    author: _SiteAuthor,
) -> None:
    thread = db.session.scalar(select(Thread).where(Thread.site_id == site.id, Thread.url == key))
    if thread is None:
        thread, created = _new_thread(site, key, imported)
        summary.threads_created += created
    pending = {c.key: c for c in imported.comments}
    existing = _already_here(site, thread, pending)
    # A key twice in one file: the first one counts, the others are skipped (and said so).
    summary.comments_skipped += len(imported.comments) - len(pending)
    added = approved = 0

    def store(item: ImportedComment, trail: tuple[str, ...] = ()) -> Comment | None:
        nonlocal added, approved
        if item.key in existing:
            return existing[item.key]
        if item.key in trail:  # a parent loop in a broken file: cut it here
            return None
        parent = None
        if item.parent_key and item.parent_key in pending:
            parent = store(pending[item.parent_key], (*trail, item.key))
        elif item.parent_key and item.parent_key in existing:
            parent = existing[item.parent_key]
        comment = _new_comment(thread, item, parent, summary, author)
        existing[item.key] = comment
        added += 1
        approved += comment.status is CommentStatus.APPROVED
        summary.by_status[comment.status.value] = summary.by_status.get(comment.status.value, 0) + 1
        return comment

    for item in sorted(pending.values(), key=lambda c: c.created_at):
        store(item)
    summary.comments_added += added
    summary.comments_skipped += len(pending) - added
    if approved:
        adjust_approved_count(thread.id, approved)
    cache.touch_thread(site.id, thread.id)


def _already_here(
    site: Site, thread: Thread, pending: dict[str, ImportedComment]
) -> dict[str, Comment]:
    """The thread's comments that an earlier run brought in, by source key."""
    existing: dict[str, Comment] = {
        comment.import_key: comment
        for comment in db.session.scalars(
            select(Comment).where(Comment.thread_id == thread.id, Comment.import_key.is_not(None))
        )
        if comment.import_key
    }
    own = {own_id: key for key in pending if (own_id := _own_comment_id(site, key)) is not None}
    # Restoring into the site the comments were written on: they are there already,
    # without a source key of their own.
    ids = list(own)
    for start in range(0, len(ids), 500):
        for comment in db.session.scalars(
            select(Comment).where(
                Comment.thread_id == thread.id, Comment.id.in_(ids[start : start + 500])
            )
        ):
            existing.setdefault(own[comment.id], comment)
    return existing


def _new_comment(
    thread: Thread,
    item: ImportedComment,
    parent: Comment | None,
    summary: ImportSummary,
    author: _SiteAuthor,
) -> Comment:
    # A deleted comment may come without text (its author took it back); others always have.
    _check_storable(
        f"comment {item.key}",
        key=item.key,
        name=item.name,
        body=item.body,
        email=item.email,
        website=item.website,
        address=item.remote_addr,
    )
    empty = "" if item.status is CommentStatus.DELETED else "(empty)"
    if item.body_is_html:
        body, html = _from_html(item.key, item.body)
        body = body or empty
    else:
        body = item.body.strip() or empty
        html = render_markdown(body) if body else ""
    email = _email(item.email)
    if item.email and item.email.strip() and email is None:
        summary.repaired["email that is not an email (dropped)"] += 1
    columns: dict[str, object] = {
        "guest_name": " ".join(item.name.split())[: policy.NAME_MAX] or "Anonymous",
        "guest_email": email,
        "guest_website": _website(item.website),
    }
    if item.by_site:
        site_columns = author.columns()
        if site_columns is None:
            summary.repaired[NO_MODERATOR] += 1
        else:
            columns = site_columns
    comment = Comment(
        thread_id=thread.id,
        parent_id=parent.id if parent else None,
        **columns,
        body=body[: policy.BODY_MAX * 2],  # imported text is kept whole unless absurd
        html=html,
        status=item.status,
        created_at=item.created_at,
        edited_at=item.edited_at,
        import_key=item.key[:200],
        remote_addr_hash=address_hash(item.remote_addr),
        like_count=item.likes,
    )
    db.session.add(comment)
    db.session.flush()
    comment.root_id = parent.root_id if parent else comment.id
    return comment


def _check_storable(what: str, **texts: str | None) -> None:
    """Formats that are not XML (an Isso database, an export from a SQLite server) may hold
    text PostgreSQL cannot: say which, rather than fail in the middle of the transaction."""
    for name, text in texts.items():
        if text is not None and not is_storable_text(text):
            raise ImportFormatError(
                f"{what}: the {name} holds a NUL or a lone surrogate, which cannot be stored"
            )


def _from_html(key: str, original: str) -> tuple[str, str]:
    """The editable Markdown source of an HTML comment, and the HTML readers see.

    The source is Markdown, as for comments written here, so that links, emphasis and
    paragraphs survive a moderator's edit or a later export; whatever Markdown would read as
    syntax in the text ("1. ", "# ", "~~", "*") is escaped. When that source renders as the
    sanitized original does, its rendering is stored, so that an edit changes only what was
    edited; HTML Markdown cannot say (a list inside a table, say) keeps its sanitized form.
    """
    html = _clean_html(original)
    try:
        source = _SourceConverter(
            heading_style="ATX", newline_style="backslash", bullets="-"
        ).convert(html)
    except RecursionError:  # markdownify walks the tree recursively
        raise ImportFormatError(
            f"comment {key}: its HTML is nested too deeply to convert"
        ) from None
    source = source.strip()
    rendered = render_markdown(source) if source else ""
    return source, rendered if _shown_alike(rendered, html) else html


class _SourceConverter(MarkdownConverter):
    """markdownify, escaping all the text could mean as Markdown, not only `*` and `_`."""

    def escape(self, text: str, parent_tags: set[str]) -> str:
        if not text:
            return ""
        text = _ALWAYS_ESCAPED.sub(r"\\\1", text)
        text = _ENTITY.sub(r"\\&", text)
        # What starts a block only at the start of a line; a text node may start one, and
        # may hold newlines.
        text = _BLOCK_START.sub(r"\1\\\2", text)
        return _LIST_NUMBER.sub(r"\1\\\2", text)


_ALWAYS_ESCAPED = re.compile(r"([\\`*_\[\]<~])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_BLOCK_START = re.compile(r"(^|\s)(>|#{1,6}(?=\s|$)|[-+=]+(?=\s|$))")
_LIST_NUMBER = re.compile(r"((?:^|\s)[0-9]{1,9})([.)](?=\s|$))")

# Block tags, around which whitespace shows nothing; `del` shows as `s` does, and code in
# <pre> as code in <pre><code>.
_BLOCK_TAGS = "p|br|blockquote|ul|ol|li|h[1-6]|hr|pre|div|table|thead|tbody|tr|td|th|dl|dd|dt"
_AROUND_BLOCK_TAG = re.compile(rf"\s*(</?(?:{_BLOCK_TAGS})\b[^>]*>)\s*", re.IGNORECASE)
_DEL = re.compile(r"<(/?)del>")
_PRE_CODE = re.compile(r"<pre><code>(.*?)\s*</code></pre>", re.DOTALL)
_EMPTY_PARAGRAPH = re.compile(r"<p>\s*</p>")


def _shown_alike(a: str, b: str) -> bool:
    def shown(html: str) -> str:
        html = _PRE_CODE.sub(r"<pre>\1</pre>", _DEL.sub(r"<\1s>", html))
        html = " ".join(html.split())
        return _EMPTY_PARAGRAPH.sub("", _AROUND_BLOCK_TAG.sub(r"\1", html)).strip()

    return shown(a) == shown(b)


# What WordPress's wpautop() reads as the end of a paragraph, and as a block of its own.
_REAL_P_TAG = re.compile(r"<p[\s>/]", re.IGNORECASE)
_PRE_BLOCK = re.compile(r"<pre\b.*?</pre\s*>", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")
_BLOCK_TAG_AT_END = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^>]*>\s*$", re.IGNORECASE)
_BLOCK_TAG_AT_START = re.compile(rf"\s*</?(?:{_BLOCK_TAGS})\b", re.IGNORECASE)
_PRE_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")


def _clean_html(html: str) -> str:
    """The comment's HTML, sanitized, with the paragraphs and line breaks the old site showed.

    WordPress stores comments as typed and adds paragraphs when showing them (wpautop): a
    blank line (or one of only spaces) ends a paragraph, a newline is a line break, and text
    in <pre> is left alone. Text that already has <p> tags (Disqus) is taken as it is.
    """
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    pres: list[str] = []

    def keep_pre(match: re.Match[str]) -> str:
        pres.append(match.group(0))
        return f"\n\n\x00{len(pres) - 1}\x00\n\n"

    protected = _PRE_BLOCK.sub(keep_pre, html)
    if not _REAL_P_TAG.search(protected):
        blocks = []
        for chunk in _BLANK_LINES.split(protected):
            chunk = chunk.strip()
            if not chunk:
                continue
            if _PRE_PLACEHOLDER.fullmatch(chunk) or _BLOCK_TAG_AT_START.match(chunk):
                blocks.append(_line_breaks(chunk))
            else:
                blocks.append(f"<p>{_line_breaks(chunk)}</p>")
        html = _PRE_PLACEHOLDER.sub(lambda m: pres[int(m.group(1))], "\n".join(blocks))
    return _EMPTY_PARAGRAPH.sub("", sanitize_html(html))


def _line_breaks(chunk: str) -> str:
    lines = chunk.split("\n")
    out = lines[0]
    for line in lines[1:]:
        between_blocks = _BLOCK_TAG_AT_END.search(out) or _BLOCK_TAG_AT_START.match(line)
        out += ("\n" if between_blocks else "<br>\n") + line
    return out


def _email(email: str | None) -> str | None:
    """The address if it is one; an old system's odd value is dropped, not stored."""
    if not email or not email.strip():
        return None
    try:
        return policy.clean_email(email)
    except ValidationError:
        return None


def _website(url: str | None) -> str | None:
    try:
        return policy.clean_website(url)
    except ValidationError:
        return None  # an old, odd website field is dropped, not a reason to fail the import
