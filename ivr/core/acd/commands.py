"""What the ACD asks for, imperative, frozen."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.core.acd.model import Declared


@dataclass(frozen=True)
class Offer:
    call_id: str
    taker_id: str
    endpoint: str


@dataclass(frozen=True)
class Overflow:
    """The caller waited past its level's maximum: send them to the overflow target."""

    call_id: str
    target: str


@dataclass(frozen=True)
class StartWrapUp:
    taker_id: str
    seconds: float


@dataclass(frozen=True)
class TakerStatusChanged:
    """Declared status changed (also when the ACD auto-pauses after missed offers)."""

    taker_id: str
    declared: Declared
    reason: str
    by_system: bool


AcdCommand = Offer | Overflow | StartWrapUp | TakerStatusChanged
