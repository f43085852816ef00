"""Abuse limits: per address and per author, answered with 429 and Retry-After."""

from __future__ import annotations

import threading
import time

import pytest

from app.extensions import db, limiter
from app.models import User
from app.services.tokens import reader_token
from tests.factories import HOST_ORIGIN, POST_URL, guest_payload, post_json


@pytest.fixture
def app(app):
    app.config.update(RATELIMIT_POST="3 per minute", RATELIMIT_READ="5 per minute")
    return app


def test_posting_is_limited_per_author_with_a_retry_time(client, site):
    for i in range(3):
        assert post_json(client, site, guest_payload(body=f"n{i}")).status_code == 201
    refused = post_json(client, site, guest_payload(body="one too many"))
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN  # the widget reads it


def test_a_new_address_does_not_reset_an_authors_limit(client, site):
    for i in range(3):
        post_json(client, site, guest_payload(body=f"n{i}"))
    elsewhere = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json=guest_payload(body="from another network"),
        headers={"Origin": HOST_ORIGIN},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert elsewhere.status_code == 429


def test_reads_are_limited_per_address(client, site):
    for _ in range(5):
        ok = client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL})
        assert ok.status_code == 200
    resp = client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL})
    assert resp.status_code == 429 and "Retry-After" in resp.headers


def test_x_forwarded_for_is_not_trusted_without_a_proxy(client, site):
    """A client cannot escape its limit by claiming another address."""
    for i in range(3):
        client.post(
            f"/api/v1/sites/{site.id}/comments",
            json=guest_payload(body=f"n{i}", email=f"r{i}@example.com"),
            headers={"Origin": HOST_ORIGIN, "X-Forwarded-For": f"198.51.100.{i}"},
        )
    spoofed = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json=guest_payload(body="spoofed", email="r9@example.com"),
        headers={"Origin": HOST_ORIGIN, "X-Forwarded-For": "198.51.100.99"},
    )
    assert spoofed.status_code == 429


def test_a_signed_in_reader_is_limited_as_themselves_from_any_address(client, site):
    reader = User(display_name="Ada")
    db.session.add(reader)
    db.session.commit()
    token = reader_token(reader.id, site.id, "dev")

    def read_from(address: str) -> int:
        return client.get(
            f"/api/v1/sites/{site.id}/thread",
            query_string={"url": POST_URL},
            headers={"Authorization": f"Bearer {token}"},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    assert [read_from(f"198.51.100.{i}") for i in range(1, 6)] == [200] * 5
    assert read_from("198.51.100.6") == 429
    # a guest at a fresh address is not held back by that reader
    assert (
        client.get(
            f"/api/v1/sites/{site.id}/thread",
            query_string={"url": POST_URL},
            environ_base={"REMOTE_ADDR": "198.51.100.7"},
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("comments", {}),
        ("logins", {"provider": "email", "address": "grace@example.com"}),
        ("privacy/requests", {"email": "grace@example.com"}),
    ],
)
def test_a_body_too_large_to_read_keeps_the_limits_shared(client, site, path, extra):
    # A limit whose key reads the body: were reading it to raise, the limiter would take that
    # for its storage failing and count every limit in this process alone from then on.
    shared = limiter.limiter
    refused = post_json(client, site, {**guest_payload(body="x" * 300_000), **extra}, path=path)
    assert refused.status_code == 413
    assert refused.json["error"]["code"] == "request_entity_too_large"
    assert limiter.limiter is shared


def test_counting_a_limit_starts_no_thread(client, site, monkeypatch):
    # limits' memory storage started a timer thread from within a hit, and Thread.start
    # waits for the new thread to run: time every request paid on a busy machine.
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        started.append(thread)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    for i in range(3):
        assert post_json(client, site, guest_payload(body=f"n{i}")).status_code == 201
        time.sleep(0.02)  # past the 10 ms after which limits' timer had ended
    # With Redis the cache's watch of its generations starts, once in a process's life
    # (app/services/generations.py); no hit starts anything.
    assert [t for t in started if t.name != "afterword-generations"] == []
    refused = post_json(client, site, guest_payload(body="one too many"))
    assert refused.status_code == 429  # still counted, still limited


def test_the_in_process_counts_forget_expired_keys_nobody_reads_again():
    from app.rate_limits import InProcessStorage

    storage = InProcessStorage()
    storage.PURGE_EVERY = 0.0
    storage.incr("once", expiry=0.01)
    time.sleep(0.02)
    storage.incr("later", expiry=60)
    assert set(storage.storage) == {"later"}  # bounded by the keys of the current windows
