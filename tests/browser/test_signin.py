"""Signing in from the widget: the popup flow against fake Twitter and Facebook, end to end.

The host blog, the service and each provider are origins of their own, as on a real blog.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import BrowserContext, Locator, Page, Route, expect

from tests.browser.helpers import SIGNED_IN, expect_signed_in, start_sign_in, wait_closed
from tests.browser.live import Live

pytestmark = pytest.mark.browser

PENDING = "Your comment is awaiting moderation."
CLOSED = "The sign-in window was closed."
GRACE_MS = 5000


@pytest.fixture(autouse=True)
def fresh_providers(social: Live) -> None:
    for fake in social.providers.values():
        fake.app.config.update(COOP=None, AUTO_APPROVE=False)
        fake.app.config["SIGNED_IN_USER"] = next(
            iter(fake.app.extensions["fake_oauth_provider"].users)
        )


@pytest.fixture(autouse=True)
def no_outside_images(context: BrowserContext) -> None:
    # The fakes' avatars live on made-up https hosts; nothing may leave the machine.
    context.route(re.compile(r"^https://"), lambda route: route.abort())


@pytest.fixture
def blog(social: Live, page: Page, request: pytest.FixtureRequest) -> tuple[str, Locator]:
    """A fresh site and post on the host blog, opened; returns its URL and the widget."""
    path = "/signin/" + re.sub(r"\W+", "-", request.node.name)
    url = social.host_page(path, social.create_site())
    page.goto(url)
    return url, page.locator("#afterword")


def expect_guest_form(widget: Locator, label: str = "Twitter") -> None:
    for field in ("Email", "Name", "Website"):
        expect(widget.get_by_label(field, exact=True)).to_be_visible()
    expect(widget.get_by_role("button", name=f"Log in with {label}")).to_be_visible()
    expect(widget.get_by_text("You are commenting using")).to_have_count(0)
    expect(widget.get_by_role("status")).to_be_hidden()


@pytest.mark.parametrize(
    ("label", "allow", "name"),
    [
        ("Twitter", "Authorize app", "Ada Lovelace"),
        ("Facebook", "Continue as Grace Hopper", "Grace Hopper"),
    ],
)
def test_reader_signs_in_in_a_popup_posts_and_logs_out(
    page: Page, blog: tuple[str, Locator], label: str, allow: str, name: str
) -> None:
    _, widget = blog
    popup = start_sign_in(page, widget, label)
    popup.get_by_role("button", name=allow).click()
    wait_closed(popup)
    expect_signed_in(widget, label, name)
    expect(widget.locator("[aria-live=polite]")).to_have_text("Signed in")

    widget.get_by_label("Comment", exact=True).fill("Signed in, and the loaf is still warm.")
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c", has_text="Signed in, and the loaf is still warm.")
    expect(mine).to_contain_text(PENDING)
    expect(mine.locator(".who")).to_have_text(name)

    page.reload()
    expect_signed_in(widget, label, name)
    expect(mine).to_contain_text(PENDING)

    widget.get_by_role("button", name="Log Out").click()
    expect_guest_form(widget, label)
    expect(widget.get_by_label("Email", exact=True)).to_be_focused()
    expect(mine).to_have_count(0)  # a pending comment shows to its signed-in author only
    page.reload()
    expect_guest_form(widget, label)
    expect(mine).to_have_count(0)


def test_denied_consent_brings_the_form_back_with_the_reason(
    page: Page, blog: tuple[str, Locator]
) -> None:
    _, widget = blog
    widget.get_by_label("Email", exact=True).fill("noor@example.com")
    widget.get_by_label("Comment", exact=True).fill("Typed before trying to sign in.")
    popup = start_sign_in(page, widget, "Twitter")
    popup.get_by_role("button", name="Cancel").click()
    wait_closed(popup)
    expect(widget.get_by_role("alert").filter(has_text="You cancelled signing in.")).to_be_visible()
    expect_guest_form(widget)
    expect(widget.get_by_label("Email", exact=True)).to_have_value("noor@example.com")
    expect(widget.get_by_label("Comment", exact=True)).to_have_value(
        "Typed before trying to sign in."
    )


def test_cancel_in_the_widget_stops_the_sign_in_and_closes_the_popup(
    page: Page, blog: tuple[str, Locator]
) -> None:
    _, widget = blog
    popup = start_sign_in(page, widget, "Facebook")
    widget.get_by_role("button", name="Cancel").click()
    wait_closed(popup)
    expect_guest_form(widget, "Facebook")
    expect(widget.get_by_role("button", name="Log in with Facebook")).to_be_focused()
    expect(widget.get_by_role("alert").filter(has_text=re.compile("."))).to_have_count(0)


def test_popup_cut_off_by_the_providers_opener_policy_still_signs_in(
    social: Live, page: Page, blog: tuple[str, Locator]
) -> None:
    social.providers["twitter"].app.config["COOP"] = "same-origin"
    _, widget = blog
    popup = start_sign_in(page, widget, "Twitter")
    popup.get_by_role("button", name="Authorize app").click()
    expect_signed_in(widget, "Twitter", "Ada Lovelace")
    # Cut off from its opener, the last page handed the code over through the blog's own page,
    # whose fragment it leaves nowhere, and closed.
    wait_closed(popup)


def test_authorizing_after_the_window_seemed_closed_still_signs_in(
    social: Live, page: Page, context: BrowserContext, blog: tuple[str, Locator]
) -> None:
    """The reader lingers on a provider page that cut its opener off: the widget gives up
    waiting in view, but keeps claiming quietly and signs the reader in when they go on."""
    social.providers["twitter"].app.config["COOP"] = "same-origin"
    url, widget = blog
    context.clock.install()
    page.goto(url)  # the clock is fake from the page's first script on
    popup = start_sign_in(page, widget, "Twitter")
    allow = popup.get_by_role("button", name="Authorize app")
    expect(allow).to_be_visible()
    closed = widget.get_by_role("alert").filter(has_text=CLOSED)
    advance_until(page, closed)
    expect_guest_form(widget)

    allow.click()
    advance_until(page, widget.get_by_text(SIGNED_IN.format("Twitter")))
    expect_signed_in(widget, "Twitter", "Ada Lovelace")
    expect(closed).to_have_count(0)


def advance_until(page: Page, target: Locator) -> None:
    """Jump the page's clock one poll at a time; each claim is answered in real time between."""
    for _ in range(15):
        page.clock.fast_forward(1500)
        try:
            expect(target).to_be_visible(timeout=200)
            return
        except AssertionError:
            continue
    expect(target).to_be_visible(timeout=1)


