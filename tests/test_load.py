"""A bounded load test on loopback: many clients post while others read and moderate.

Afterwards every comment the service accepted is in the database exactly once, and nothing
else is. Posting clients retry with the same idempotency key, as the widget does after a lost
answer, so a retry must never store a second copy.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Moderator, Thread
from app.services import moderation
from tests.factories import HOST_ORIGIN, guest_payload, make_moderator

SECONDS = 3.0
POSTERS, READERS = 6, 4


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_every_accepted_comment_is_stored_exactly_once(app, site, server):
    moderator_id = make_moderator(site).id
    site_id = site.id
    deadline = time.monotonic() + SECONDS
    accepted: list[int] = []
    failures: list[str] = []
    approvals: list[int] = []
    lock = threading.Lock()

    def poster(n: int) -> None:
        with requests.Session() as http:
            i = 0
            while time.monotonic() < deadline:
                i += 1
                payload = guest_payload(
                    url=f"{HOST_ORIGIN}/load/{i % 5}",
                    body=f"poster {n} comment {i}",
                    email=f"p{n}@example.com",
                    idempotency_key=str(uuid.uuid4()),
                )
                for _attempt in range(2):  # the second send is the "lost answer" retry
                    resp = http.post(
                        f"{server}/api/v1/sites/{site_id}/comments",
                        json=payload,
                        headers={"Origin": HOST_ORIGIN},
                        timeout=10,
                    )
                    if resp.status_code not in (200, 201):
                        with lock:
                            failures.append(f"{resp.status_code} {resp.text[:200]}")
                        break
                    with lock:
                        accepted.append(resp.json()["comment"]["id"])

    def reader(n: int) -> None:
        with requests.Session() as http:
            while time.monotonic() < deadline:
                resp = http.get(
                    f"{server}/api/v1/sites/{site_id}/thread",
                    params={"url": f"{HOST_ORIGIN}/load/{n % 5}"},
                    timeout=10,
                )
                if resp.status_code != 200:
                    with lock:
                        failures.append(f"read {resp.status_code}")

    def moderator_loop() -> None:
        with app.app_context():
            while time.monotonic() < deadline:
                try:
                    mod = db.session.get(Moderator, moderator_id)  # a fresh session each round
                    waiting = moderation.queue(mod).comments[:5]
                    if waiting:
                        moderation.act(mod, [c.id for c in waiting], "approve")
                        with lock:
                            approvals.append(len(waiting))
                except Exception as exc:  # a dead moderator thread must fail the test
                    with lock:
                        failures.append(f"moderator {type(exc).__name__}: {exc}")
                    return
                finally:
                    db.session.remove()
                time.sleep(0.05)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(POSTERS)]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    threads.append(threading.Thread(target=moderator_loop))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 30)

    assert failures == []
    assert approvals, "the moderator approved nothing while comments came in"
    distinct = set(accepted)
    assert len(accepted) == 2 * len(distinct)  # each retry answered with the first comment
    db.session.rollback()
    stored = db.session.scalar(select(func.count(Comment.id)))
    assert stored == len(distinct) > 0
    approved = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.status == CommentStatus.APPROVED)
    )
    counted = db.session.scalar(select(func.sum(Thread.approved_count)))
    assert counted == approved  # the counters stayed exact under concurrent approvals
