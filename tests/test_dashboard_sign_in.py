"""Attacks on the dashboard's sign-in: guesses sent in parallel, copied session cookies.

With REDIS_URL set (as in CI) the lockout is counted in Redis, otherwise in-process.
"""

from __future__ import annotations

import threading

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.extensions import db
from tests.factories import MODERATOR_PASSWORD, make_moderator
from tests.helpers import csrf_from, fresh_app

GUESSERS = 24
LIMIT = 5  # LOGIN_RATE_LIMIT's default: "5 per 15 minutes"


def post_together(app: Flask, passwords: list[str], email: str) -> list[int]:
    """Each password from its own browser, all released at one moment; the statuses."""
    clients = [app.test_client() for _ in passwords]
    tokens = [csrf_from(c.get("/dashboard/login").text) for c in clients]
    db.session.remove()
    barrier = threading.Barrier(len(passwords))
    statuses: list[int] = [0] * len(passwords)

    def guess(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                statuses[i] = (
                    clients[i]
                    .post(
                        "/dashboard/login",
                        data={"email": email, "password": passwords[i], "csrf_token": tokens[i]},
                    )
                    .status_code
                )
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(len(passwords))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return statuses


def sign_in(client: FlaskClient, email: str, password: str = MODERATOR_PASSWORD) -> TestResponse:
    token = csrf_from(client.get("/dashboard/login").text)
    return client.post(
        "/dashboard/login", data={"email": email, "password": password, "csrf_token": token}
    )


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(app, site):
    make_moderator(site, email="mod@example.com")
    statuses = post_together(app, [f"guess {i}" for i in range(GUESSERS)], "mod@example.com")
    checked = [s for s in statuses if s != 429]
    assert checked == [200] * LIMIT, statuses
    locked = sign_in(app.test_client(), "mod@example.com")
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "Too many sign-in attempts." in locked.text


def test_the_right_password_among_parallel_guesses_wins_only_within_the_limit(app, site):
    make_moderator(site, email="mod@example.com")
    passwords = [f"guess {i}" for i in range(GUESSERS - 1)] + [MODERATOR_PASSWORD]
    statuses = post_together(app, passwords, "mod@example.com")
    assert len([s for s in statuses if s != 429]) <= LIMIT, statuses
    if statuses[-1] == 429:  # the right one came too late: it is refused like the guesses
        assert sign_in(app.test_client(), "mod@example.com").status_code == 429


def test_guesses_spread_over_emails_are_counted_per_address(app, site):
    for i in range(3):
        make_moderator(site, email=f"mod{i}@example.com")
    client = app.test_client()
    answers = [sign_in(client, f"mod{i % 3}@example.com", "guess").status_code for i in range(7)]
    assert answers == [200] * LIMIT + [429, 429]


def test_successful_sign_ins_do_not_count_towards_the_lockout(app, site):
    make_moderator(site, email="mod@example.com")
    for _ in range(LIMIT + 2):
        client = app.test_client()
        assert sign_in(client, "mod@example.com").status_code == 302
    for _ in range(LIMIT):
        assert sign_in(app.test_client(), "mod@example.com", "guess").status_code == 200
    assert sign_in(app.test_client(), "mod@example.com").status_code == 429


VICTIM, THIEF, PROXY = "203.0.113.7", "198.51.100.9", "10.0.0.2"
NEW_PASSWORD = "a new and longer passphrase"


def browser(app: Flask, address: str = "127.0.0.1") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def copy_session(source: FlaskClient, target: FlaskClient) -> FlaskClient:
    """What someone who read the cookie off a shared machine or a backup can do."""
    target.set_cookie("session", source.get_cookie("session").value)
    return target


def token_of(client: FlaskClient, path: str = "/dashboard/") -> str:
    return csrf_from(client.get(path).text)


def change_password(client: FlaskClient, current: str, new: str = NEW_PASSWORD) -> TestResponse:
    return client.post(
        "/dashboard/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm": new,
            "csrf_token": token_of(client, "/dashboard/account"),
        },
    )


def signed_in(client: FlaskClient) -> bool:
    answer = client.get("/dashboard/")
    if answer.status_code == 302:
        assert "/dashboard/login" in answer.headers["Location"]
        return False
    assert answer.status_code == 200
    return True


def test_signing_out_ends_the_session_wherever_its_cookie_was_copied(app, site):
    make_moderator(site, email="mod@example.com")
    owner = browser(app)
    assert sign_in(owner, "mod@example.com").status_code == 302
    copy = copy_session(owner, browser(app))
    assert signed_in(copy)
    owner.post("/dashboard/logout", data={"csrf_token": token_of(owner)})
    assert not signed_in(owner)
    assert not signed_in(copy)
    assert sign_in(owner, "mod@example.com").status_code == 302  # signing in again works
    assert signed_in(owner) and not signed_in(copy)


