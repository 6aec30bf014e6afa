"""What an AML message (ETSI TS 103 625, Advanced Mobile Location) says once read, and the
checks its fields share, whichever way it came (HTTPS form, SMS text).

Rules:
- An AmlMessage is the caller's number, the fix (None when the handset had no location:
  no coordinates, the "null island" 0,0 or positioning method N) and the names of the
  fields the message held that the centre does not use (reported back, never an error:
  handsets add fields over the versions).
- Every value is checked for what it may be (AmlRefused names the field and why): numbers
  are plain decimals (a sign allowed, at most MAX_DECIMALS long; no NaN, no exponent),
  identifiers digits of the lengths the standards give, texts printable and bounded. The
  fix itself is checked by ivr.core.location.checked().
- Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.core.location import Fix, FixRefused
from ivr.core.subscriber import subscriber

MAX_DECIMALS = 24  # characters of a number
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


class AmlRefused(FixRefused):
    """An AML message refused: the field and why (a FixRefused, so one handler serves both)."""


@dataclass(frozen=True)
class AmlMessage:
    number: str  # the caller's number as the message gave it
    key: str  # its subscriber key (ivr.core.subscriber)
    fix: Fix | None  # None: the handset had no location to send
    ignored: tuple[str, ...] = ()  # fields held that the centre does not use


def field_name(name: str) -> str:
    """A field's name as given, if it can be one (letters, digits, underscores; 40 at most)."""
    if not _NAME.fullmatch(name):
        raise AmlRefused(name[:40] or "(empty)", "not a field name (letters, digits and _ only)")
    return name


def decimal(field: str, text: str, low: float, high: float) -> float:
    """A plain decimal number between low and high."""
    value = text.strip()
    if len(value) > MAX_DECIMALS or not _DECIMAL.fullmatch(value):
        raise AmlRefused(field, f"'{value[:MAX_DECIMALS]}' is not a decimal number")
    number = float(value)
    if not low <= number <= high:
        raise AmlRefused(field, f"{number:g} is not between {low:g} and {high:g}")
    return number


def digits(field: str, text: str, shortest: int, longest: int) -> str:
    """An identifier of digits only (IMSI, IMEI, MCC, MNC, a version)."""
    value = text.strip()
    if not (value.isascii() and value.isdigit() and shortest <= len(value) <= longest):
        size = f"{shortest}" if shortest == longest else f"{shortest} to {longest}"
        raise AmlRefused(field, f"not {size} digits")
    return value


def text(field: str, value: str, longest: int) -> str:
    """Printable text of at most `longest` characters."""
    if len(value) > longest or not value.isprintable():
        raise AmlRefused(field, f"not printable text of at most {longest} characters")
    return value.strip()


def caller_number(field: str, value: str) -> tuple[str, str]:
    """The caller's number and its subscriber key."""
    number = value.strip()
    key = subscriber(number) if len(number) <= 40 else None
    if key is None:
        raise AmlRefused(field, "not a phone number (digits, a leading + or 0, 6 to 15 digits)")
    return number, key


def epoch(field: str, value: str) -> float:
    """A UNIX time in milliseconds (AML over HTTPS) or, as some senders write it, seconds."""
    stamp = digits(field, value, 9, 13)
    return int(stamp) / 1000.0 if len(stamp) > 11 else float(stamp)
