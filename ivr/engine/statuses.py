"""Call takers' declared statuses (logged in, paused, ...): restored at start, saved as they change.

Rules: every change is logged; changes are saved in the order they happened (write-behind:
held while Redis is away), except those being restored; at start, the statuses saved
before a restart are restored (Redis away: everyone starts logged out, and that is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ivr.adapters.call_store import StoreUnavailable
from ivr.adapters.taker_store import TakerStore
from ivr.adapters.write_behind import WriteBehind
from ivr.core.acd import events as acd
from ivr.core.acd.model import Declared
from ivr.core.centre_events import SaveStatus

log = logging.getLogger(__name__)


class Statuses:
    def __init__(self, taker_store: TakerStore, writes: WriteBehind) -> None:
        self._taker_store = taker_store
        self._writes = writes

    def changed(self, change: SaveStatus, persist: bool) -> None:
        why = f" ({change.reason})" if change.reason else ""
        by = " by the system" if change.by_system else ""
        log.info("call taker %s is now %s%s%s", change.taker_id, change.declared.value, why, by)
        if persist:
            self._writes.submit(
                f"status of {change.taker_id}",
                lambda: self._taker_store.save(
                    change.taker_id, change.declared.value, change.reason, change.at, change.by_system
                ),
            )

    async def restore(self, taker_ids: Iterable[str], deliver: Callable[[acd.AcdEvent], None]) -> None:
        """Who was logged in or paused before a restart, as ACD events (not saved again)."""
        try:
            saved = await self._taker_store.load(list(taker_ids))
        except StoreUnavailable as exc:
            log.error("call-taker statuses not restored (everyone starts logged out): %s", exc)
            return
        for taker_id, record in saved.items():
            if record.get("declared") == Declared.AVAILABLE:
                deliver(acd.TakerLoggedIn(taker_id))
            elif record.get("declared") == Declared.PAUSED:
                deliver(acd.TakerPaused(taker_id, record.get("reason", "")))
        log.info("restored %d call-taker statuses", len(saved))
