"""After a call ends: counted in the metrics and its record archived (history, reports).

Rules: the call's own entries are written first (write-behind settled); Redis away: the
call is not archived and that is logged; a callback's end re-archives the abandoned call
it was for (its timeline has the attempt and its result); a disposition or an incident
record given later re-archives a finished call (never a live one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ivr.adapters.archive import Archive
from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.write_behind import WriteBehind
from ivr.engine.metrics import Metrics

log = logging.getLogger(__name__)


class AfterCall:
    def __init__(
        self,
        store: CallStore,
        writes: WriteBehind,
        metrics: Metrics,
        archive: Archive | None,
        live: Callable[[], Mapping[str, object]],
    ) -> None:
        self._store = store
        self._writes = writes
        self._metrics = metrics
        self._archive = archive
        self._live = live

    async def archive(self, call_id: str) -> None:
        """Count the finished call and archive its record (the 'ended' entry is stored by now)."""
        record = await self._finished_record(call_id)
        if record is not None:
            self._metrics.call_finished(record)
            if self._archive is not None:
                await self._archive.put(record)
            called_back = record.get("callback_of")
            if called_back:
                await self.archive_again(called_back)

    async def archive_again(self, call_id: str) -> None:
        if self._archive is not None and call_id not in self._live():
            record = await self._finished_record(call_id)
            if record is not None and record.get("outcome"):
                await self._archive.put(record)

    async def _finished_record(self, call_id: str) -> dict[str, Any] | None:
        await self._writes.settled()  # its own entries first (held while Redis is away)
        try:
            record = await self._store.get(call_id)
        except StoreUnavailable as exc:
            log.error("call %s not archived (records unavailable): %s", call_id, exc)
            return None
        return None if record is None else {"call_id": call_id, **record}
