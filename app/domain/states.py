"""The states a comment and a site's moderation can be in."""

import enum


class CommentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"
    DELETED = "deleted"


class ModerationMode(enum.StrEnum):
    ALL = "all"  # every comment waits for a moderator
    FIRST_TIME = "first-time"  # signed-in readers with an approved comment skip the queue
    NONE = "none"  # published at once
