"""Waits for channels the control plane creates to enter its Stasis app.

Rules: a channel created by ARI (snoop, externalMedia) can be bridged or recorded only
once its StasisStart arrived; expect() is called before the channel is created (so an
early StasisStart is never missed), ready() when the event comes, forget() always after.
"""

from __future__ import annotations

import asyncio


class StasisWaiter:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[None]] = {}

    def expect(self, channel_id: str) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[channel_id] = waiter
        return waiter

    def ready(self, channel_id: str) -> None:
        waiter = self._waiting.get(channel_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def forget(self, *channel_ids: str) -> None:
        for channel_id in channel_ids:
            waiter = self._waiting.pop(channel_id, None)
            if waiter is not None and not waiter.done():
                waiter.cancel()
