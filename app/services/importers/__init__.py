"""Parsers for other comment systems' exports, each feeding `importing.import_threads`.

Every parser module has `parse(path, ...) -> Iterator[ImportedThread]`, a generator that reads
its file streaming and yields one thread at a time, and `count(path) -> int`, the number of
comments `parse` will yield, for a progress bar. `parse` also takes `skipped=`, a Counter it
fills with what it left out and why ("pingback": 3), for the import's closing report.

The XML helpers live here because WordPress and Disqus share them: files from elsewhere are
untrusted, so they are read with defusedxml (no DTDs, no entities, no external references)
and element by element, so a large export never sits in memory whole. `lines_of` reads the
JSON formats (Remark42, Commento, Comentario), gzipped as those systems write them or not;
`read_only_sqlite` opens the databases read directly (Isso, Cusdis).
"""

from __future__ import annotations

import errno
import gzip
import io
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO
from xml.etree.ElementTree import Element, ParseError, TreeBuilder
from xml.parsers.expat import ErrorString

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, iterparse

from app.domain.errors import ImportFormatError
from app.domain.states import CommentStatus
from app.services.importing import ImportedComment

REFUSED = "the file declares entities or a DTD; refusing it"
# Where an element started, stamped on it while parsing (see `_LineBuilder`). A namespace of
# our own, so it cannot collide with a real attribute of the file.
LINE_ATTRIBUTE = "{urn:afterword:import}line"


def local_name(tag: str) -> str:
    """`{http://disqus.com}post` -> `post`."""
    return tag.rpartition("}")[2]


def namespace(tag: str) -> str:
    """`{http://disqus.com}post` -> `http://disqus.com`; "" for a tag without one."""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def line_of(element: Element) -> int | None:
    line = element.get(LINE_ATTRIBUTE)
    return int(line) if line else None


def text_of(element: Element | None) -> str:
    """The element's text, "" when it is missing or empty (CDATA reads as plain text)."""
    if element is None or element.text is None:
        return ""
    return element.text


class _LineBuilder(TreeBuilder):
    """Stamps the start line on the root and on the elements a parser names, for messages.

    iterparse hands out elements a chunk at a time, when the parser has already moved on, so
    the line has to be taken here, while expat is at the element's start tag.
    """

    def __init__(self, stamped: frozenset[str]) -> None:
        super().__init__()
        self.stamped = stamped
        self.line: Callable[[], int] = lambda: 0
        self.at_root = True

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = super().start(tag, attrs)
        if self.at_root or local_name(tag) in self.stamped:
            element.set(LINE_ATTRIBUTE, str(self.line()))
        self.at_root = False
        return element


def stream_xml(
    path: Path,
    *,
    depth: int,
    root: Callable[[str, set[str]], str | None],
    stamped: frozenset[str] = frozenset(),
) -> Iterator[Element]:
    """Yield each complete element `depth` levels down (the root is 1), then forget it.

    `root(tag, namespaces)` checks the root element and the namespaces declared up to it,
    returning what is wrong or None, so that a file of the wrong kind fails at its start
    instead of importing nothing. Elements whose local name is in `stamped` carry
    their start line (`line_of`). Raises `ImportFormatError` for XML that is malformed or
    declares a DTD or entities.
    """
    builder = _LineBuilder(stamped)
    # forbid_dtd as well: no real export has a DTD, and refusing it also stops entity tricks
    # that work through a DTD without declaring an entity by name.
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    declared: set[str] = set()
    ancestors: list[Element] = []
    level = 0
    with path.open("rb") as raw:
        source = _Trimmed(raw)
        builder.line = lambda: parser.parser.CurrentLineNumber + source.lines_dropped
        try:
            for event, item in iterparse(
                source, events=("start-ns", "start", "end"), parser=parser
            ):
                if event == "start-ns":
                    declared.add(item[1])
                elif event == "start":
                    level += 1
                    wrong = root(item.tag, declared) if level == 1 else None
                    if wrong:
                        raise ImportFormatError(wrong, line=line_of(item))
                    if level < depth:
                        ancestors.append(item)
                else:
                    if level == depth:
                        yield item
                        # Drop the finished element so memory holds one at a time.
                        ancestors[-1].remove(item)
                    elif level < depth:
                        ancestors.pop()
                    level -= 1
        except ParseError as err:
            line, column = err.position
            raise ImportFormatError(
                f"broken XML: {ErrorString(err.code)} (column {column + 1})",
                line=line + source.lines_dropped,
            ) from None
        except DefusedXmlException:
            raise ImportFormatError(REFUSED, line=builder.line()) from None


