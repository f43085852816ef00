"""Every use case that writes holds SQLite's write lock for its whole transaction.

SQLite starts a transaction that reads first without the write lock; asking for it later fails
at once with "database is locked" when another writer committed in between (under WAL the busy
timeout does not apply). So each write path runs here from several threads, and the main ones
from several processes, on one database file: none may fail that way.
"""

from __future__ import annotations

import ast
import multiprocessing
import secrets
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from app import create_app
from app.database import in_write_transaction, write_transaction, writes
from app.domain.errors import FlowExpired, FlowFailed, LinkExpired, ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Moderator, Site, Subscription, Thread
from app.models.types import utcnow
from app.services import (
    authors,
    comments,
    identities,
    importing,
    likes,
    links,
    logins,
    mail,
    mail_actions,
    moderation,
    moderators,
    privacy,
    retention,
    sites,
    subscriptions,
)
from app.services.identities import Profile
from app.services.viewers import Viewer
from config import TestingConfig
from tests.factories import HOST_ORIGIN, POST_URL, make_comment, make_moderator, make_site

THREADS = 8
PROCESSES = 4
ROUNDS = 4
PASSWORD = "a long enough password"


@dataclass
class Setup:
    """Plain ids, so that workers in other threads and processes load their own rows."""

    site_id: str
    moderator_id: int
    # Per worker, per round: what that round acts on.
    comment_ids: list[list[int]] = field(default_factory=list)
    subscription_ids: list[list[int]] = field(default_factory=list)


def prepare(workers: int) -> Setup:
    site = make_site()
    moderator = make_moderator(site, email="mod@example.com")
    setup = Setup(site_id=site.id, moderator_id=moderator.id)
    thread = None
    for w in range(workers):
        setup.comment_ids.append([])
        setup.subscription_ids.append([])
        for n in range(ROUNDS):
            comment = make_comment(site, status=None, body=f"Waiting {w}.{n}")
            setup.comment_ids[w].append(comment.id)
            thread = db.session.get_one(Thread, comment.thread_id)
            subscription = Subscription(thread_id=thread.id, email=f"s{w}.{n}@example.com")
            db.session.add(subscription)
            db.session.commit()
            setup.subscription_ids[w].append(subscription.id)
    return setup


# --- The write paths: `path(setup, worker, round)`, each a use case or two ------------------


def _site(setup: Setup) -> Site:
    return sites.get_site(setup.site_id)


def _moderator(setup: Setup) -> Moderator:
    return db.session.get_one(Moderator, setup.moderator_id)


def post_comment(setup: Setup, w: int, n: int) -> None:
    guest = authors.guest(f"Reader {w}", f"r{w}@example.com", None)
    draft = comments.CommentDraft(url=POST_URL, body=f"Posted {w}.{n}", notify=True)
    comment, _ = comments.post_comment(_site(setup), guest, draft)
    owner = Viewer(comment_ids=frozenset({comment.id}))
    comments.edit_comment(_site(setup), owner, comment.id, f"Edited {w}.{n}")
    comments.delete_comment(_site(setup), owner, comment.id)


def sign_in_flow(setup: Setup, w: int, n: int) -> None:
    new = logins.create_flow(_site(setup), origin=HOST_ORIGIN, provider="dev", popup=True)
    flow_id = new.flow.id
    logins.start_flow(logins.live_flow(flow_id, "dev"))
    profile = Profile(provider="dev", provider_user_id=f"reader-{w}-{n}", name=f"Reader {w}")
    code = logins.complete_flow(logins.live_flow(flow_id, "dev"), profile)
    claimed = logins.claim_flow(
        _site(setup), flow_id, HOST_ORIGIN, secret=new.secret, code=code, signed_in_user_id=None
    )
    assert claimed.user.display_name == f"Reader {w}"


def failed_sign_in(setup: Setup, w: int, n: int) -> None:
    new = logins.create_flow(_site(setup), origin=HOST_ORIGIN, provider="dev", popup=True)
    code = logins.fail_flow(logins.live_flow(new.flow.id, "dev"), "You said no.")
    claim = {"secret": new.secret, "code": code, "signed_in_user_id": None}
    with pytest.raises(FlowFailed):
        logins.claim_flow(_site(setup), new.flow.id, HOST_ORIGIN, **claim)
    with pytest.raises(FlowExpired):  # the failure was told once, and that was kept
        logins.claim_flow(_site(setup), new.flow.id, HOST_ORIGIN, **claim)


