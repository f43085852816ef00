"""Likes arriving while readers read: a steady stream of likes beside a wrk run.

A like changes a comment's count, so every like touches the thread's cached pages. This
stream runs at a fixed rate (a popular post's busiest minute, not a flood: likes are
rate-limited per reader) while wrk reads the same thread, so the reads' throughput beside
it, against the plain read of the same run, says what likes cost readers.

One address may like a comment for only a few browsers (LIKE_GUESTS_PER_ADDRESS, 3), so
the stream cycles: three passes over the comments like them as three browsers, the next
three take those likes back, and so on; every request changes a count.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

BROWSERS = ("bench-browser-0001", "bench-browser-0002", "bench-browser-0003")


@dataclass
class Stream:
    sent: int = 0
    changed: int = 0  # answered 200
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        rate = self.sent / self.seconds if self.seconds else 0.0
        return {
            "likes_sent": self.sent,
            "likes_per_second": round(rate, 1),
            "likes_ok": self.changed,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def _steps(comment_ids: list[int]) -> Iterator[tuple[str, int, str]]:
    while True:
        for method in ("PUT", "DELETE"):
            for browser in BROWSERS:
                for comment_id in comment_ids:
                    yield method, comment_id, browser


@contextmanager
def likes_beside(
    api: str, comment_ids: list[int], headers: Mapping[str, str], per_second: float
) -> Iterator[Stream]:
    """Sends likes to `api` (…/sites/SITE) at `per_second` until the block ends."""
    stream = Stream()
    stop = threading.Event()
    parts = urlsplit(api)
    host, port = parts.hostname or "127.0.0.1", parts.port
    send_headers = dict(headers) | {"Content-Type": "application/json"}

    def run() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        started = time.perf_counter()
        steps = _steps(comment_ids)
        while not stop.is_set():
            method, comment_id, browser = next(steps)
            body = json.dumps({"browser": browser}).encode()
            try:
                conn.request(
                    method,
                    f"{parts.path}/comments/{comment_id}/like",
                    body=body,
                    headers=send_headers,
                )
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                status = 0
            stream.sent += 1
            stream.changed += status == 200
            stream.statuses[status] = stream.statuses.get(status, 0) + 1
            # A fixed schedule, not a fixed pause: a slow answer is not made up by a burst.
            stop.wait(max(0.0, started + stream.sent / per_second - time.perf_counter()))
        stream.seconds = time.perf_counter() - started
        conn.close()

    worker = threading.Thread(target=run, name="likes", daemon=True)
    worker.start()
    try:
        yield stream
    finally:
        stop.set()
        worker.join()


def comment_ids(thread: Mapping[str, object]) -> list[int]:
    """The ids of every comment in a thread answer, replies included."""
    found: list[int] = []

    def walk(nodes: object) -> None:
        for node in nodes if isinstance(nodes, list) else []:
            if isinstance(node, dict):
                if isinstance(node.get("id"), int):
                    found.append(node["id"])
                walk(node.get("replies"))

    walk(thread.get("comments"))
    return found