def test_popup_closed_by_the_reader_brings_the_form_back_after_a_grace_period(
    page: Page, context: BrowserContext, blog: tuple[str, Locator]
) -> None:
    url, widget = blog
    context.clock.install()
    page.goto(url)
    widget.get_by_label("Comment", exact=True).fill("Still here after the window went.")
    popup = start_sign_in(page, widget, "Twitter")
    expect(popup.get_by_role("button", name="Authorize app")).to_be_visible()
    closed_at = page.evaluate("Date.now()")
    popup.close()
    closed = widget.get_by_role("alert").filter(has_text=CLOSED)
    advance_until(page, closed)
    assert page.evaluate("Date.now()") - closed_at >= GRACE_MS
    expect_guest_form(widget)
    expect(widget.get_by_label("Comment", exact=True)).to_have_value(
        "Still here after the window went."
    )


def test_blocked_popup_signs_in_in_the_page_itself(social: Live, page: Page) -> None:
    # The query string must survive the round trip, and the fragment must not linger.
    url = social.host_page("/signin/blocked", social.create_site()) + "?from=list"
    page.add_init_script("window.open = () => null")
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Comment", exact=True).fill("Written before a trip to Twitter.")
    widget.get_by_role("button", name="Log in with Twitter").click()
    expect(page).to_have_url(re.compile("^" + re.escape(social.providers["twitter"].base_url)))
    page.get_by_role("button", name="Authorize app").click()

    expect_signed_in(widget, "Twitter", "Ada Lovelace")
    expect(page).to_have_url(url)  # the afterword-login fragment is gone
    expect(widget.get_by_label("Comment", exact=True)).to_have_value(
        "Written before a trip to Twitter."
    )
    page.reload()
    expect_signed_in(widget, "Twitter", "Ada Lovelace")


