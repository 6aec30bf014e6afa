"""Which call a location fix belongs to: by the caller's number and the time it arrived.

Rules:
- A fix belongs to a live call of the same subscriber (ivr.core.subscriber: 0812...,
  +62812... and 62812... are one) that arrived no more than `before` seconds after
  the fix did: from `before` seconds ahead of the INVITE to the end of the call. Of
  several such calls, the one that arrived last. A withheld number matches like any
  other (its fix is for the taker of that call only).
- A fix that finds no live call is kept (Pending) for `before` seconds: a call of that
  subscriber arriving within them takes every fix kept for it (taken()); after them
  it is dropped (expired()). At most MAX_PER_NUMBER fixes per number (the newest stay)
  and MAX_NUMBERS numbers (the ones kept longest go first) are kept.
- Pure: no I/O, no clock (now is an argument); Pending is immutable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ivr.core.location import Fix

BEFORE_SECONDS = 30.0  # a fix may come this long before the INVITE reaches the centre
MAX_PER_NUMBER = 10
MAX_NUMBERS = 10_000


@dataclass(frozen=True)
class LiveCall:
    call_id: str
    key: str | None  # the caller's subscriber key (None: no usable number)
    arrived_at: float


def call_for_fix(
    key: str, received_at: float, live: Iterable[LiveCall], before: float = BEFORE_SECONDS
) -> str | None:
    """The live call the fix belongs to, or None (then it is kept for a call to come)."""
    fitting = [c for c in live if c.key == key and c.arrived_at - before <= received_at]
    return max(fitting, key=lambda c: c.arrived_at).call_id if fitting else None


@dataclass(frozen=True)
class Pending:
    """Fixes that found no call yet, by subscriber key, oldest first."""

    fixes: Mapping[str, tuple[Fix, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(kept) for kept in self.fixes.values())


def kept(pending: Pending, key: str, fix: Fix, now: float, before: float = BEFORE_SECONDS) -> Pending:
    """`pending` with `fix` kept for `key` (and whatever is past keeping dropped)."""
    fixes = dict(expired(pending, now, before).fixes)
    fixes[key] = (*fixes.pop(key, ()), fix)[-MAX_PER_NUMBER:]
    while len(fixes) > MAX_NUMBERS:
        del fixes[next(iter(fixes))]
    return Pending(fixes)


def expired(pending: Pending, now: float, before: float = BEFORE_SECONDS) -> Pending:
    """`pending` without the fixes that can no longer meet a call (kept over `before` s)."""
    fresh = {
        key: tuple(f for f in kept if f.received_at >= now - before) for key, kept in pending.fixes.items()
    }
    return Pending({key: kept for key, kept in fresh.items() if kept})


def taken(
    pending: Pending, key: str, arrived_at: float, now: float, before: float = BEFORE_SECONDS
) -> tuple[Pending, tuple[Fix, ...]]:
    """A call of `key` arrived: the fixes kept for it within the window, and what stays kept."""
    fixes = dict(pending.fixes)
    mine = tuple(f for f in fixes.pop(key, ()) if f.received_at >= arrived_at - before)
    return expired(Pending(fixes), now, before), mine
