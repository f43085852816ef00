"""What a reader's report of a comment says: one of a few reasons, and perhaps a short note."""

from __future__ import annotations

from app.domain.errors import ValidationError
from app.domain.json_input import is_storable_text

# Stored value -> what moderators read in the queue (the widget shows its own translations).
REASONS: dict[str, str] = {
    "spam": "Spam",
    "abuse": "Abuse",
    "off_topic": "Off-topic",
    "other": "Other",
}
NOTE_MAX = 500


def checked_reason(value: object) -> str:
    if not isinstance(value, str) or value not in REASONS:
        raise ValidationError("Choose a reason: spam, abuse, off_topic or other.", field="reason")
    return value


def checked_note(value: object) -> str | None:
    """A note is optional; blank is none. Too long is refused, never cut short."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_storable_text(value):
        raise ValidationError("The note must be text.", field="note")
    note = " ".join(value.split())
    if len(note) > NOTE_MAX:
        raise ValidationError(f"The note can hold up to {NOTE_MAX} characters.", field="note")
    return note or None
