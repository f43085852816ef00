"""PostgreSQL going away in the middle of a write load (PostgreSQL runs only).

While the database refuses connections and its sessions are cut, as during a restart,
requests answer 503 with Retry-After instead of hanging; clients retry with the same
idempotency key, as the widget does; when the database is back the service recovers by
itself, and every accepted comment is stored exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Comment
from tests.factories import HOST_ORIGIN, guest_payload

POSTERS = 6


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def outage(seconds: float) -> None:
    """What clients see of a restart: sessions cut, new connections refused for a while."""
    url = db.engine.url
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        time.sleep(seconds)
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()


def test_a_database_outage_loses_and_doubles_nothing(app, site, server):
    site_id = site.id
    accepted: dict[str, int] = {}
    unavailable: list[float] = []
    slowest = [0.0]
    lock = threading.Lock()
    stop = time.monotonic() + 6

    def poster(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            i += 1
            key = str(uuid.uuid4())
            payload = guest_payload(
                body=f"poster {n} says {i}", email=f"p{n}@example.com", idempotency_key=key
            )
            while True:  # retry the same comment until the service takes it
                started = time.monotonic()
                try:
                    resp = requests.post(
                        f"{server}/api/v1/sites/{site_id}/comments",
                        json=payload,
                        headers={"Origin": HOST_ORIGIN},
                        timeout=20,
                    )
                finally:
                    with lock:
                        slowest[0] = max(slowest[0], time.monotonic() - started)
                if resp.status_code in (200, 201):
                    with lock:
                        accepted[key] = resp.json()["comment"]["id"]
                    break
                assert resp.status_code == 503, resp.text
                assert resp.json()["error"]["code"] == "service_unavailable"
                assert resp.headers["Retry-After"]
                with lock:
                    unavailable.append(time.monotonic())
                time.sleep(0.2)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(POSTERS)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    outage(2.0)
    for t in threads:
        t.join(timeout=60)

    assert unavailable, "the outage should have been visible as 503s"
    assert slowest[0] < 15  # nothing hung
    db.session().invalidate()  # this test's own connection was cut by the outage too
    db.engine.dispose()
    ids = db.session.scalars(select(Comment.id)).all()
    assert sorted(ids) == sorted(accepted.values())  # every accepted comment, exactly once
    assert db.session.scalar(select(func.count(func.distinct(Comment.body)))) == len(ids)
