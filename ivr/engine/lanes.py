"""Each call's (and callback's) commands carried out in the order the core gave them.

Rules: one lane per owner, made on its first command and gone when it is closed (the
owner ended) and empty; a lane waits only on its own requests, never on another
owner's, and never holds up the event path (put() does not wait); a command of an owner
whose previous lane is still finishing waits for it (order kept across a re-adoption);
stop() lets the given owners finish within a grace time and cancels the rest; what a
lane logs is about its owner (ivr.adapters.log_call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from ivr.adapters.log_call import mark_call
from ivr.core import commands as cmd

Execute = Callable[[str, cmd.Command], Awaitable[None]]
_CLOSE = None


class _Lane:
    def __init__(self, before: asyncio.Task[None] | None) -> None:
        self.inbox: asyncio.Queue[cmd.Command | None] = asyncio.Queue()
        self.before = before
        self.closing = False
        self.task: asyncio.Task[None] | None = None


class Lanes:
    def __init__(self, execute: Execute) -> None:
        self._execute = execute
        self._lanes: dict[str, _Lane] = {}

    def __contains__(self, owner: str) -> bool:
        return owner in self._lanes

    def put(self, owner: str, command: cmd.Command) -> None:
        lane = self._lanes.get(owner)
        if lane is None or lane.closing:
            lane = _Lane(lane.task if lane is not None else None)
            self._lanes[owner] = lane
            lane.task = asyncio.create_task(self._run(owner, lane), name=f"lane-{owner}")
        lane.inbox.put_nowait(command)

    def close(self, owner: str) -> None:
        """The owner ended: its lane ends once its last commands are carried out."""
        lane = self._lanes.get(owner)
        if lane is not None and not lane.closing:
            lane.closing = True
            lane.inbox.put_nowait(_CLOSE)

    async def stop(self, finishing: Iterable[str] = (), grace_seconds: float = 0.0) -> None:
        """Waits up to grace_seconds for these owners' lanes to end, then cancels every lane."""
        waited = [lane.task for o in finishing if (lane := self._lanes.get(o)) and lane.task]
        if waited and grace_seconds > 0:
            await asyncio.wait(waited, timeout=grace_seconds)
        running = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._lanes.clear()

    async def _run(self, owner: str, lane: _Lane) -> None:
        mark_call(owner)  # in this task's own context: its lines (and its tasks') name the owner
        try:
            if lane.before is not None:
                await asyncio.gather(lane.before, return_exceptions=True)
            while (command := await lane.inbox.get()) is not _CLOSE:
                await self._execute(owner, command)
        finally:
            if self._lanes.get(owner) is lane:
                del self._lanes[owner]
