"""The benchmark's data, generated deterministically so every run seeds the same threads.

Afterword and Isso are seeded from the same plan: the same bodies, authors and reply trees,
so a difference in speed is the server's, not the data's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# The sizes of the threads whose first page is read; 100 is also seeded into Isso.
THREAD_SIZES = (10, 100, 1_000, 10_000)
COUNT_THREADS = 50
# About 70 % of comments are top-level; a reply goes under one of the recent comments, as
# conversations on a blog happen soon after the comment they answer.
REPLY_SHARE = 0.3
REPLY_WINDOW = 30
MAX_DEPTH = 4
SEED = 20261125

# Word lists, kept as prose so they read as text rather than as 150 quoted items.
_FIRST_NAMES = (
    "Ada Alan Barbara Claude Dennis Donald Edsger Frances Grace Guido Hedy Ivan John Ken "
    "Leslie Linus Margaret Niklaus Radia Rich Rob Sophie Tim Tony Ward Yukihiro Barbara Carol "
    "Dan Erich"
)
FIRST_NAMES = _FIRST_NAMES.split()
_LAST_NAMES = (
    "Lovelace Turing Liskov Shannon Ritchie Knuth Dijkstra Allen Hopper Rossum Lamarr "
    "Sutherland Backus Thompson Lamport Torvalds Hamilton Wirth Perlman Hickey Pike Wilson "
    "Berners-Lee Hoare Cunningham Matsumoto Kernighan Shaw Gamma"
)
LAST_NAMES = _LAST_NAMES.split()
_WORDS = (
    "the a of to and in that is it for on with as this was but be at by not are from or have "
    "an they which one you were all we can her has there been if more when will would who so "
    "post article point example really think great thanks agree idea reading data server "
    "query cache thread comment reply index page latency database python markdown render "
    "request worker process memory network browser script style theme layout design feature "
    "release version update bug issue patch review test build deploy config setting option "
    "default simple small fast slow better worse clear helpful interesting useful different "
    "similar"
)
WORDS = _WORDS.split()
CODE_SNIPPETS = (
    "SELECT id FROM comment WHERE root_id = 1;",
    "for item in items:\n    print(item)",
    "curl -H 'Origin: https://blog.example' https://comments.example/",
    "const n = await fetch(url).then((r) => r.json());",
)


@dataclass(frozen=True)
class Author:
    name: str
    email: str
    website: str | None


@dataclass(frozen=True)
class PlannedComment:
    parent: int | None  # index of the parent in the same thread; None for a top-level comment
    author: Author
    body: str  # Markdown


def authors(rng: random.Random, count: int = 150) -> list[Author]:
    pool = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        handle = f"{first}.{last}{i}".lower()
        website = f"https://{handle.replace('.', '-')}.example" if rng.random() < 0.3 else None
        pool.append(Author(f"{first} {last}", f"{handle}@example.org", website))
    return pool


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    # Some inline Markdown, so rendering and sanitizing are exercised like real comments.
    feature = rng.random()
    i = rng.randrange(len(words))
    if feature < 0.10:
        words[i] = f"*{words[i]}*"
    elif feature < 0.16:
        words[i] = f"**{words[i]}**"
    elif feature < 0.22:
        words[i] = f"`{words[i]}()`"
    elif feature < 0.27:
        words[i] = f"[{words[i]}](https://example.org/wiki/{words[i]})"
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".!?.")


def _paragraph(rng: random.Random, sentences: int) -> str:
    block = rng.random()
    if block < 0.06:
        return "\n".join(f"- {_sentence(rng)}" for _ in range(sentences))
    if block < 0.10:
        return f"> {_sentence(rng)}"
    if block < 0.13:
        return f"```\n{rng.choice(CODE_SNIPPETS)}\n```"
    return " ".join(_sentence(rng) for _ in range(sentences))


def body(rng: random.Random) -> str:
    """Short (about half), medium, or long (one in seven) comments: 80 to 1,500 characters."""
    kind = rng.random()
    if kind < 0.45:
        return _sentence(rng) if rng.random() < 0.6 else _paragraph(rng, 2)
    if kind < 0.85:
        return "\n\n".join(_paragraph(rng, rng.randint(2, 4)) for _ in range(rng.randint(1, 2)))
    return "\n\n".join(_paragraph(rng, rng.randint(3, 5)) for _ in range(rng.randint(3, 5)))


def thread(rng: random.Random, size: int, pool: list[Author]) -> list[PlannedComment]:
    """`size` comments in posting order; a parent always comes before its replies."""
    planned: list[PlannedComment] = []
    depth: list[int] = []
    for i in range(size):
        parent = None
        if i and rng.random() < REPLY_SHARE:
            window = [j for j in range(max(0, i - REPLY_WINDOW), i) if depth[j] < MAX_DEPTH]
            parent = rng.choice(window) if window else None
        depth.append(0 if parent is None else depth[parent] + 1)
        planned.append(PlannedComment(parent, rng.choice(pool), body(rng)))
    return planned


@dataclass(frozen=True)
class Plan:
    threads: dict[int, list[PlannedComment]]  # size -> comments
    count_threads: list[list[PlannedComment]]  # 50 small threads for the counts workload


def make_plan() -> Plan:
    rng = random.Random(SEED)  # noqa: S311 - sample text, not secrets
    pool = authors(rng)
    threads = {size: thread(rng, size, pool) for size in THREAD_SIZES}
    count_threads = [thread(rng, rng.randint(1, 5), pool) for _ in range(COUNT_THREADS)]
    return Plan(threads, count_threads)


# One origin for both services; nothing ever fetches it (Isso gets a title with each comment).
ORIGIN = "http://blog.bench.test"
POST_PATH = "/bench/posting"


def thread_path(size: int) -> str:
    return f"/bench/{size}"


def count_path(i: int) -> str:
    return f"/bench/count-{i:02d}"
