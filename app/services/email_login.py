"""Sign-in by a link mailed to the reader's address: the `email` provider.

The widget creates the flow as for any provider (app/services/logins.py), naming the
address; instead of a popup, a link to a page of ours is mailed there. Opening the link
changes nothing, since mail scanners fetch every link they see; the page's button completes
the flow and takes the browser back to the page it started from with the code, as a
full-page sign-in does. Claiming still takes the flow's secret, which only the browser that
asked holds (the widget keeps it in localStorage, since the link opens a new tab): a link
forwarded to someone else signs nobody in there, and is used up.
"""

from __future__ import annotations

from flask import render_template

from app.database import writes
from app.domain import policy
from app.domain.errors import LinkInvalid, ValidationError
from app.models import LoginFlow, Site
from app.services import links, logins, mail
from app.services.identities import Profile
from app.services.logins import MAILED_FLOW_LIFETIME, NewFlow

PROVIDER = "email"
SIGN_IN_LINK = links.Purpose(
    "afterword.email-sign-in",
    int(MAILED_FLOW_LIFETIME.total_seconds()),
    "This sign-in link has expired. Ask for a new one from the comments.",
)


def address_of(value: object) -> str:
    """The address as comments store it; raises ValidationError on the `address` field."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Please give your email address.", field="address")
    try:
        return policy.clean_email(value)
    except ValidationError as err:
        raise ValidationError(str(err), field="address") from None


@writes
def request_link(
    site: Site,
    *,
    origin: str,
    address: object,
    return_url: object,
    link_user_id: int | None,
) -> NewFlow:
    """A flow for the address, and the mail with its link (rate-limited by the caller)."""
    email = address_of(address)
    if return_url is None:
        raise ValidationError(
            "A sign-in by email needs the page to come back to.", field="return_url"
        )
    local = email.rpartition("@")[0]
    created = logins.create_flow(
        site,
        origin=origin,
        provider=PROVIDER,
        popup=False,
        return_url=return_url,
        link_user_id=link_user_id,
        pending=Profile(provider=PROVIDER, provider_user_id=email, name=local[:100] or email),
    )
    token = links.sign(SIGN_IN_LINK, created.flow.id)
    context = {
        "site": site,
        "sign_in_url": links.public_url("auth.email_sign_in", token=token),
        "minutes": int(MAILED_FLOW_LIFETIME.total_seconds() // 60),
    }
    mail.enqueue(
        email,
        f"Your link to sign in on {site.name}",
        render_template("mail/sign_in.txt", **context),
        render_template("mail/sign_in.html", **context),
    )
    return created


def flow_of(token: str) -> LoginFlow:
    """The live flow a mailed link is for; raises LinkExpired, LinkInvalid or FlowExpired."""
    flow_id = links.load(SIGN_IN_LINK, token)
    if not isinstance(flow_id, str):
        raise LinkInvalid("This link is not valid.")
    return logins.live_flow(flow_id, PROVIDER)


@writes
def complete(token: str) -> tuple[LoginFlow, str]:
    """The link's button was pressed: the flow is finished, once; returns it and its code."""
    flow = flow_of(token)
    logins.start_flow(flow)  # of two presses at once, one finds it started
    assert flow.profile is not None  # created with the address it signs in
    code = logins.complete_flow(flow, Profile(**flow.profile))
    return flow, code