def test_a_session_made_before_session_versions_existed_is_ended(app, site):
    moderator_id = make_moderator(site, email="mod@example.com").id
    client = browser(app)
    sign_in(client, "mod@example.com")
    with client.session_transaction() as session:
        session["_user_id"] = str(moderator_id)  # what such a cookie holds
    assert not signed_in(client)


def test_a_new_password_ends_other_sessions_and_keeps_this_one(app, site):
    make_moderator(site, email="mod@example.com")
    here, elsewhere = browser(app), browser(app)
    sign_in(here, "mod@example.com")
    sign_in(elsewhere, "mod@example.com")
    copy = copy_session(here, browser(app))
    answer = change_password(here, MODERATOR_PASSWORD)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/dashboard/account")
    assert "Password changed" in here.get("/dashboard/account").text
    assert signed_in(here)
    assert not signed_in(elsewhere) and not signed_in(copy)
    assert sign_in(browser(app), "mod@example.com", NEW_PASSWORD).status_code == 302
    assert sign_in(browser(app), "mod@example.com").status_code == 200  # the old one is gone


def test_a_new_password_needs_the_current_one(app, site):
    make_moderator(site, email="mod@example.com")
    here, elsewhere = browser(app), browser(app)
    sign_in(here, "mod@example.com")
    sign_in(elsewhere, "mod@example.com")
    answer = change_password(here, "not my password")
    assert answer.status_code == 200 and "That is not your current password." in answer.text
    differing = here.post(
        "/dashboard/account/password",
        data={
            "current_password": MODERATOR_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD + "!",
            "csrf_token": token_of(here, "/dashboard/account"),
        },
    )
    assert differing.status_code == 200 and "The two do not match." in differing.text
    too_short = change_password(here, MODERATOR_PASSWORD, "short")
    assert too_short.status_code == 200 and "at least 10 characters" in too_short.text
    assert signed_in(here) and signed_in(elsewhere)
    assert sign_in(browser(app), "mod@example.com").status_code == 302


def test_guessing_the_current_password_from_a_stolen_session_is_limited(app, site):
    make_moderator(site, email="mod@example.com")
    thief = browser(app)
    sign_in(thief, "mod@example.com")
    for i in range(LIMIT):
        assert change_password(thief, f"guess {i}").status_code == 200
    locked = change_password(thief, MODERATOR_PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many wrong passwords." in locked.text
    assert sign_in(browser(app), "mod@example.com").status_code == 302  # unchanged


def test_a_password_reset_from_the_command_line_ends_every_session(app, site, runner):
    make_moderator(site, email="mod@example.com")
    owner = browser(app)
    sign_in(owner, "mod@example.com")
    result = runner.invoke(
        args=["moderator", "set-password", "MOD@example.com"],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert not signed_in(owner)
    assert sign_in(owner, "mod@example.com", NEW_PASSWORD).status_code == 302
    unknown = runner.invoke(args=["moderator", "set-password", "nobody@example.com"], input="x\n")
    assert unknown.exit_code != 0 and "No moderator" in unknown.output


def test_a_copied_cookie_does_not_pass_for_its_owners_address_by_claiming_it(app, site):
    """Session protection ties a session to its address; with TRUSTED_PROXIES=0 (the default)
    an X-Forwarded-For header is anyone's to write and must not stand in for the address."""
    make_moderator(site, email="mod@example.com")
    owner = browser(app, VICTIM)
    sign_in(owner, "mod@example.com")
    thief = copy_session(owner, browser(app, THIEF))
    thief.environ_base["HTTP_X_FORWARDED_FOR"] = VICTIM
    assert not signed_in(thief)
    assert signed_in(owner)


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_a_session_is_tied_to(tmp_path):
    with fresh_app(tmp_path, TRUSTED_PROXIES=1) as app:
        make_moderator(email="mod@example.com")
        owner = browser(app, PROXY)
        owner.environ_base["HTTP_X_FORWARDED_FOR"] = VICTIM
        sign_in(owner, "mod@example.com")
        assert signed_in(owner)
        thief = copy_session(owner, browser(app, PROXY))
        thief.environ_base["HTTP_X_FORWARDED_FOR"] = THIEF
        assert not signed_in(thief)
        # The proxy appends the address it saw: what the thief wrote before it is ignored.
        liar = copy_session(owner, browser(app, PROXY))
        liar.environ_base["HTTP_X_FORWARDED_FOR"] = f"{VICTIM}, {THIEF}"
        assert not signed_in(liar)
