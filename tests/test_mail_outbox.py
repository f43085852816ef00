"""The outbox's sender: a slow mail server holds up no reader."""

from __future__ import annotations

import threading
import time

from aiosmtpd.controller import Controller

from app.extensions import db
from app.models import OutboxMessage
from app.services import mail
from tests.factories import guest_payload, make_moderator, post_json
from tests.test_notifications import AnyPortController, Inbox, outbox_rows


class SlowInbox(Inbox):
    """Takes each message only once the test lets it: an SMTP server that is slow to answer."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.receiving.set()
        # The server's own thread: blocking it is what a slow mail server looks like.
        self.release.wait(10)
        return await super().handle_DATA(server, session, envelope)


def test_readers_post_while_a_slow_mail_server_takes_its_time(app, client, site):
    make_moderator(site, email="mod@example.com")
    assert post_json(client, site, guest_payload(body="first")).status_code == 201
    inbox = SlowInbox()
    controller: Controller = AnyPortController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False)
    reports = []

    def sender() -> None:
        with app.app_context():
            reports.append(mail.send_pending())

    worker = threading.Thread(target=sender)
    worker.start()
    try:
        assert inbox.receiving.wait(10)
        started = time.monotonic()
        resp = post_json(client, site, guest_payload(body="second, meanwhile"))
        assert resp.status_code == 201
        assert time.monotonic() - started < 3
        assert not inbox.release.is_set()
    finally:
        inbox.release.set()
        worker.join(15)
        controller.stop()
    assert reports[0].sent == 1
    sent, waiting = outbox_rows()
    assert sent.sent_at is not None and waiting.sent_at is None  # the second one's turn next


def test_a_message_being_sent_is_not_sent_again_by_a_second_sender(app, client, site):
    make_moderator(site, email="mod@example.com")
    post_json(client, site, guest_payload(body="only once"))
    inbox = SlowInbox()
    controller: Controller = AnyPortController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False)

    def sender() -> None:
        with app.app_context():
            mail.send_pending()

    worker = threading.Thread(target=sender)
    worker.start()
    try:
        assert inbox.receiving.wait(10)
        assert mail.send_pending().sent == 0  # leased by the first sender
    finally:
        inbox.release.set()
        worker.join(15)
        controller.stop()
    db.session.expire_all()
    assert len(inbox.messages) == 1
    assert db.session.get(OutboxMessage, outbox_rows()[0].id).sent_at is not None
