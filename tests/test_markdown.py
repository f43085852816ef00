"""Comment text: Markdown in, sanitized HTML out, nothing that runs as script."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest

from app.domain.markdown import render_markdown, sanitize_html


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("*em* and **strong**", "<p><em>em</em> and <strong>strong</strong></p>"),
        ("`code`", "<p><code>code</code></p>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("```\nx < y\n```", "<pre><code>x &lt; y\n</code></pre>"),
        ("first\n\nsecond", "<p>first</p>\n<p>second</p>"),
        ("a ~~struck~~ b", "<p>a <s>struck</s> b</p>"),
    ],
)
def test_markdown_basics(source, html):
    assert render_markdown(source) == html


def test_struck_text_from_elsewhere_stays_struck():
    assert sanitize_html("<p><s>a</s> <del>b</del> <strike>c</strike></p>") == (
        "<p><s>a</s> <del>b</del> c</p>"
    )


def test_links_get_nofollow_ugc_noopener():
    html = render_markdown("[site](https://example.com/a)")
    assert html == ('<p><a href="https://example.com/a" rel="nofollow ugc noopener">site</a></p>')


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "<a href='javascript:alert(1)'>x</a>",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "![x](https://tracker.example/pixel.png)",
        '<svg onload="alert(1)">',
        '[x](https://ok.example "title" onmouseover=alert(1))',
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_nothing_a_reader_types_becomes_script(source):
    tags = parsed_tags(render_markdown(source))
    assert {tag for tag, _ in tags} <= {"p", "a", "em", "strong", "code", "pre"}
    for tag, attrs in tags:
        assert set(attrs) <= {"href", "rel", "title"}, (tag, attrs)
        href = attrs.get("href") or ""
        assert href == "" or href.startswith(("http://", "https://", "mailto:")), href


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parsed_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Elements and attributes as a browser's parser sees them, not as substrings."""
    collector = _TagCollector()
    collector.feed(html)
    return collector.tags


def test_unsafe_link_stays_visible_as_text():
    assert render_markdown("[x](javascript:alert(1))") == "<p>[x](javascript:alert(1))</p>"


@pytest.mark.parametrize(
    "source",
    [
        "[" * 10_000,
        "*a" * 5_000,
        "> " * 5_000,
        "- " * 5_000,
        "`" * 10_000,
        "[a](" * 2_500,
        "<" * 10_000,
        "_" * 5_000 + "a" + "_" * 4_999,
    ],
)
def test_pathological_input_renders_quickly(source):
    """Inputs that send backtracking Markdown parsers into exponential time (ReDoS)."""
    started = time.perf_counter()
    render_markdown(source)
    # Generous: a guard against input that takes minutes, not a timing of a loaded machine.
    assert time.perf_counter() - started < 10.0
