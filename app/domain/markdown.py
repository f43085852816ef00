"""Markdown to safe HTML, run once when a comment is written.

markdown-it-py is CommonMark-compliant and linear in its input (no backtracking regexes on
the hot path), and nh3 (ammonia) is an allow-list sanitizer: even if the renderer let
something through, only the tags and attributes below survive.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

# `s` is what markdown-it writes for ~~struck~~; `del` is what imported HTML may have.
ALLOWED_TAGS = {
    "p", "br", "em", "strong", "s", "del", "a", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

# "commonmark" with raw HTML off; images are off because a comment must not make every
# reader's browser fetch a third party's URL.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.disable(["image", "html_block", "html_inline"])
_md.enable("strikethrough")


def render_markdown(source: str) -> str:
    """Sanitized HTML for a comment's Markdown source."""
    return sanitize_html(_md.render(source))


# Built once: nh3.clean would build its rules again on every call.
_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=ALLOWED_SCHEMES,
    link_rel=LINK_REL,
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Only the tags, attributes and link schemes a comment may have (imports bring HTML)."""
    return _cleaner.clean(html).strip()
