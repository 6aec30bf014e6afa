"""Writes to the stores (Redis) in order and off the call path; held while Redis is away.

Rules:
- submit() never waits and never raises: a call's handling never waits on Redis.
- Writes are carried out one at a time in the order submitted (a timeline stays in
  order, a login is stored before the pause that followed it).
- Writes of one kind submitted together (submit_batched with the same writer: the
  timelines' entries) are written as one, up to BATCH_MOST at a time, when they are
  next in line: one round trip to the store for many entries in a surge. Order is kept:
  a batch never takes a write from behind one of another kind.
- A write (or batch) that fails because the store is unavailable is retried (every
  retry_seconds) until it succeeds; the writes after it wait behind it. Nothing is dropped
  unless more than max_pending writes are held (then the oldest go, each logged).
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
from dataclasses import dataclass
from itertools import islice
from typing import Any

from ivr.adapters.call_store import StoreUnavailable

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[None]]
WriteMany = Callable[[list[Any]], Awaitable[None]]
BATCH_MOST = 64  # writes of one kind written as one at most


@dataclass(frozen=True, slots=True)
class _Pending:
    seq: int
    what: str
    write: Write | None = None  # a write of its own
    item: Any = None  # or an item for `many`, written with its neighbours of the same kind
    many: WriteMany | None = None


class WriteBehind:
    def __init__(self, max_pending: int = 200_000, retry_seconds: float = 1.0) -> None:
        self._pending: deque[_Pending] = deque()
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
        self._add(_Pending(self._submitted, what, write=write))

    def submit_batched(self, what: str, item: Any, many: WriteMany) -> None:
        """`item` is written by `many`, together with the items next to it in line that
        have the same `many` (a list of them, in the order submitted)."""
        self._submitted += 1
        self._add(_Pending(self._submitted, what, item=item, many=many))

    def _add(self, pending: _Pending) -> None:
        self._pending.append(pending)
        if len(self._pending) > self._max:
            lost = self._pending.popleft()
            log.error("store unavailable too long: write dropped (%s)", lost.what)
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

    def _next(self) -> list[_Pending]:
        """The write next in line, with its batch: the same kind's items right behind it."""
        head = self._pending[0]
        if head.many is None:
            return [head]
        batch = [head]
        for pending in islice(self._pending, 1, BATCH_MOST):
            if pending.many != head.many:
                break
            batch.append(pending)
        return batch

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._next()
            head, last = batch[0], batch[-1].seq
            try:
                if head.many is not None:
                    await head.many([p.item for p in batch])
                elif head.write is not None:
                    await head.write()
            except StoreUnavailable as exc:
                if self.failing is None:
                    log.error("store unavailable, writes held until it returns: %s", exc)
                self.failing = str(exc)
                await asyncio.sleep(self._retry)
                continue
            except Exception:
                log.exception("write failed and is dropped: %s", ", ".join(p.what for p in batch))
            while self._pending and self._pending[0].seq <= last:
                self._pending.popleft()
            if self.failing is not None:
                log.warning("store back: writing %d held writes", len(self._pending) + len(batch))
                self.failing = None
            self._written = max(self._written, last)
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
