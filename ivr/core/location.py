"""A caller's location fix, as the centre keeps it: from the handset (AML over HTTPS or
SMS) or typed in at the desk, checked once, then stored on the call's timeline.

Rules:
- A fix is {lat, lon, accuracy_m, source, method, fixed_at, received_at, address,
  sender} (Fix.view()); fixed_at is the handset's time of the fix (the desk's: when it
  was typed), received_at the centre's clock when it arrived.
- checked() is the one gate: WGS84 degrees in range and finite, an accuracy radius
  from 0 to MAX_ACCURACY_M (0 or none: unknown), a known source and method, a fix time
  no more than FUTURE_SECONDS ahead of its arrival nor older than OLDEST_SECONDS, an
  address of printable text up to MAX_ADDRESS characters. A refusal names the field.
- On the call's timeline a fix is the entry "location" with string details (detail());
  the record's `locations` are read back from those entries (record_locations), oldest
  fix first, and its `location` is the latest fix: latest by the handset's time, then by
  arrival.
- Pure: no I/O, no clock (times are arguments).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ENTRY = "location"  # the timeline entry of a fix
MAX_ACCURACY_M = 100_000.0  # a cell sector at worst; beyond that it locates nothing
FUTURE_SECONDS = 300.0  # a handset clock running ahead
OLDEST_SECONDS = 86_400.0  # a fix older than a day is no caller's location now
MAX_ADDRESS = 200
MAX_SENDER = 40


class Source(StrEnum):
    AML_HTTPS = "aml-https"
    AML_SMS = "aml-sms"
    DESK = "desk"


class Method(StrEnum):
    """How the position was found."""

    GNSS = "gnss"  # GPS, Galileo, GLONASS, BeiDou
    WIFI = "wifi"
    CELL = "cell"
    HYBRID = "hybrid"  # a fused position (several of the above)
    MANUAL = "manual"  # typed in at the desk
    UNKNOWN = "unknown"


class FixRefused(ValueError):
    """A fix that cannot be kept: the field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Fix:
    lat: float
    lon: float
    accuracy_m: float | None
    source: Source
    method: Method
    fixed_at: float
    received_at: float
    address: str | None
    sender: str

    def view(self) -> dict[str, Any]:
        """The fix as the API, the record and the desk show it."""
        return {
            "lat": self.lat,
            "lon": self.lon,
            "accuracy_m": self.accuracy_m,
            "source": self.source.value,
            "method": self.method.value,
            "fixed_at": self.fixed_at,
            "received_at": self.received_at,
            "address": self.address,
            "sender": self.sender,
        }

    def detail(self) -> dict[str, str]:
        """The fix as the details of its timeline entry (strings; "" for none)."""
        return {
            "lat": repr(self.lat),
            "lon": repr(self.lon),
            "accuracy_m": "" if self.accuracy_m is None else repr(self.accuracy_m),
            "source": self.source.value,
            "method": self.method.value,
            "fixed_at": repr(self.fixed_at),
            "received_at": repr(self.received_at),
            "address": self.address or "",
            "sender": self.sender,
        }

    @property
    def order(self) -> tuple[float, float]:
        """Later is newer: the handset's time first, then the arrival."""
        return (self.fixed_at, self.received_at)


def checked(
    lat: float,
    lon: float,
    accuracy_m: float | None,
    source: Source,
    method: Method,
    fixed_at: float,
    received_at: float,
    address: str | None = None,
    sender: str = "",
) -> Fix:
    """The fix, or FixRefused naming the field that is wrong."""
    _within("lat", lat, -90.0, 90.0)
    _within("lon", lon, -180.0, 180.0)
    if accuracy_m is not None:
        _within("accuracy_m", accuracy_m, 0.0, MAX_ACCURACY_M)
        accuracy_m = accuracy_m or None  # 0: unknown (AML writes it so)
    if not math.isfinite(fixed_at) or fixed_at > received_at + FUTURE_SECONDS:
        raise FixRefused("fixed_at", f"more than {FUTURE_SECONDS:.0f} s after it arrived")
    if fixed_at < received_at - OLDEST_SECONDS:
        raise FixRefused("fixed_at", f"more than {OLDEST_SECONDS / 3600:.0f} h before it arrived")
    if address is not None:
        address = " ".join(address.split())
        if len(address) > MAX_ADDRESS or not address.isprintable():
            raise FixRefused("address", f"printable text of at most {MAX_ADDRESS} characters")
        address = address or None
    if not sender or len(sender) > MAX_SENDER:
        raise FixRefused("sender", f"a name of 1 to {MAX_SENDER} characters")
    return Fix(lat, lon, accuracy_m, Source(source), Method(method), fixed_at, received_at, address, sender)


def _within(field: str, value: float, low: float, high: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise FixRefused(field, f"{value!r} is not between {low:g} and {high:g}")


def latest(fixes: Iterable[Fix]) -> Fix | None:
    """The fix that wins: the newest by the handset's time, then by arrival."""
    return max(fixes, key=lambda fix: fix.order, default=None)


def from_detail(entry: Mapping[str, Any]) -> Fix | None:
    """A fix back from its timeline entry; None for an entry that is not one (never raises)."""
    try:
        accuracy = str(entry.get("accuracy_m", ""))
        return Fix(
            float(entry["lat"]),
            float(entry["lon"]),
            float(accuracy) if accuracy else None,
            Source(entry["source"]),
            Method(entry["method"]),
            float(entry["fixed_at"]),
            float(entry["received_at"]),
            str(entry.get("address") or "") or None,
            str(entry.get("sender", "")),
        )
    except (KeyError, ValueError, TypeError):
        return None


def in_order(fixes: Iterable[Fix]) -> list[Fix]:
    """Oldest first; the last one is the latest()."""
    return sorted(fixes, key=lambda fix: fix.order)


def record_locations(
    timeline: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A record's (location, locations): its latest fix (or None) and every fix, oldest first."""
    fixes = in_order(
        fix for entry in timeline if entry.get("entry") == ENTRY and (fix := from_detail(entry)) is not None
    )
    views = [fix.view() for fix in fixes]
    return (views[-1] if views else None), views
