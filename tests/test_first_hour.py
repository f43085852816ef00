"""What a site owner meets in their first hour: `make run` on any port, mail they can read
without an SMTP server, and a production `/` that is not the demo."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import config
from app import create_app
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, OutboxMessage, Site, Thread
from app.services import mail
from app.serving import check_gunicorn, public_url_mismatch
from config import TestingConfig, remember_served_url, served_url
from tests.factories import guest_payload, make_moderator, make_site, post_json
from tests.test_notifications import Inbox

ROOT = Path(__file__).resolve().parents[1]


# --- any port ---------------------------------------------------------------------------


def config_in_a_fresh_process(instance_dir: Path, **env: str) -> dict[str, str]:
    """PUBLIC_URL of each config class, as a process started with `env` reads it."""
    base = {k: v for k, v in os.environ.items() if k not in {"PUBLIC_URL", "AFTERWORD_ENV"}}
    code = (
        "import json, config; print(json.dumps({name: cls.PUBLIC_URL "
        "for name, cls in config.CONFIGS.items()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "AFTERWORD_INSTANCE_DIR": str(instance_dir), **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_development_config_reads_the_address_make_run_serves_on(tmp_path):
    assert config_in_a_fresh_process(tmp_path)["development"] == "http://127.0.0.1:5000"
    remember_served_url(served_url("127.0.0.1", 6100), tmp_path)
    urls = config_in_a_fresh_process(tmp_path)
    assert urls["development"] == "http://127.0.0.1:6100"
    # Never outside development: production names its own address, tests a fixed one.
    assert urls["production"] == "http://127.0.0.1:5000"
    assert urls["testing"] == "http://127.0.0.1:5000"


def test_an_environment_public_url_wins_over_the_remembered_one(tmp_path):
    remember_served_url("http://127.0.0.1:6100", tmp_path)
    urls = config_in_a_fresh_process(tmp_path, PUBLIC_URL="https://tunnel.example/")
    assert urls["development"] == "https://tunnel.example"


def test_served_url_is_one_a_browser_can_open():
    assert served_url("0.0.0.0", 8080)  # noqa: S104 == "http://127.0.0.1:8080"
    assert served_url("::1", 8080) == "http://[::1]:8080"
    assert served_url("localhost", 6100) == "http://localhost:6100"


@pytest.fixture
def instance_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "instance"
    monkeypatch.setattr(config, "INSTANCE_DIR", directory)
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    return directory


def test_demo_command_follows_the_port_and_remembers_it(runner, app, instance_dir):
    result = runner.invoke(args=["demo", "--host", "127.0.0.1", "--port", "6100"])
    assert result.exit_code == 0, result.output
    site = db.session.scalars(select(Site)).one()
    assert site.origins == ["http://127.0.0.1:6100", "http://localhost:6100"]
    remembered = json.loads((instance_dir / "serving.json").read_text())
    assert remembered == {"url": "http://127.0.0.1:6100"}
    assert config.remembered_served_url(instance_dir) == "http://127.0.0.1:6100"
    # What to do next, for someone who just typed `make run`.
    assert "flask moderator create you@example.com" in result.output
    assert "http://127.0.0.1:6100/dashboard/" in result.output


def test_the_demo_post_and_snippets_follow_the_remembered_address(tmp_path, instance_dir):
    remember_served_url("http://127.0.0.1:6100", instance_dir)
    # The app of a process started now: development's PUBLIC_URL, read as config.py does.
    public_url = config.remembered_served_url(instance_dir)
    with_port = create_app(
        TestingConfig,
        PUBLIC_URL=public_url,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'port.db'}",
    )
    with with_port.app_context():
        db.create_all()
        runner = with_port.test_cli_runner()
        assert runner.invoke(args=["demo"]).exit_code == 0
        html = with_port.test_client().get("/").text
        site_id = db.session.scalars(select(Site.id)).one()
        assert f'<script src="http://127.0.0.1:6100/embed.js" data-site="{site_id}"' in html
        created = runner.invoke(
            args=["site", "create", "--name", "Blog", "--origin", "https://blog.example"]
        )
        assert 'src="http://127.0.0.1:6100/embed.js"' in created.output
        db.session.remove()
        db.engine.dispose()


def test_a_mismatch_between_public_url_and_the_address_served_is_named():
    assert public_url_mismatch("http://127.0.0.1:5000", "127.0.0.1", 5000) is None
    assert public_url_mismatch("http://localhost:5000", "127.0.0.1", 5000) is None
    assert public_url_mismatch("http://192.0.2.7:5000", "0.0.0.0", 5000) is None  # noqa: S104
    assert "port 5000" in (public_url_mismatch("http://127.0.0.1:5000", "127.0.0.1", 6100) or "")
    assert "host" in (public_url_mismatch("http://192.0.2.7:6100", "127.0.0.1", 6100) or "")
    assert "https" in (public_url_mismatch("https://127.0.0.1:6100", "127.0.0.1", 6100) or "")
    assert public_url_mismatch("http://127.0.0.1", "127.0.0.1", 80) is None


def test_flask_run_on_another_port_than_public_urls_warns_at_start(caplog, tmp_path):
    run = click.Command("run", params=[click.Option(["--host"]), click.Option(["--port"])])
    database = f"sqlite:///{tmp_path / 'run.db'}"
    for port, warned in ((6100, True), (5000, False)):
        caplog.clear()
        with click.Context(run, info_name="run") as ctx, caplog.at_level(logging.WARNING):
            ctx.params.update(host="127.0.0.1", port=port)
            create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database)
        messages = [r.getMessage() for r in caplog.records if r.name == "app.serving"]
        assert bool(messages) is warned, messages
    assert "PUBLIC_URL is http://127.0.0.1:5000" in messages[0] if warned else True


def test_gunicorn_warns_only_for_a_loopback_public_url(caplog):
    with caplog.at_level(logging.WARNING):
        check_gunicorn("https://comments.example", [("127.0.0.1", 8000)])  # behind a proxy
        check_gunicorn("http://127.0.0.1:8000", [("127.0.0.1", 8000)])
        assert not caplog.records
        check_gunicorn("http://127.0.0.1:5000", [("127.0.0.1", 8000)])
    assert "gunicorn serves on 127.0.0.1:8000" in caplog.records[0].getMessage()


# --- mail without an SMTP server -----------------------------------------------------------

LONG_LINK = "http://127.0.0.1:6100/notifications/confirm/" + "a1B2-c3_D4" * 12


def test_without_mail_server_each_message_is_shown_readably(app, runner, caplog):
    mail.enqueue(
        "zoe@example.com", "Confirm your subscription", f"Confirm: {LONG_LINK}\n\nThanks, Zoë"
    )
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="app.services.mail"):
        result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0
    assert result.output.strip() == "Logged 1 message (MAIL_SERVER is unset, so nothing was sent)."
    [shown] = [r.getMessage() for r in caplog.records if r.name == "app.services.mail"]
    assert "To: zoe@example.com" in shown
    assert "Subject: Confirm your subscription" in shown
    # Decoded and unwrapped: the link can be copied as it is, the name reads as typed.
    assert f"Confirm: {LONG_LINK}\n" in shown and "Thanks, Zoë" in shown
    assert "=3D" not in shown and "=\n" not in shown
    assert all(row.sent_at for row in db.session.scalars(select(OutboxMessage)))


def test_send_pending_counts_what_it_logged(app, runner):
    for n in range(3):
        mail.enqueue(f"r{n}@example.com", "Hello", "Text")
    db.session.commit()
    assert runner.invoke(args=["mail", "send-pending"]).output.startswith("Logged 3 messages ")


def test_the_shown_subject_stays_one_header_line(app, caplog):
    mail.enqueue("a@example.com", "Title\r\nBcc: victim@example.com =?utf-8?q?x?=", "Text")
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="app.services.mail"):
        mail.send_pending()
    shown = caplog.records[-1].getMessage()
    assert "\nBcc:" not in shown
    assert "Subject: Title Bcc: victim@example.com = ?utf-8?q?x?=" in shown


@pytest.fixture
def smtp_inbox(app) -> Iterator[Inbox]:
    handler = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    yield handler
    controller.stop()


def test_in_development_mail_a_request_queued_goes_out_after_its_response(tmp_path, caplog):
    from tests.conftest import fresh_app

    with fresh_app(tmp_path, MAIL_SEND_AFTER_REQUEST=True) as app:
        site = make_site()
        make_moderator(site, email="mod@example.com")
        with caplog.at_level(logging.INFO, logger="app.services.mail"):
            response = post_json(app.test_client(), site, guest_payload(title="Rye"))
            assert response.status_code == 201
            response.close()
        db.session.rollback()  # end the test's read, begun before the sender's write
        [row] = db.session.scalars(select(OutboxMessage)).all()
        assert row.sent_at is not None
        shown = "\n".join(r.getMessage() for r in caplog.records)
        assert "To: mod@example.com" in shown
        assert re.search(r"http://127\.0\.0\.1:5000/dashboard/\S+", shown)


def test_outside_development_the_outbox_waits_for_its_sender(client, app, smtp_inbox):
    assert app.config["MAIL_SEND_AFTER_REQUEST"] is False
    site = make_site()
    make_moderator(site)
    post_json(client, site, guest_payload()).close()
    assert smtp_inbox.messages == []
    assert app.test_cli_runner().invoke(args=["mail", "send-pending"]).output == (
        "Sent 1 message.\n"
    )
    assert len(smtp_inbox.messages) == 1


# --- production is not a demo ------------------------------------------------------------


def test_without_the_demo_the_home_page_names_the_service(tmp_path):
    from tests.conftest import fresh_app

    with fresh_app(tmp_path, DEMO=False) as app:
        client = app.test_client()
        home = client.get("/")
        assert home.status_code == 200
        assert "Afterword" in home.text and 'href="/dashboard/"' in home.text
        assert "embed.js" not in home.text
        assert client.get("/demo/listing").status_code == 404


def test_the_demo_is_on_by_default_only_in_development():
    assert config.DevelopmentConfig.DEMO is True
    assert config.ProductionConfig.DEMO is config._flag("DEMO")


def test_the_demo_thread_gets_a_few_approved_comments_once(runner, app):
    for _ in range(2):
        assert runner.invoke(args=["demo"]).exit_code == 0
    seeded = db.session.scalars(select(Comment)).all()
    assert len(seeded) == 3
    assert {c.status for c in seeded} == {CommentStatus.APPROVED}
    assert any(c.parent_id for c in seeded)  # a reply, so the thread shows its shape
    urls = db.session.scalars(select(Thread.url).join(Comment, Comment.thread_id == Thread.id))
    assert set(urls) == {"http://127.0.0.1:5000/"}


def test_the_demo_leaves_a_thread_with_comments_alone(runner, app, client):
    site = make_site(origins=["http://127.0.0.1:5000"])
    site.name = "demo"
    db.session.commit()
    payload = guest_payload(url="http://127.0.0.1:5000/")
    assert post_json(client, site, payload, origin="http://127.0.0.1:5000").status_code == 201
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert len(db.session.scalars(select(Comment)).all()) == 1
