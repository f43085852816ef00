"""Roles on a site: which dashboard actions need an owner, and which a moderator may take.

An `owner` runs the site (its settings, who moderates it, its export and audit log); a
`moderator` works the queue (deciding, pinning, replying, editing, banning). A moderator of
every site (`all_sites`) owns every site.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OWNER = "owner"
    MODERATOR = "moderator"


ROLES = tuple(role.value for role in Role)


class SiteAction(enum.StrEnum):
    QUEUE = "queue"  # approve, reject, pin, reply, edit, ban, lift a ban, erase an author
    SETTINGS = "settings"  # name, origins, moderation, providers, and the rest of the page
    MODERATORS = "moderators"  # invite, change a role, remove
    EXPORT = "export"
    AUDIT = "audit"


# Everything but the queue is the owner's: the queue is what a moderator is asked in for.
_MODERATOR_MAY = frozenset({SiteAction.QUEUE})


def allows(role: Role | str | None, action: SiteAction) -> bool:
    """True when someone with `role` on a site (None: no role there) may take `action`."""
    if role is None:
        return False
    if Role(role) is Role.OWNER:
        return True
    return action in _MODERATOR_MAY


def parse_role(value: object) -> Role | None:
    """The role named by `value` (a form field, a CLI option), or None for anything else."""
    if isinstance(value, str) and value in ROLES:
        return Role(value)
    return None
