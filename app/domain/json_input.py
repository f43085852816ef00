"""JSON from outside (a request body, an export file), read so that nothing in it breaks
later: nesting that would exhaust the stack, text no database can store, numbers no column
holds. Refused here, with the field it was found in, instead of failing deep in a query."""

from __future__ import annotations

import json
from typing import Any

from app.domain.errors import InvalidInput, InvalidJson

# Real documents nest a few levels (an export: threads, comments, author); the stack gives
# out near a thousand, at a depth that depends on how deep the caller already is.
MAX_DEPTH = 32
# BIGINT, the widest integer column on PostgreSQL and SQLite: anything else overflows there.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
TOO_DEEP = f"The JSON is nested more than {MAX_DEPTH} levels deep."
UNSTORABLE_TEXT = "This text holds a character that cannot be stored (a NUL or a lone surrogate)."
OUT_OF_RANGE = f"This number is out of range ({INT_MIN} to {INT_MAX})."


def parse_json(data: str | bytes) -> Any:
    """The value `data` holds; raises InvalidJson or InvalidInput (with `field`, a path such as
    `threads[0].comments[2].body`) for what could not be used safely."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidJson(TOO_DEEP) from None
    except json.JSONDecodeError as err:
        raise InvalidJson(
            f"Not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})."
        ) from None
    except UnicodeDecodeError:
        raise InvalidJson("The JSON is not UTF-8 text.") from None
    except ValueError:  # NaN or Infinity; an integer of more than 4,300 digits
        raise InvalidJson("Not valid JSON: a number is NaN, Infinity or far too long.") from None
    check_storable(value)
    return value


def is_storable_text(text: str) -> bool:
    """Whether a database can hold `text`: PostgreSQL refuses NUL, and a lone surrogate
    (which JSON's \\ud800 escapes can make) has no UTF-8 encoding at all."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_storable(value: Any) -> None:
    """Walk a parsed value (without recursion: it may be deep) and refuse what cannot be
    stored. Only containers are queued, so a long list of numbers costs one loop."""
    if not isinstance(value, dict | list):
        _check_scalar(value, ())
        return
    pending: list[tuple[dict[str, Any] | list[Any], tuple[str | int, ...]]] = [(value, ())]
    while pending:
        container, path = pending.pop()
        if len(path) >= MAX_DEPTH:
            raise InvalidJson(TOO_DEEP)
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in items:
            if isinstance(key, str) and not is_storable_text(key):
                raise InvalidInput(UNSTORABLE_TEXT, field=field_name((*path, key)))
            if isinstance(item, dict | list):
                pending.append((item, (*path, key)))
            elif isinstance(item, str | int):
                _check_scalar(item, (*path, key))


def _check_scalar(value: object, path: tuple[str | int, ...]) -> None:
    if isinstance(value, str) and not is_storable_text(value):
        raise InvalidInput(UNSTORABLE_TEXT, field=field_name(path))
    if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
        raise InvalidInput(OUT_OF_RANGE, field=field_name(path))


def field_name(path: tuple[str | int, ...]) -> str | None:
    """`("threads", 0, "body")` -> `threads[0].body`; None for the document itself. A name
    that cannot be stored itself is shown with escapes, so the message can always be sent."""
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            part = part.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
            name += f".{part}" if name else part
    return name or None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")  # Python reads it; JSON has no such thing