def subscription_links(setup: Setup, w: int, n: int) -> None:
    subscription_id = setup.subscription_ids[w][n]
    confirm = links.sign(links.CONFIRM_SUBSCRIPTION, subscription_id)
    leave = links.sign(links.UNSUBSCRIBE, subscription_id)
    assert subscriptions.confirm(confirm).confirmed_at is not None
    assert subscriptions.unsubscribe(leave).unsubscribed_at is not None


def moderator_actions(setup: Setup, w: int, n: int) -> None:
    comment_id = setup.comment_ids[w][n]
    moderation.act(_moderator(setup), [comment_id], "approve")
    moderation.edit_text(_moderator(setup), comment_id, f"Tidied {w}.{n}")
    moderation.reply_as_site(_moderator(setup), comment_id, f"Thanks {w}.{n}")
    ban = moderation.ban_author(_moderator(setup), comment_id, reason="test")
    moderation.lift_ban(_moderator(setup), ban.id)
    moderation.set_status(db.session.get_one(Comment, comment_id), CommentStatus.APPROVED)
    moderators.set_notify(_moderator(setup), moderators.NOTIFY_CHOICES[n % 3])


def moderator_accounts(setup: Setup, w: int, n: int) -> None:
    moderator = moderators.create_moderator(f"m{w}.{n}@example.com", PASSWORD)
    moderators.change_password(moderator, PASSWORD, PASSWORD + "!")
    moderators.end_sessions(moderator)
    link = moderators.link_identity(moderator, Profile("dev", f"mod-{w}-{n}", f"Mod {w}"))
    moderators.unlink_identity(moderator, link.id)


def mail_link_action(setup: Setup, w: int, n: int) -> None:
    comment = db.session.get_one(Comment, setup.comment_ids[w][n])
    token = mail_actions.make_token(_moderator(setup), comment, "reject")
    link = mail_actions.read(token)
    assert mail_actions.use(link).status is CommentStatus.REJECTED


def site_settings(setup: Setup, w: int, n: int) -> None:
    sites.create_site(name=f"Site {w}.{n}", origins=[f"https://w{w}-{n}.example"])
    # Everyone adds an origin to one shared site: no addition may be lost.
    sites.ensure_site(name="Shared", origin=f"https://shared-{w}-{n}.example")
    site = _site(setup)
    sites.update_settings(
        _moderator(setup),
        site.id,
        origins=site.origins,
        moderation=site.moderation,
        close_after_days=None,
        providers=None,
    )


def privacy_requests(setup: Setup, w: int, n: int) -> None:
    email = f"r{w}@example.com"
    guest = authors.guest(f"Reader {w}", email, None)
    draft = comments.CommentDraft(url=POST_URL, body=f"To forget {w}.{n}")
    comments.post_comment(_site(setup), guest, draft)
    privacy.request_guest_link(email, _site(setup))
    privacy.erase_with_link(privacy.read_guest_token(privacy.make_guest_token(email)))
    privacy.erase_guest(email)
    reader = identities.sign_in(Profile("dev", f"erased-{w}-{n}", "Gone"))
    privacy.erase_user(reader.id)
    identities.sign_in(Profile("dev", f"asked-{w}-{n}", "Asked"))
    identities.erase_on_request(
        "dev", f"asked-{w}-{n}", signature=secrets.token_hex(8), issued_at=utcnow()
    )


def likes_and_unlikes(setup: Setup, w: int, n: int) -> None:
    # Everyone likes the same comments: no like may be lost, none counted twice.
    comment_id = setup.comment_ids[0][n]
    moderation.set_status(db.session.get_one(Comment, comment_id), CommentStatus.APPROVED)
    guest = Viewer()
    browser = f"browser-{w:02d}-{n:02d}-likes"
    likes.like(_site(setup), guest, comment_id, browser=browser, remote_addr=f"192.0.2.{w}")
    likes.unlike(_site(setup), guest, comment_id, browser=browser)
    kept = likes.like(_site(setup), guest, comment_id, browser=browser, remote_addr=f"192.0.2.{w}")
    assert kept.liked
    reader = identities.sign_in(Profile("dev", f"liker-{w}-{n}", "Liker"))
    likes.like(_site(setup), Viewer(user=reader), comment_id, browser=None, remote_addr=None)
    privacy.erase_user(reader.id)