def test_change_offers_the_providers_again(page: Page, blog: tuple[str, Locator]) -> None:
    _, widget = blog
    popup = start_sign_in(page, widget, "Twitter")
    popup.get_by_role("button", name="Authorize app").click()
    expect_signed_in(widget, "Twitter", "Ada Lovelace")

    widget.get_by_role("button", name="Change").click()
    expect_guest_form(widget)
    expect(widget.get_by_role("button", name="Log in with Twitter")).to_be_focused()
    popup = start_sign_in(page, widget, "Facebook")
    popup.get_by_role("button", name="Continue as Grace Hopper").click()
    expect_signed_in(widget, "Facebook", "Grace Hopper")


class Attacker:
    """Someone with a script of their own: any Origin header, their own cookie jar."""

    def __init__(self, social: Live, site: str) -> None:
        self.social, self.site, self.http = social, site, requests.Session()

    def new_flow(self, **payload: object) -> dict[str, str]:
        resp = self.http.post(
            f"{self.social.url}/api/v1/sites/{self.site}/logins",
            json={"provider": "twitter", **payload},
            headers={"Origin": self.social.host.origin},
            timeout=5,
        )
        assert resp.status_code == 201, resp.text
        return resp.json()

    def claim(self, flow: dict[str, str], **body: str) -> requests.Response:
        return self.http.post(
            f"{self.social.url}/api/v1/sites/{self.site}/logins/{flow['flow']}/claim",
            json={"secret": flow["secret"], **body},
            headers={"Origin": self.social.host.origin},
            timeout=5,
        )


def claims_seen(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.endswith("/claim") else None)
    return seen


def test_a_sign_in_finished_in_someone_elses_browser_gives_its_maker_nothing(
    social: Live, page: Page
) -> None:
    """The attacker makes a flow with the blog's Origin and gets a reader to open its
    start_url; the reader authorizes; the attacker, who knows the flow id and its secret,
    cannot claim the reader's token, and the reader's browser is signed in as nobody."""
    site = social.create_site()
    url = social.host_page("/signin/stolen", site)
    attacker = Attacker(social, site)
    flow = attacker.new_flow(popup=True, return_url=url)
    seen = claims_seen(page)

    page.goto(flow["start_url"])  # a link in a mail, in a tab of the reader's own
    page.get_by_role("button", name="Authorize app").click()
    expect(page).to_have_url(url)  # the code went to the blog's page, not to the attacker
    widget = page.locator("#afterword")
    expect_guest_form(widget)

    for attempt in (attacker.claim(flow), attacker.claim(flow, code="guessed")):
        assert attempt.status_code in (400, 404) and "token" not in attempt.json()
    assert seen == []  # nobody in the reader's browser claimed it either


def test_a_planted_sign_in_link_leaves_the_reader_signed_out(social: Live, page: Page) -> None:
    """Login CSRF: the attacker finishes a full-page sign-in of their own and sends the page
    it came back to, code and all; whoever opens it stays signed out."""
    site = social.create_site()
    url = social.host_page("/signin/planted", site)
    attacker = Attacker(social, site)
    flow = attacker.new_flow(popup=False, return_url=url)
    authorize = attacker.http.get(flow["start_url"], allow_redirects=False, timeout=5)
    back = social.providers["twitter"].consent(authorize.headers["Location"])
    returned = attacker.http.get(back, allow_redirects=False, timeout=5)
    planted = returned.headers["Location"]
    assert planted.startswith(f"{url}#afterword-login={flow['flow']}.")
    seen = claims_seen(page)

    page.goto(planted.replace("#", "#comments&"))
    widget = page.locator("#afterword")
    expect_guest_form(widget)
    expect(page).to_have_url(f"{url}#comments")  # the code is gone, the rest of the fragment kept
    assert seen == []
    page.reload()
    expect_guest_form(widget)


