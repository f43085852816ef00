"""Several gunicorn processes on one database and one Redis behave as one service.

Runs where Redis is available (REDIS_URL, as in CI): rate limits counted by one worker hold
in the others (also for cached reads answered in front of Flask), and an approval made
anywhere shows in every worker's cached pages at once.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from app.domain.states import CommentStatus, ModerationMode
from tests.factories import HOST_ORIGIN, POST_URL, guest_payload, make_comment, make_site

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workers(app: Flask, tmp_path: Path) -> Iterator[str]:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs Redis (REDIS_URL)")
    # Bound here on a port the OS picks, and handed to gunicorn (bind fd://N), so that no
    # other process can take the port in between.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # Production refuses the testing key; the test's own app signs and hashes with this too.
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    env = {
        **os.environ,
        "AFTERWORD_ENV": "production",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RATELIMIT_POST": "4 per minute",
        "RATELIMIT_READ": "30 per minute",
        "GUNICORN_BIND": f"fd://{listener.fileno()}",
        "GUNICORN_WORKERS": "3",
        "GUNICORN_THREADS": "1",
        "GUNICORN_ACCESSLOG": "/dev/null",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=(listener.fileno(),),
    )
    listener.close()  # gunicorn has its own copy
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start: " + server.stderr.read(2000).decode())
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def fresh_connection_post(base: str, site_id: str, n: int) -> requests.Response:
    # A new connection each time, so gunicorn hands requests to different workers.
    return requests.post(
        f"{base}/api/v1/sites/{site_id}/comments",
        json=guest_payload(body=f"comment {n}", email=f"r{n}@example.com"),
        headers={"Origin": HOST_ORIGIN, "Connection": "close"},
        timeout=10,
    )


def test_rate_limits_are_shared_by_every_worker(site, workers):
    statuses = [fresh_connection_post(workers, site.id, n).status_code for n in range(7)]
    assert statuses[:4] == [201] * 4
    assert set(statuses[4:]) == {429}


def test_cached_reads_share_one_limit_across_workers(app, workers):
    site = make_site()
    make_comment(site, status=CommentStatus.APPROVED)
    statuses = [
        requests.get(
            f"{workers}/api/v1/sites/{site.id}/thread",
            params={"url": POST_URL},
            headers={"Origin": HOST_ORIGIN, "Connection": "close", "Accept-Encoding": "gzip"},
            timeout=10,
        ).status_code
        for _ in range(33)
    ]
    assert statuses[:30] == [200] * 30
    assert set(statuses[30:]) == {429}


def test_a_write_in_one_worker_reaches_every_workers_cache(app, workers):
    site = make_site(moderation=ModerationMode.NONE)  # comments are published at once
    make_comment(site, body="first", status=CommentStatus.APPROVED)
    url = f"{workers}/api/v1/sites/{site.id}/thread"

    def bodies() -> set[int]:
        seen = set()
        for _ in range(9):  # enough requests to visit all three workers
            resp = requests.get(
                url, params={"url": POST_URL}, headers={"Connection": "close"}, timeout=10
            )
            seen.add(len(resp.json()["comments"]))
        return seen

    assert bodies() == {1}  # every worker has cached the one-comment page
    assert fresh_connection_post(workers, site.id, 1).status_code == 201  # one worker writes
    assert bodies() == {2}  # and none of them serves the old page any more
