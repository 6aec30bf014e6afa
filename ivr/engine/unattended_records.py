"""Records left open while no control plane attended: found after each (re)connect, closed
once their caller is known gone (ivr.core.unattended decides how).

Rules:
- Looked at: records open (arrived, never ended) that arrived before a node's channels
  were listed, whose ids that node holds, that the centre did not track then (the centre
  ends its own calls) and whose caller channel was not in the listing.
- Closed SETTLE_SECONDS later, once the centre's own writes held before then are stored,
  and only if still open and still not tracked: a call the centre ended just before keeps
  its own ending, a call the native queue ended left a line that the native sweep turns
  into its ending first, and a call ends once.
- A lost node's open records that the centre does not track are cut off at once (their
  callers are called back).
- A record is looked at by one closer at a time (connects close together: the later one
  leaves it to the first).
- Each closed call is finished like any other (counted, archived: the callback list
  sees it; its entries go to the event feed once stored). Redis away: nothing is closed
  now, the next connect looks again (logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection

from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.core import unattended
from ivr.core.centre import Centre
from ivr.core.commands import RecordTimeline

log = logging.getLogger(__name__)

SETTLE_SECONDS = 12.0  # past one native sweep (every 10 s)


def tracked_ids(centre: Centre) -> set[str]:
    return set(centre.calls) | set(centre.callbacks)


class UnattendedRecords:
    def __init__(
        self,
        store: CallStore,
        centre: Callable[[], Centre],
        finished: Callable[[str, str], None],
        clock: Callable[[], float],
        settled: Callable[[], Awaitable[None]],
        settle_seconds: float = SETTLE_SECONDS,
        note: Callable[[RecordTimeline], None] = lambda _: None,
    ) -> None:
        self._store = store
        self._centre = centre  # the calls and callbacks it holds now are ended by it
        self._finished = finished
        self._clock = clock
        self._settled = settled  # the write-behind: the centre's own writes stored
        self._note = note  # each entry stored is offered to the event feed for other systems
        self._settle = settle_seconds
        self._closing: set[str] = set()  # looked at by one closer: another (a reconnect) leaves them

    async def after_listing(
        self,
        listed_at: float,
        present: Collection[str],
        tracked_then: Collection[str],
        mine: Callable[[str], bool] | None = None,
    ) -> None:
        """A node's channels were listed at `listed_at` (`present`), the centre tracking
        `tracked_then`: its open records whose caller was gone are closed after settling."""
        ours = mine or (lambda _: True)
        try:
            opened = await self._store.open_calls(listed_at)
        except StoreUnavailable as exc:
            log.error("records left open not looked at (records unavailable): %s", exc)
            return
        gone = [i for i in opened if ours(i) and i not in present and i not in tracked_then]
        gone = [i for i in gone if i not in self._closing]
        if not gone:
            return
        self._closing.update(gone)
        log.warning(
            "%d call records open with their callers gone (%s): closed in %.0f s unless ended meanwhile",
            len(gone),
            ", ".join(gone[:10]),
            self._settle,
        )
        try:
            await asyncio.sleep(self._settle)
            await self._close(gone, None)
        finally:
            self._closing.difference_update(gone)

    async def node_lost(self, node: str, mine: Callable[[str], bool], tracked_then: Collection[str]) -> None:
        """`node` was declared lost: its open records that the centre did not track are cut off."""
        try:
            opened = await self._store.open_calls(self._clock())
        except StoreUnavailable as exc:
            log.error("records of lost node %s not looked at (records unavailable): %s", node, exc)
            return
        lost = [i for i in opened if mine(i) and i not in tracked_then and i not in self._closing]
        self._closing.update(lost)
        try:
            await self._close(lost, node)
        finally:
            self._closing.difference_update(lost)

    async def _close(self, call_ids: list[str], node_lost: str | None) -> None:
        await self._settled()
        for call_id in call_ids:
            if call_id in tracked_ids(self._centre()):
                continue  # adopted or handled meanwhile: the centre ends it
            try:
                record = await self._store.get(call_id)
                if record is None or record.get("ended_at"):
                    continue
                ending = unattended.ending(call_id, record, self._clock(), node_lost)
                for note in ending.entries:
                    await self._store.append(note.call_id, note.entry, note.at, note.detail)
                    self._note(note)
            except StoreUnavailable as exc:
                log.error("record of call %s left open (records unavailable): %s", call_id, exc)
                continue
            log.warning(
                "call %s ended unseen: %s (%s)",
                call_id,
                ending.outcome.value,
                ending.entries[0].detail["reason"],
            )
            self._finished(call_id, ending.outcome.value)