def test_a_token_the_service_refuses_is_forgotten_quietly(social: Live, page: Page) -> None:
    site = social.create_site()
    url = social.host_page("/signin/stale", site)
    key = f"afterword:{site}:auth:{social.url}"
    page.add_init_script(
        f"if (!sessionStorage.seeded) {{ sessionStorage.seeded = 1;"
        f" localStorage.setItem({key!r}, JSON.stringify('stale-token')); }}"
    )
    page.goto(url)
    widget = page.locator("#afterword")
    expect_guest_form(widget)
    expect(widget.get_by_role("alert").filter(has_text=re.compile("."))).to_have_count(0)
    assert page.evaluate(f"localStorage.getItem({key!r})") is None


def test_signed_out_while_writing_keeps_the_comment_and_says_so(
    social: Live, page: Page, blog: tuple[str, Locator]
) -> None:
    _, widget = blog
    popup = start_sign_in(page, widget, "Twitter")
    popup.get_by_role("button", name="Authorize app").click()
    expect_signed_in(widget, "Twitter", "Ada Lovelace")

    def expired(route: Route) -> None:
        route.fulfill(
            status=401,
            headers={"Access-Control-Allow-Origin": social.host.origin},
            json={
                "error": {
                    "code": "session_expired",
                    "message": "You were signed out. Please log in again.",
                }
            },
        )

    page.route(f"{social.url}/api/v1/sites/*/comments", expired)
    widget.get_by_label("Comment", exact=True).fill("Posted a moment too late.")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.get_by_role("alert").filter(has_text="You were signed out.")).to_be_visible()
    expect_guest_form(widget)
    expect(widget.get_by_label("Comment", exact=True)).to_have_value("Posted a moment too late.")


def test_a_signed_in_reader_links_a_second_provider(
    social: Live, page: Page, blog: tuple[str, Locator]
) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Identity
    from tests.fakes.oauth_provider import FakeUser

    # A Facebook account nobody used yet: an account someone already uses is never merged.
    facebook = social.providers["facebook"]
    newcomer = "10150000000000777"
    facebook.app.extensions["fake_oauth_provider"].users[newcomer] = FakeUser(
        newcomer, {"name": "Linus Link"}
    )
    facebook.app.config["SIGNED_IN_USER"] = newcomer

    _, widget = blog
    popup = start_sign_in(page, widget, "Twitter")
    popup.get_by_role("button", name="Authorize app").click()
    wait_closed(popup)
    expect_signed_in(widget, "Twitter", "Ada Lovelace")

    with page.expect_popup() as linking:
        widget.get_by_role("button", name="Link Facebook").click()
    expect(widget.get_by_role("status")).to_have_text("Connecting to Facebook…")
    linking.value.get_by_role("button", name="Continue as Linus Link").click()
    wait_closed(linking.value)
    expect_signed_in(widget, "Facebook", "Linus Link")
    expect(widget.get_by_role("button", name="Link Twitter")).to_be_visible()

    with social.app.app_context():
        owners = db.session.scalars(
            select(Identity.user_id).where(Identity.provider_user_id.in_(["2244994945", newcomer]))
        ).all()
        assert len(owners) == 2 and len(set(owners)) == 1  # one reader, two accounts


def test_a_signed_in_reader_gives_an_email_only_to_be_notified(
    social: Live, page: Page, blog: tuple[str, Locator]
) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Subscription

    _, widget = blog
    popup = start_sign_in(page, widget, "Twitter")
    popup.get_by_role("button", name="Authorize app").click()
    wait_closed(popup)
    expect_signed_in(widget, "Twitter", "Ada Lovelace")
    email = widget.get_by_label("Email for notifications")
    expect(email).to_be_hidden()
    widget.get_by_label("Notify me of new comments via email.").check()
    expect(email).to_be_visible()
    widget.get_by_label("Comment", exact=True).fill("Tell me when someone answers.")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.get_by_role("alert")).to_contain_text("Give an email address")
    email.fill("ada@example.com")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.locator("li.c", has_text="Tell me when someone answers.")).to_contain_text(
        PENDING
    )
    with social.app.app_context():
        emails = db.session.scalars(select(Subscription.email)).all()
        assert "ada@example.com" in emails
