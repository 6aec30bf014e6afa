"""The engine's one set of timers: calls', callbacks' and the ACD's.

Rules: a timer is keyed (owner, name) and delivers its event to the centre when due; a
new timer of the same key replaces the old one; an owner that ended loses all its
timers; closing cancels everything (a stop never leaves a timer behind).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ivr.core.centre_events import CentreEvent

Key = tuple[str, str]


class TimerWheel:
    def __init__(self, deliver: Callable[[CentreEvent], None]) -> None:
        self._deliver = deliver
        self._timers: dict[Key, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._timers)

    def set(self, key: Key, seconds: float, event: CentreEvent) -> None:
        self.cancel(key)
        self._timers[key] = asyncio.get_running_loop().call_later(seconds, self._fire, key, event)

    def cancel(self, key: Key) -> None:
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()

    def drop(self, owner: str) -> None:
        for key in [key for key in self._timers if key[0] == owner]:
            self.cancel(key)

    def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _fire(self, key: Key, event: CentreEvent) -> None:
        self._timers.pop(key, None)
        self._deliver(event)
