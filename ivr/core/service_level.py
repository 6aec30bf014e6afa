"""The centre's service level against its targets, over a sliding window (pure).

Rules:
- A tier is "answered by a person within N seconds of the INVITE, for at least `target`
  of the calls". Over the calls that arrived within the window (callbacks are not calls
  to 112): an answered call counts, within or not; an abandoned call counts as missed; a
  caller still unanswered counts as missed once it has waited past N (it can no longer
  make it) and not before; a call handed to the fallback queue counts for nothing here.
- A tier with no counted call has no share and is not below its target.
- Below its target, a tier is "below" until it has been so for alarm_after_seconds, then
  "alarm" (the wallboard turns red, /api/health says so); back at its target it is "met"
  and its clock starts again. Watch carries when each tier went below, from one
  measurement to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Tier:
    within_seconds: float
    target: float  # a share, 0-1


@dataclass(frozen=True)
class ServiceLevelPolicy:
    tiers: tuple[Tier, ...] = (Tier(15, 0.90), Tier(20, 0.95))
    window_seconds: float = 3600.0
    alarm_after_seconds: float = 600.0


@dataclass(frozen=True)
class Fate:
    """One call as far as answering goes: when it arrived, when a person answered (if so),
    whether the caller gave up."""

    call_id: str
    arrived_at: float
    answered_at: float | None = None
    abandoned: bool = False


class Standing(StrEnum):
    NO_CALLS = "no-calls"
    MET = "met"
    BELOW = "below"  # amber
    ALARM = "alarm"  # red: below for alarm_after_seconds or longer


@dataclass(frozen=True)
class TierFigure:
    within_seconds: float
    target: float
    share: float | None
    counted: int
    within: int
    standing: Standing
    below_since: float | None = None


@dataclass(frozen=True)
class Watch:
    below_since: Mapping[float, float] = field(default_factory=dict)  # tier's seconds -> when


def _counts(fates: list[Fate], within_seconds: float, now: float) -> tuple[int, int]:
    counted = made_it = 0
    for fate in fates:
        if fate.answered_at is not None:
            counted += 1
            made_it += fate.answered_at - fate.arrived_at <= within_seconds
        elif fate.abandoned or now - fate.arrived_at > within_seconds:
            counted += 1
    return counted, made_it


def measure(
    fates: Iterable[Fate], policy: ServiceLevelPolicy, now: float, watch: Watch
) -> tuple[Watch, list[TierFigure]]:
    """Each tier's share over the window, and where it stands against its target."""
    since = now - policy.window_seconds
    unique = {f.call_id: f for f in fates if since <= f.arrived_at <= now}
    window = list(unique.values())
    figures: list[TierFigure] = []
    below: dict[float, float] = {}
    for tier in policy.tiers:
        counted, made_it = _counts(window, tier.within_seconds, now)
        share = round(made_it / counted, 4) if counted else None
        began: float | None = None
        if share is None:
            standing = Standing.NO_CALLS
        elif share >= tier.target:
            standing = Standing.MET
        else:
            began = below[tier.within_seconds] = watch.below_since.get(tier.within_seconds, now)
            standing = Standing.ALARM if now - began >= policy.alarm_after_seconds else Standing.BELOW
        figure = TierFigure(tier.within_seconds, tier.target, share, counted, made_it, standing, began)
        figures.append(figure)
    return Watch(below), figures


def alarm_text(figure: TierFigure, window_seconds: float) -> str:
    """The sentence /api/health gives a tier in alarm."""
    share = 0.0 if figure.share is None else figure.share
    return (
        f"service level: {share:.0%} of calls answered within {figure.within_seconds:g} s "
        f"in the last {window_seconds / 60:g} min (target {figure.target:.0%})"
    )
