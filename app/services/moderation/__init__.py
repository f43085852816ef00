"""Moderation: what moderators may see and do, by concern.

- `permissions`: which sites a moderator acts on, and in which role;
- `commands`: approving, rejecting, editing, replying as the site;
- `bans`: keeping an author out;
- `queue`: reading the queue with each author's record;
- `audit`: the log every action writes in its own transaction.

Callers use the names re-exported here; a site's settings live in `app.services.sites`.
"""

from app.services.moderation.audit import (
    audit_entry,
    audit_for_comment,
    audit_for_site,
    record_action,
)
from app.services.moderation.bans import BanKind, active_bans, ban_author, ban_on, lift_ban
from app.services.moderation.commands import (
    ACTIONS,
    act,
    apply_action,
    edit_text,
    pin,
    reply_as_site,
    set_status,
    undo,
)
from app.services.moderation.permissions import (
    can_add_sites,
    can_moderate,
    can_own,
    may,
    moderated_comment,
    require_owner,
    role_on,
    roles_of,
    site_ids_of,
    sites_of,
)
from app.services.moderation.queue import (
    COUNT_CAP,
    HISTORY_CAP,
    QUEUE_MAX_PAGE,
    QUEUE_PAGE_SIZE,
    REPORTED,
    AuthorHistory,
    QueuePage,
    author_key,
    author_label,
    comment_for_review,
    count_label,
    history_for,
    history_label,
    history_of,
    pending_count,
    pending_total,
    queue,
    queue_counts,
    report_reasons,
)

__all__ = [
    "ACTIONS",
    "COUNT_CAP",
    "HISTORY_CAP",
    "QUEUE_MAX_PAGE",
    "QUEUE_PAGE_SIZE",
    "REPORTED",
    "AuthorHistory",
    "BanKind",
    "QueuePage",
    "act",
    "active_bans",
    "apply_action",
    "audit_entry",
    "audit_for_comment",
    "audit_for_site",
    "author_key",
    "author_label",
    "ban_author",
    "ban_on",
    "can_add_sites",
    "can_moderate",
    "can_own",
    "comment_for_review",
    "count_label",
    "edit_text",
    "history_for",
    "history_label",
    "history_of",
    "lift_ban",
    "may",
    "moderated_comment",
    "pending_count",
    "pending_total",
    "pin",
    "queue",
    "queue_counts",
    "record_action",
    "reply_as_site",
    "report_reasons",
    "require_owner",
    "role_on",
    "roles_of",
    "set_status",
    "site_ids_of",
    "sites_of",
    "undo",
]