def maintenance(setup: Setup, w: int, n: int) -> None:
    retention.prune(address_days=30, mail_days=30)
    mail.send_pending()
    logins.prune_flows()


def imports(setup: Setup, w: int, n: int) -> None:
    imported = importing.ImportedThread(
        url=f"{HOST_ORIGIN}/imported-{n}",
        comments=[
            importing.ImportedComment(
                key=f"test:{w}.{n}",
                parent_key=None,
                name="Old",
                body="From before",
                created_at=utcnow() - timedelta(days=400),
            )
        ],
    )
    importing.import_threads(_site(setup), [imported])


PATHS: dict[str, Callable[[Setup, int, int], None]] = {
    f.__name__: f
    for f in (
        post_comment,
        sign_in_flow,
        failed_sign_in,
        subscription_links,
        moderator_actions,
        moderator_accounts,
        mail_link_action,
        site_settings,
        privacy_requests,
        likes_and_unlikes,
        maintenance,
        imports,
    )
}
# What several processes drive at once, all on one database file.
MAIN_PATHS = ("post_comment", "sign_in_flow", "subscription_links", "moderator_actions")
MAIN_PATHS += ("site_settings",)


def run_rounds(path: str, setup: Setup, w: int) -> list[str]:
    """Run `path` ROUNDS times as worker `w`; the failures, as text."""
    failures = []
    for n in range(ROUNDS):
        try:
            PATHS[path](setup, w, n)
        except Exception as err:
            failures.append(f"{path} {w}.{n}: {type(err).__name__}: {err}")
            if not isinstance(err, OperationalError):
                failures.append(traceback.format_exc())
        finally:
            db.session.remove()  # each round a request of its own
    return failures


def in_threads(app: Flask, path: str, setup: Setup) -> list[str]:
    barrier = threading.Barrier(THREADS)
    failures: list[list[str]] = [[] for _ in range(THREADS)]

    def worker(w: int) -> None:
        with app.app_context():
            barrier.wait()
            failures[w] = run_rounds(path, setup, w)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [failure for failed in failures for failure in failed]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_each_write_path_from_many_threads(app: Flask, path: str) -> None:
    setup = prepare(THREADS)
    db.session.remove()
    assert in_threads(app, path, setup) == []
    if path == "likes_and_unlikes":
        counts = db.session.scalars(
            select(Comment.like_count).where(Comment.id.in_(setup.comment_ids[0]))
        ).all()
        assert counts == [THREADS] * ROUNDS
    if path == "site_settings":
        shared = db.session.scalars(select(Site).where(Site.name == "Shared")).all()
        assert len(shared) == 1
        assert len(shared[0].origins) == THREADS * ROUNDS


def process_worker(url: str, setup: Setup, w: int, barrier: Any, results: Any) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    failures = []
    with app.app_context():
        for path in MAIN_PATHS:
            barrier.wait(timeout=120)
            failures += run_rounds(path, setup, w)
    results.put((w, failures))


def test_the_main_write_paths_from_many_processes(app: Flask) -> None:
    setup = prepare(PROCESSES)
    db.session.remove()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [
        context.Process(target=process_worker, args=(url, setup, w, barrier, results))
        for w in range(PROCESSES)
    ]
    for p in workers:
        p.start()
    answers = dict(results.get(timeout=300) for _ in workers)
    for p in workers:
        p.join(timeout=30)
    assert sorted(answers) == list(range(PROCESSES))
    assert [failure for w in sorted(answers) for failure in answers[w]] == []
    posted = select(func.count()).select_from(Comment).where(Comment.body.like("Edited%"))
    assert db.session.scalar(posted) == 0  # every edited comment was then deleted
    assert db.session.scalar(select(func.count()).select_from(Comment)) > PROCESSES * ROUNDS


# --- The helper itself --------------------------------------------------------------------


