"""Writes to the stores (Redis) in order and off the call path; held while Redis is away.

Rules:
- submit() never waits and never raises: a call's handling never waits on Redis.
- Writes are carried out one at a time in the order submitted (a timeline stays in
  order, a login is stored before the pause that followed it).
- A write that fails because the store is unavailable is retried (every retry_seconds)
  until it succeeds; the writes after it wait behind it. Nothing is dropped unless
  more than max_pending writes are held (then the oldest go, each logged).
- settled() waits until everything submitted so far is written (readers that need
  their own writes, such as archiving a finished call). Each write done wakes only the
  waiters it completes (hundreds of finished calls may wait at once in a surge).
- The outage is visible: `held` and `failing` feed the health alarm.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from ivr.adapters.call_store import StoreUnavailable

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[None]]


class WriteBehind:
    def __init__(self, max_pending: int = 200_000, retry_seconds: float = 1.0) -> None:
        self._pending: deque[tuple[int, str, Write]] = deque()
        self._max = max_pending
        self._retry = retry_seconds
        self._submitted = 0
        self._written = 0
        self._wake = asyncio.Event()
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()  # targets in order
        self.failing: str | None = None  # why the store is unavailable, while it is
        self._task: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        return len(self._pending)

    def submit(self, what: str, write: Write) -> None:
        self._submitted += 1
        self._pending.append((self._submitted, what, write))
        if len(self._pending) > self._max:
            _, lost, _ = self._pending.popleft()
            log.error("store unavailable too long: write dropped (%s)", lost)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="write-behind")
        self._wake.set()

    def settled(self) -> asyncio.Future[None]:
        """Done once every write submitted before this call is written (awaited, or
        given up on: a cancelled wait costs the writer nothing)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._written >= self._submitted:
            waiter.set_result(None)
        else:  # targets only grow: the waiters stay in order
            self._waiters.append((self._submitted, waiter))
        return waiter

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            seq, what, write = self._pending[0]
            try:
                await write()
            except StoreUnavailable as exc:
                if self.failing is None:
                    log.error("store unavailable, writes held until it returns: %s", exc)
                self.failing = str(exc)
                await asyncio.sleep(self._retry)
                continue
            except Exception:
                log.exception("write failed and is dropped: %s", what)
            if self._pending and self._pending[0][0] == seq:
                self._pending.popleft()
            if self.failing is not None:
                log.warning("store back: writing %d held writes", len(self._pending) + 1)
                self.failing = None
            self._written = max(self._written, seq)
            while self._waiters and self._waiters[0][0] <= self._written:
                _, waiter = self._waiters.popleft()
                if not waiter.done():  # a waiter given up on (timed out) is cancelled
                    waiter.set_result(None)

    async def close(self, grace_seconds: float = 3.0) -> None:
        """At shutdown: a short wait for the held writes, then what is left is logged."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.settled(), grace_seconds)
        except TimeoutError:
            log.error("stopping with %d writes not stored (store unavailable)", len(self._pending))
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
