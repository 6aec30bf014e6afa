"""One masking rule for numbers the network marked private (SIP "Privacy: id").

A withheld number is kept in the call's record (supervisors, engineers, the callback
dial it), but a call taker never sees its digits: not in a reply, a record, the live
feed, the caller ID their phone rings with, nor a log line. Every such exit goes
through this module.

Rules:
- shown(number, withheld): what a call taker sees instead of the caller's number.
- hide_number(text, number): the number's digits are replaced by WITHHELD wherever they
  stand as a whole number in the text (a run of digits, with or without a leading '+',
  not part of a longer run). Runs shorter than MIN_DIGITS (ports, service numbers,
  codes) are never taken for a private number.
- masked(value, number): the same for any JSON-like value (dicts, lists, strings; keys
  too); as_call_takers_see(record): a record marked withheld, its number hidden in
  every field and timeline entry ("caller" always, whatever its length).
- Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

WITHHELD = "anonymous"  # what a call taker sees instead of a number the network marked private
MIN_DIGITS = 6  # a shorter run of digits is a code, a port or a service number, never hidden
_RUN = re.compile(r"\+?[0-9]+")


def shown(number: str, withheld: bool) -> str:
    """The caller's number as call takers see it."""
    return WITHHELD if withheld else number


def digits_of(number: str) -> str | None:
    """The number as the masking rule compares it (no leading '+'), or None if it is no
    number this rule can hide (too short, or not digits)."""
    digits = number.strip().lstrip("+")
    return digits if digits.isdigit() and len(digits) >= MIN_DIGITS else None


def hide_numbers(text: str, numbers: Collection[str]) -> str:
    """`text` with every whole run of digits found in `numbers` (digits_of form) replaced."""
    if not numbers or not text:
        return text
    return _RUN.sub(lambda m: WITHHELD if m[0].lstrip("+") in numbers else m[0], text)


def hide_number(text: str, number: str) -> str:
    digits = digits_of(number)
    return hide_numbers(text, (digits,)) if digits else text


def masked(value: Any, number: str) -> Any:
    """A JSON-like value (dict, list, str, anything else as is) with `number` hidden."""
    digits = digits_of(number)
    if digits is None:
        return value
    return _masked(value, (digits,))


def _masked(value: Any, numbers: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return hide_numbers(value, numbers)
    if isinstance(value, dict):
        return {_masked(k, numbers): _masked(v, numbers) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, numbers) for v in value]
    return value


def is_withheld(record: dict[str, Any]) -> bool:
    """A stored record (hash fields as strings) marked withheld."""
    return str(record.get("withheld", "")).lower() in ("yes", "true", "1")


def as_call_takers_see(record: dict[str, Any]) -> dict[str, Any]:
    """A call record as a call taker may see it: a withheld number hidden everywhere."""
    if not is_withheld(record):
        return record
    number = str(record.get("caller", ""))
    hidden: dict[str, Any] = masked(record, number)
    timeline = [
        {**e, "caller": WITHHELD} if isinstance(e, dict) and "caller" in e else e
        for e in hidden.get("timeline", [])
    ]
    return {**hidden, "caller": WITHHELD, "timeline": timeline}