def test_a_use_case_inside_another_joins_its_transaction(app: Flask) -> None:
    """Only the outermost commits: a failure after the inner one returned undoes both."""

    @writes
    def outer() -> None:
        sites.create_site(name="Joined", origins=[HOST_ORIGIN])
        assert in_write_transaction()
        raise RuntimeError("after the inner use case")

    with pytest.raises(RuntimeError):
        outer()
    assert not in_write_transaction()
    assert db.session.scalar(select(Site).where(Site.name == "Joined")) is None

    with write_transaction():
        first = sites.create_site(name="One", origins=[HOST_ORIGIN])
        second = sites.create_site(name="Two", origins=[HOST_ORIGIN])
    assert {first.name, second.name} == {"One", "Two"}


def test_an_error_rolls_back_and_commit_on_keeps_what_was_written(app: Flask) -> None:
    with pytest.raises(ValidationError):
        moderators.create_moderator("x@example.com", "short")
    assert not db.session.scalar(select(func.count()).select_from(Moderator))

    @writes(commit_on=(LookupError,))
    def keep_then_refuse() -> None:
        db.session.add(Site(name="Kept", origins=[HOST_ORIGIN]))
        raise LookupError

    with pytest.raises(LookupError):
        keep_then_refuse()
    assert db.session.scalar(select(Site.name).where(Site.name == "Kept")) == "Kept"


def test_a_replayed_one_time_link_refuses_without_ending_the_transaction(app: Flask) -> None:
    """The used link is caught under a savepoint: an enclosing write goes on."""
    site = make_site()
    make_comment(site, email="grace@example.com")
    link = privacy.read_guest_token(privacy.make_guest_token("grace@example.com"))
    privacy.erase_with_link(link)
    with write_transaction():
        sites.create_site(name="Still written", origins=[HOST_ORIGIN])
        with pytest.raises(LinkExpired):
            privacy.erase_with_link(link)
    assert db.session.scalar(select(Site).where(Site.name == "Still written")) is not None


def test_a_write_after_a_read_ends_the_read_only_where_it_must(app: Flask) -> None:
    """SQLite: the read ends, so that BEGIN IMMEDIATE can take the lock. PostgreSQL: the write
    goes on in the read's transaction, one COMMIT (and one BEGIN) fewer."""
    site = make_site()
    db.session.commit()
    commits: list[object] = []

    def note(connection: object) -> None:
        commits.append(connection)

    event.listen(db.engine, "commit", note)
    try:
        assert db.session.get(Site, site.id) is not None  # the request's read
        with write_transaction():
            sites.create_site(name="After a read", origins=[HOST_ORIGIN])
    finally:
        event.remove(db.engine, "commit", note)
    expected = 1 if db.engine.dialect.name == "postgresql" else 2
    assert len(commits) == expected
    assert db.session.scalar(select(Site.id).where(Site.name == "After a read")) is not None


def test_a_write_after_a_read_sees_what_others_committed_since(app: Flask) -> None:
    site = make_site()
    db.session.commit()
    assert db.session.get_one(Site, site.id).name != "Renamed elsewhere"
    with db.engine.begin() as other:
        other.execute(update(Site).where(Site.id == site.id).values(name="Renamed elsewhere"))
    with write_transaction():
        assert db.session.get_one(Site, site.id).name == "Renamed elsewhere"


def test_what_the_session_holds_before_a_write_is_kept_when_the_write_fails(app: Flask) -> None:
    db.session.add(Site(name="Written before", origins=[HOST_ORIGIN]))
    with pytest.raises(RuntimeError), write_transaction():
        sites.create_site(name="Undone", origins=[HOST_ORIGIN])
        raise RuntimeError("the write fails")
    names = db.session.scalars(select(Site.name)).all()
    assert "Written before" in names and "Undone" not in names


# --- No service manages transactions by hand --------------------------------------------------

SERVICES = Path(__file__).resolve().parents[1] / "app" / "services"
# The one deliberate exception: a raced idempotency key on PostgreSQL leaves the transaction
# failed, and the winner is read in a fresh one.
ALLOWED = {("comments.py", "rollback")}


def test_no_service_commits_or_rolls_back_by_itself() -> None:
    found = set()
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"commit", "rollback"}:
                found.add((str(path.relative_to(SERVICES)), node.attr))
            if isinstance(node, ast.Name | ast.Attribute) and "begin_write" in ast.unparse(node):
                found.add((str(path.relative_to(SERVICES)), "begin_write"))
    assert found == ALLOWED