class _Trimmed:
    """The file without what some exporters (or an editor) put before `<?xml`: blank lines
    or a byte order mark, which XML forbids there but which say nothing."""

    BOM = b"\xef\xbb\xbf"

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        head = source.read(4096)
        trimmed = head.removeprefix(self.BOM).lstrip(b" \t\r\n").removeprefix(self.BOM)
        if trimmed != head and not trimmed.startswith(b"<?xml"):
            trimmed = head  # nothing forbids a byte order mark or blanks before the root
        self.lines_dropped = head[: len(head) - len(trimmed)].count(b"\n")
        self.head = trimmed

    def read(self, size: int = -1) -> bytes:
        if self.head:
            head, self.head = self.head, b""
            return head
        return self.source.read(size)


def lines_of(path: Path) -> Iterator[tuple[int, str]]:
    """The file's lines with their numbers, read streaming; a gzipped file (Remark42 backups
    and Commento exports are) is read through. Raises `ImportFormatError` for text that is
    not UTF-8 or a gzip file cut short."""
    n = 0
    try:
        with _open_text(path) as text:
            for n, line in enumerate(text, start=1):
                yield n, line.removeprefix("\ufeff") if n == 1 else line
    except UnicodeDecodeError:
        raise ImportFormatError("not UTF-8 text", line=n + 1) from None
    except (EOFError, OSError, zlib.error) as err:
        raise ImportFormatError(f"the gzip file is damaged ({err})", line=n + 1) from None


def _open_text(path: Path) -> TextIO:
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_only_sqlite(path: Path) -> sqlite3.Connection:
    """The SQLite file opened read-only, so that importing can never change the old system's
    data (nor create a file)."""
    # mode=ro would report a missing file as "unable to open database file"; say it plainly.
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    # The path goes in as a proper file: URI, so "?" or "#" in a file name cannot become
    # options.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


DELETED_LEAF = "deleted comment without replies"


def placeholders_for_replies(
    comments: list[ImportedComment], skipped: Counter[str]
) -> list[ImportedComment]:
    """The comments without the deleted ones nothing replies to: a deleted comment is kept
    only as the placeholder that holds its replies (or their replies) in place.

    `skipped` counts those left out as "deleted comment without replies".
    """
    by_key = {c.key: c for c in comments}
    holding: set[str] = set()
    for comment in comments:
        if comment.status is CommentStatus.DELETED:
            continue
        parent = comment.parent_key
        # Each comment is walked up from once at most, which also ends a parent loop.
        while parent is not None and parent in by_key and parent not in holding:
            holding.add(parent)
            parent = by_key[parent].parent_key
    kept = [c for c in comments if c.status is not CommentStatus.DELETED or c.key in holding]
    if len(kept) < len(comments):
        skipped[DELETED_LEAF] += len(comments) - len(kept)
    return kept


def parse_bool(value: str) -> bool:
    return value.strip().lower() in {"true", "1"}


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a time without a zone is taken as UTC (exports write UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Imported last: the parser modules use the helpers above from this package.
from app.services.importers import (  # noqa: E402
    comentario,
    commento,
    cusdis,
    disqus,
    isso,
    remark42,
    wordpress,
)

PARSERS = {
    "wordpress": wordpress,
    "disqus": disqus,
    "isso": isso,
    "remark42": remark42,
    # One reader for both: it tells Commento's version 1 from Comentario's version 3.
    "commento": commento,
    "comentario": commento,
    "cusdis": cusdis,
}

__all__ = [
    "PARSERS",
    "comentario",
    "commento",
    "cusdis",
    "disqus",
    "isso",
    "remark42",
    "wordpress",
]
