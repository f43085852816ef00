"""A reader's sign-in with a fake provider, step by step as the widget and the browser take it.

For the tests of each provider (tests/test_auth_*.py); the fakes are in tests/fakes/.
"""

from __future__ import annotations

import re

from tests.factories import HOST_ORIGIN
from tests.fakes import FakeProviderServer

PUBLIC_URL = "http://127.0.0.1:5000"


def start(client, site, provider: str, **headers: str) -> tuple[dict[str, str], str]:
    """Click the icon: create the flow, open the popup; returns (the flow, provider URL)."""
    started = client.post(
        f"/api/v1/sites/{site.id}/logins",
        json={"provider": provider},
        headers={"Origin": HOST_ORIGIN, **headers},
    ).json
    resp = client.get(f"/auth/{provider}/start?flow={started['flow']}")
    assert resp.status_code == 302
    return started, resp.headers["Location"]


def back_from_provider(client, redirect: str):
    """The browser following the provider's redirect to our callback."""
    assert redirect.startswith(PUBLIC_URL)
    return client.get(redirect.removeprefix(PUBLIC_URL))


def claim(client, site, started: dict[str, str], page, **headers: str):
    """The widget's claim, with the code the popup's last page handed it."""
    code = re.search(r'code: "([\w-]+)"', page.get_data(as_text=True)).group(1)
    return client.post(
        f"/api/v1/sites/{site.id}/logins/{started['flow']}/claim",
        json={"secret": started["secret"], "code": code},
        headers={"Origin": HOST_ORIGIN, **headers},
    )


def sign_in(client, site, server: FakeProviderServer, provider: str):
    started, authorize = start(client, site, provider)
    page = back_from_provider(client, server.consent(authorize))
    assert page.status_code == 200, page.get_data(as_text=True)
    return claim(client, site, started, page)
