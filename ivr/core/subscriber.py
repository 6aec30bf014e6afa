"""One subscriber, however the network writes its number: the key that caller location
fixes are matched to calls by.

Rules:
- Indonesia (country code 62): 0812..., +62812..., 62812..., 0062812... and 812... (the
  national number without its 0) are one subscriber; spaces, dashes, dots and parentheses
  are ignored, and so is a tel:/sip: URI around the number (its user part is the number).
- The key is the international number without '+': "62812...". A number of another
  country keeps its own digits (+44..., 0044... -> "44...").
- A number that is not digits once written out, or shorter than MIN_DIGITS or longer
  than MAX_DIGITS (E.164), has no key: it is never matched to anything.
- Pure: no I/O, no clock.
"""

from __future__ import annotations

import re

COUNTRY = "62"  # Indonesia
MIN_DIGITS = 6
MAX_DIGITS = 15  # E.164
_SEPARATORS = re.compile(r"[\s().\-/]")
_URI = re.compile(r"^(?:tel|sips?):([^@;]*)", re.IGNORECASE)


def subscriber(number: str) -> str | None:
    """The subscriber key of `number` ("62812..."), or None when it is no usable number."""
    text = number.strip()
    uri = _URI.match(text)
    if uri is not None:
        text = uri[1]
    text = _SEPARATORS.sub("", text)
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif text.startswith("0"):
        digits = COUNTRY + text[1:]
    elif text.startswith("8") and 9 <= len(text) <= 12:  # a mobile number written without its 0
        digits = COUNTRY + text
    else:
        digits = text
    if not digits.isascii() or not digits.isdigit() or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    return digits


def same_subscriber(one: str, other: str) -> bool:
    """Both numbers have a key and it is the same."""
    key = subscriber(one)
    return key is not None and key == subscriber(other)
