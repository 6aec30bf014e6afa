"""One asyncio task per call (or callback): feeds its events to the core, one at a time.

Rules: events of a call are handled strictly in order; a command that fails is turned
into a CommandFailed event for the same call (the core decides what it means); an
unexpected error in one call is logged and never ends another call's task; the task
ends when the core says the call ended.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from ivr.core import call as flow
from ivr.core import commands as cmd
from ivr.core import events as ev

log = logging.getLogger(__name__)

Execute = Callable[[str, cmd.Command], Awaitable[None]]


class Machine(Protocol):
    """What a task needs of the state it runs: its id, and its phase ('ended' stops it)."""

    @property
    def call_id(self) -> str: ...
    @property
    def phase(self) -> str: ...


S = TypeVar("S", bound=Machine)
Handle = Callable[[S, ev.CallEvent, float], tuple[S, list[cmd.Command]]]


class CallTask(Generic[S]):
    def __init__(
        self,
        state: S,
        execute: Execute,
        clock: Callable[[], float] = time.time,
        handle: Handle[S] = flow.handle,  # type: ignore[assignment]
    ) -> None:
        self.state = state
        self._execute = execute
        self._clock = clock
        self._handle = handle
        self._inbox: asyncio.Queue[ev.CallEvent] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    @property
    def call_id(self) -> str:
        return self.state.call_id

    def post(self, event: ev.CallEvent) -> None:
        self._inbox.put_nowait(event)

    async def run(self, first: list[cmd.Command]) -> None:
        await self._carry_out(first)
        while self.state.phase != flow.Phase.ENDED:
            event = await self._inbox.get()
            try:
                self.state, commands = self._handle(self.state, event, self._clock())
            except Exception:
                log.exception("call %s: the core failed on %r; event ignored", self.call_id, event)
                continue
            await self._carry_out(commands)

    async def _carry_out(self, commands: list[cmd.Command]) -> None:
        for command in commands:
            await self._execute(self.call_id, command)
