"""People's own data: getting a copy of it and having it erased.

A signed-in reader acts with their bearer token; a guest proves they own an address through a
link mailed to it (`guest_links`); a moderator erases an author's data on the sites they moderate.
`records` reads what is stored about a person, `erasure` removes it.
"""

from app.services.privacy.erasure import (
    ERASED_LABEL,
    erase_author,
    erase_comments,
    erase_guest,
    erase_user,
    forget_user,
)
from app.services.privacy.guest_links import (
    LINK_SECONDS,
    GuestLink,
    erase_with_link,
    link_used,
    make_guest_token,
    read_guest_token,
    request_guest_link,
)
from app.services.privacy.records import (
    comments_of_email,
    comments_of_user,
    counts_per_site,
    email_forms,
    export_data,
    notification_addresses,
    reply_notifications,
    subscriptions_of_email,
)

__all__ = [
    "ERASED_LABEL",
    "LINK_SECONDS",
    "GuestLink",
    "comments_of_email",
    "comments_of_user",
    "counts_per_site",
    "email_forms",
    "erase_author",
    "erase_comments",
    "erase_guest",
    "erase_user",
    "erase_with_link",
    "export_data",
    "forget_user",
    "link_used",
    "make_guest_token",
    "notification_addresses",
    "read_guest_token",
    "reply_notifications",
    "request_guest_link",
    "subscriptions_of_email",
]
