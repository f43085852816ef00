"""A number handed out once is never handed out again.

Tokens name rows by their id: a reader's bearer token names the account, an edit token the
comment, a mailed link the subscription or the address. Were an id given a second time to a
new row after the first row was deleted (SQLite does that for the highest ids of a table
without AUTOINCREMENT), an old token would open somebody else's account or comment.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Comment, Site, User
from app.services import sites
from tests.factories import HOST_ORIGIN, POST_URL, guest_payload, make_site, post_json
from tests.helpers import signed_in_token


@pytest.fixture
def app(app: Flask) -> Flask:
    app.config["DEV_LOGIN"] = True
    return app


def _as(token: str) -> dict[str, str]:
    return {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"}


def test_an_erased_readers_token_never_opens_the_next_readers_account(
    client: FlaskClient, site: Site
) -> None:
    mallory = signed_in_token(client, site, "Mallory")
    erased = client.delete(
        f"/api/v1/sites/{site.id}/me", json={"confirm": True}, headers=_as(mallory)
    )
    assert erased.status_code == 200
    ada = signed_in_token(client, site, "Ada")
    assert db.session.scalars(select(User.display_name)).all() == ["Ada"]

    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json=guest_payload(body="Written with an old token"),
        headers=_as(mallory),
    )

    assert posted.status_code == 401
    assert posted.json["error"]["code"] == "session_expired"
    read = client.get(f"/api/v1/sites/{site.id}/thread?url={POST_URL}", headers=_as(mallory))
    assert read.status_code == 200 and read.json["viewer"] is None
    # Ada's own token still works: she is not signed out by somebody else's erasure.
    mine = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json=guest_payload(body="Written by Ada"),
        headers=_as(ada),
    )
    assert mine.status_code == 201
    as_ada = client.get(f"/api/v1/sites/{site.id}/thread?url={POST_URL}", headers=_as(ada))
    assert as_ada.json["viewer"]["name"] == "Ada"


def test_an_edit_token_from_a_deleted_site_never_edits_a_newer_comment(
    client: FlaskClient, site: Site
) -> None:
    old = post_json(client, site, guest_payload(body="On a site about to go"))
    assert old.status_code == 201
    old_id, old_token = old.json["comment"]["id"], old.json["edit_token"]
    sites.delete_site(site.id)
    db.session.commit()
    other = make_site()
    newer = post_json(client, other, guest_payload(name="Ada", body="Ada's comment"))
    assert newer.status_code == 201

    edited = post_json(
        client,
        other,
        {"body": "Not Ada's words", "edit_token": old_token},
        path=f"comments/{newer.json['comment']['id']}",
        method="PATCH",
    )

    assert newer.json["comment"]["id"] != old_id
    assert edited.status_code == 403
    stored = db.session.get(Comment, newer.json["comment"]["id"])
    assert stored is not None and stored.body == "Ada's comment"
