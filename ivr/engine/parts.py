"""What the app builds around the engine, handed to it whole when it is made.

Rules: nothing is set on the engine afterwards; parts that need the engine's own entry
points (the screener posts its reports, the screener and recorder wait for their
channels through the engine's waiter) are given as factories the engine calls once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.adapters.archive import Archive
from ivr.adapters.ari.port import Ari
from ivr.adapters.ari.stasis_waiter import StasisWaiter
from ivr.adapters.event_feed import EventFeed
from ivr.adapters.recorder import Recorder
from ivr.adapters.speech.screener import Screener
from ivr.core import events as ev
from ivr.core.callback import CallbackPolicy

Post = Callable[[str, ev.CallEvent], None]


@dataclass(frozen=True)
class Parts:
    screener: Callable[[Post, StasisWaiter], Screener] | None = None  # made with the engine's post
    recorder: Callable[[StasisWaiter], Recorder] | None = None
    archive: Archive | None = None
    callback_policy: CallbackPolicy = field(default_factory=CallbackPolicy)
    dispatch: Ari | None = None  # own connections for putting callers through (executor.py)
    ari_connected: Callable[[], bool] = lambda: False  # whether the ARI events WebSocket is up
    feed: EventFeed = field(default_factory=EventFeed)  # calls' events for other systems (GET /api/v1/events)
