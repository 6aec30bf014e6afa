"""The cursor of the call history's pages: where the next page starts, opaque to clients.

Rules: a cursor is the key (arrived_at, call_id) of the last call of a page, written as
URL-safe base64 of JSON, so the next page goes on right after that call whatever was
archived meanwhile (the archive orders by that key); a client passes it back as it
came, with the same day and filters. Anything that does not decode to such a key
(MAX_LENGTH characters at most) is refused with a ValueError saying so.
"""

from __future__ import annotations

import base64
import binascii
import json
import math

MAX_LENGTH = 400


def encode(arrived_at: float, call_id: str) -> str:
    raw = json.dumps([arrived_at, call_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[float, str]:
    """The key a cursor holds; ValueError if it is not one this API gave."""
    wrong = ValueError("not a cursor this API gave (pass `next` of the page before as it came)")
    if not 0 < len(cursor) <= MAX_LENGTH:
        raise wrong
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise wrong from None
    if not (isinstance(key, list) and len(key) == 2 and isinstance(key[1], str)):
        raise wrong
    arrived_at, call_id = key
    if isinstance(arrived_at, bool) or not isinstance(arrived_at, int | float):
        raise wrong
    try:
        at = float(arrived_at)
    except OverflowError:
        raise wrong from None
    if not math.isfinite(at):
        raise wrong
    return at, call_id
